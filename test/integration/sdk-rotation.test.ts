/**
 * Key rotation through the real AWS SDK: Enable/DisableKeyRotation, GetKeyRotationStatus,
 * RotateKeyOnDemand, ListKeyRotations, and the background job rotating on schedule with
 * the test clock moved forward.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
  type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { runJobsOnce } from '../../src/kms/jobs/background-jobs.js';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let server: TestServer;

before(async () => {
  server = await startTestServer();
});

after(async () => {
  await server.stop();
});

async function newKey(): Promise<KeyMetadata> {
  const out = await server.client.send(new CreateKeyCommand({}));
  assert.ok(out.KeyMetadata);
  return out.KeyMetadata;
}

async function currentMaterial(keyId: string): Promise<string> {
  const out = await server.client.send(new DescribeKeyCommand({ KeyId: keyId }));
  assert.ok(out.KeyMetadata?.CurrentKeyMaterialId);
  return out.KeyMetadata.CurrentKeyMaterialId;
}

async function encrypt(keyId: string, text: string) {
  const out = await server.client.send(
    new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }),
  );
  assert.ok(out.CiphertextBlob);
  return out.CiphertextBlob;
}

async function decrypt(blob: Uint8Array) {
  const out = await server.client.send(new DecryptCommand({ CiphertextBlob: blob }));
  assert.ok(out.Plaintext);
  return { text: Buffer.from(out.Plaintext).toString(), materialId: out.KeyMaterialId };
}

async function status(keyId: string) {
  return server.client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
}

async function listAll(keyId: string, limit: number, all = false): Promise<RotationsListEntry[]> {
  const entries: RotationsListEntry[] = [];
  let marker: string | undefined;
  do {
    const out = await server.client.send(
      new ListKeyRotationsCommand({
        KeyId: keyId,
        Limit: limit,
        Marker: marker,
        IncludeKeyMaterial: all ? 'ALL_KEY_MATERIAL' : undefined,
      }),
    );
    assert.ok((out.Rotations?.length ?? 0) <= limit);
    entries.push(...(out.Rotations ?? []));
    assert.equal(out.NextMarker !== undefined, out.Truncated === true);
    marker = out.NextMarker;
  } while (marker !== undefined);
  return entries;
}

/** A client whose SigV4 clock agrees with the server's moved test clock. */
function clientAtServerTime(): KMSClient {
  return new KMSClient({
    endpoint: server.url,
    region: TEST_REGION,
    credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    maxAttempts: 1,
    systemClockOffset: server.clock.offsetMs,
  });
}

describe('EnableKeyRotation / DisableKeyRotation / GetKeyRotationStatus', () => {
  it('a new key has rotation off; enabling defaults to 365 days from now', async () => {
    const key = await newKey();
    const before_ = await status(key.KeyId as string);
    assert.equal(before_.KeyRotationEnabled, false);
    assert.equal(before_.KeyId, key.Arn);
    assert.equal(before_.RotationPeriodInDays, undefined);
    assert.equal(before_.NextRotationDate, undefined);
    assert.equal(before_.OnDemandRotationStartDate, undefined);

    const t0 = Date.now();
    await server.client.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
    const on = await status(key.Arn as string);
    assert.equal(on.KeyRotationEnabled, true);
    assert.equal(on.KeyId, key.Arn);
    assert.equal(on.RotationPeriodInDays, 365);
    assert.ok(on.NextRotationDate);
    const next = on.NextRotationDate.getTime();
    assert.ok(next >= t0 + 365 * DAY_MS - 1000 && next <= Date.now() + 365 * DAY_MS + 1000);
    assert.equal(on.OnDemandRotationStartDate, undefined);

    await server.client.send(new DisableKeyRotationCommand({ KeyId: key.KeyId }));
    const off = await status(key.KeyId as string);
    assert.equal(off.KeyRotationEnabled, false);
    assert.equal(off.NextRotationDate, undefined);
    // Disabling twice is fine.
    await server.client.send(new DisableKeyRotationCommand({ KeyId: key.KeyId }));
  });

  it('takes a custom period; changing it keeps the schedule anchor', async () => {
    const key = await newKey();
    await server.client.send(
      new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }),
    );
    const first = await status(key.KeyId as string);
    assert.equal(first.RotationPeriodInDays, 90);
    assert.ok(first.NextRotationDate);
    await server.client.send(
      new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 2560 }),
    );
    const changed = await status(key.KeyId as string);
    assert.equal(changed.RotationPeriodInDays, 2560);
    assert.equal(
      changed.NextRotationDate?.getTime(),
      first.NextRotationDate.getTime() + (2560 - 90) * DAY_MS,
    );
  });

  it('refuses periods outside 90–2560 with the model validation message', async () => {
    const key = await newKey();
    for (const [days, constraint] of [
      [89, 'greater than or equal to 90'],
      [2561, 'less than or equal to 2560'],
    ] as const) {
      const err = await expectAwsError(
        server.client.send(
          new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: days }),
        ),
        'ValidationException',
      );
      assert.equal(
        err.message,
        `1 validation error detected: Value '${days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value ${constraint}`,
      );
    }
    assert.equal((await status(key.KeyId as string)).KeyRotationEnabled, false);
  });

  it('an asymmetric key does not rotate; DisableKeyRotation is a no-op; its status reads false', async () => {
    const out = await server.client.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }),
    );
    const keyId = out.KeyMetadata?.KeyId as string;
    for (const cmd of [
      new EnableKeyRotationCommand({ KeyId: keyId }),
      new RotateKeyOnDemandCommand({ KeyId: keyId }),
      new ListKeyRotationsCommand({ KeyId: keyId }),
    ])
      await expectAwsError(
        server.client.send(cmd as EnableKeyRotationCommand),
        'UnsupportedOperationException',
      );
    // AWS answers DisableKeyRotation of a key that cannot rotate with success.
    await server.client.send(new DisableKeyRotationCommand({ KeyId: keyId }));
    const st = await status(keyId);
    assert.equal(st.KeyRotationEnabled, false);
    assert.equal(st.KeyId, out.KeyMetadata?.Arn);
  });

  it('takes key ids and ARNs only, not aliases', async () => {
    const key = await newKey();
    const alias = `alias/rot-${randomUUID().slice(0, 8)}`;
    await server.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
    const err = await expectAwsError(
      server.client.send(new EnableKeyRotationCommand({ KeyId: alias })),
      'InvalidArnException',
    );
    assert.equal(err.message, 'Key Aliases are not supported for this operation.');
  });

  it('a Disabled key: DisabledException to change rotation, status still readable', async () => {
    const key = await newKey();
    await server.client.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
    await server.client.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    for (const cmd of [
      new EnableKeyRotationCommand({ KeyId: key.KeyId }),
      new DisableKeyRotationCommand({ KeyId: key.KeyId }),
      new RotateKeyOnDemandCommand({ KeyId: key.KeyId }),
    ]) {
      const err = await expectAwsError(
        server.client.send(cmd as EnableKeyRotationCommand),
        'DisabledException',
      );
      assert.equal(err.message, `${key.Arn} is disabled.`);
    }
    // "The key rotation status does not change when you disable a KMS key."
    assert.equal((await status(key.KeyId as string)).KeyRotationEnabled, true);
    await server.client.send(new EnableKeyCommand({ KeyId: key.KeyId }));
  });

  it('a PendingDeletion key: status false, restored when the deletion is canceled', async () => {
    const key = await newKey();
    await server.client.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
    await server.client.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }),
    );
    for (const cmd of [
      new EnableKeyRotationCommand({ KeyId: key.KeyId }),
      new DisableKeyRotationCommand({ KeyId: key.KeyId }),
      new RotateKeyOnDemandCommand({ KeyId: key.KeyId }),
    ]) {
      const err = await expectAwsError(
        server.client.send(cmd as EnableKeyRotationCommand),
        'KMSInvalidStateException',
      );
      assert.equal(err.message, `${key.Arn} is pending deletion.`);
    }
    const pending = await status(key.KeyId as string);
    assert.equal(pending.KeyRotationEnabled, false);
    assert.equal(pending.NextRotationDate, undefined);
    const list = await server.client.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }));
    assert.deepEqual(list.Rotations, []);
    await server.client.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
    assert.equal((await status(key.KeyId as string)).KeyRotationEnabled, true);
  });
});

describe('RotateKeyOnDemand and ListKeyRotations', () => {
  it('makes new current key material; old ciphertexts still decrypt with the old material', async () => {
    const key = await newKey();
    const keyId = key.KeyId as string;
    const firstMaterial = await currentMaterial(keyId);
    const oldBlob = await encrypt(keyId, 'before');
    assert.equal((await decrypt(oldBlob)).materialId, firstMaterial);

    const out = await server.client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    assert.equal(out.KeyId, key.Arn);
    const secondMaterial = await currentMaterial(keyId);
    assert.notEqual(secondMaterial, firstMaterial);
    assert.match(secondMaterial, /^[a-f0-9]{64}$/);

    assert.deepEqual(await decrypt(oldBlob), { text: 'before', materialId: firstMaterial });
    const newBlob = await encrypt(keyId, 'after');
    assert.deepEqual(await decrypt(newBlob), { text: 'after', materialId: secondMaterial });
    const enc = await server.client.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }),
    );
    assert.equal(enc.KeyId, key.Arn);

    const list = await server.client.send(new ListKeyRotationsCommand({ KeyId: key.Arn }));
    assert.equal(list.Truncated, false);
    assert.equal(list.NextMarker, undefined);
    assert.equal(list.Rotations?.length, 1);
    const [entry] = list.Rotations ?? [];
    assert.equal(entry?.KeyId, key.Arn);
    assert.equal(entry?.KeyMaterialId, secondMaterial);
    assert.equal(entry?.KeyMaterialState, 'CURRENT');
    assert.equal(entry?.RotationType, 'ON_DEMAND');
    assert.ok(entry?.RotationDate instanceof Date);
    assert.ok(Math.abs((entry.RotationDate as Date).getTime() - Date.now()) < 60_000);

    const all = await server.client.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
    );
    assert.deepEqual(all.Rotations?.[0], {
      KeyId: key.Arn,
      KeyMaterialId: firstMaterial,
      KeyMaterialState: 'NON_CURRENT',
    });
    assert.equal(all.Rotations?.[1]?.KeyMaterialId, secondMaterial);
  });

  it('does not change the automatic schedule', async () => {
    const key = await newKey();
    await server.client.send(
      new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 730 }),
    );
    const before_ = await status(key.KeyId as string);
    await server.client.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const after_ = await status(key.KeyId as string);
    assert.equal(after_.KeyRotationEnabled, true);
    assert.equal(after_.RotationPeriodInDays, 730);
    assert.deepEqual(after_.NextRotationDate, before_.NextRotationDate);
    assert.equal(after_.OnDemandRotationStartDate, undefined, 'the rotation is already complete');
  });

  it('allows 25 on-demand rotations per key, listed oldest first and paged; the 26th is refused', async () => {
    const key = await newKey();
    const keyId = key.KeyId as string;
    const materials = [await currentMaterial(keyId)];
    for (let i = 0; i < 25; i++) {
      await server.client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      materials.push(await currentMaterial(keyId));
    }
    await expectAwsError(
      server.client.send(new RotateKeyOnDemandCommand({ KeyId: keyId })),
      'LimitExceededException',
    );
    assert.equal(await currentMaterial(keyId), materials[25]);

    const first = await server.client.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    assert.equal(first.Rotations?.length, 25, 'default Limit 100 holds them all');
    assert.equal(first.Truncated, false);

    const paged = await listAll(keyId, 10);
    assert.deepEqual(
      paged.map((e) => e.KeyMaterialId),
      materials.slice(1),
    );
    const dates = paged.map((e) => (e.RotationDate as Date).getTime());
    assert.deepEqual(
      dates,
      [...dates].sort((a, b) => a - b),
    );
    assert.deepEqual(
      paged.map((e) => e.KeyMaterialState),
      [...Array<string>(24).fill('NON_CURRENT'), 'CURRENT'],
    );
    const all = await listAll(keyId, 7, true);
    assert.deepEqual(
      all.map((e) => e.KeyMaterialId),
      materials,
    );
    assert.equal(all[0]?.RotationType, undefined);
    assert.equal(all[0]?.RotationDate, undefined);

    await expectAwsError(
      server.client.send(new ListKeyRotationsCommand({ KeyId: keyId, Marker: 'bogus' })),
      'InvalidMarkerException',
    );
    await expectAwsError(
      server.client.send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 1001 })),
      'ValidationException',
    );
  });

  it('ConflictException when an automatic rotation is due within 20 minutes', async () => {
    const key = await newKey();
    await server.client.send(
      new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }),
    );
    const saved = server.clock.offsetMs;
    server.clock.advance(90 * DAY_MS - 10 * 60 * 1000);
    const client = clientAtServerTime();
    try {
      const err = await expectAwsError(
        client.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })),
        'ConflictException',
      );
      assert.match(err.message, /within the next 20 minutes/);
      // 400 like every client error (real KMS answers 400, not the model's 409).
      assert.equal(err.$metadata?.httpStatusCode, 400);
    } finally {
      client.destroy();
      server.clock.offsetMs = saved;
    }
    // 30 minutes before the date is fine.
    await server.client.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
  });
});

describe('automatic rotation (background job, moved clock)', () => {
  let auto: TestServer;
  before(async () => {
    auto = await startTestServer();
  });
  after(async () => {
    await auto.stop();
  });

  it('rotates a due key once, moves the next date by one period, old data still decrypts', async () => {
    const c = auto.client;
    const key = (await c.send(new CreateKeyCommand({}))).KeyMetadata as KeyMetadata;
    const keyId = key.KeyId as string;
    const other = (await c.send(new CreateKeyCommand({}))).KeyMetadata as KeyMetadata;
    await c.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    await c.send(new EnableKeyRotationCommand({ KeyId: other.KeyId, RotationPeriodInDays: 180 }));
    const first = await c.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    const otherFirst = await c.send(new GetKeyRotationStatusCommand({ KeyId: other.KeyId }));
    const material0 = (await c.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata
      ?.CurrentKeyMaterialId;
    const blob = (await c.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('old') })))
      .CiphertextBlob as Uint8Array;

    // Nothing is due yet.
    await runJobsOnce(auto.node.jobs);
    assert.deepEqual((await c.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations, []);

    auto.clock.advance(91 * DAY_MS);
    try {
      await runJobsOnce(auto.node.jobs);
      await runJobsOnce(auto.node.jobs); // a second run finds nothing more to do
    } finally {
      auto.clock.advance(-91 * DAY_MS);
    }

    const after_ = await c.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    assert.equal(after_.KeyRotationEnabled, true);
    assert.equal(
      after_.NextRotationDate?.getTime(),
      (first.NextRotationDate as Date).getTime() + 90 * DAY_MS,
    );
    const list = await c.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    assert.equal(list.Rotations?.length, 1);
    const [entry] = list.Rotations ?? [];
    assert.equal(entry?.RotationType, 'AUTOMATIC');
    assert.equal(entry?.KeyMaterialState, 'CURRENT');
    const material1 = (await c.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata
      ?.CurrentKeyMaterialId;
    assert.equal(entry?.KeyMaterialId, material1);
    assert.notEqual(material1, material0);

    const dec = await c.send(new DecryptCommand({ CiphertextBlob: blob }));
    assert.equal(Buffer.from(dec.Plaintext as Uint8Array).toString(), 'old');
    assert.equal(dec.KeyMaterialId, material0);

    // The 180-day key was not due.
    const otherAfter = await c.send(new GetKeyRotationStatusCommand({ KeyId: other.KeyId }));
    assert.deepEqual(otherAfter.NextRotationDate, otherFirst.NextRotationDate);
    assert.deepEqual(
      (await c.send(new ListKeyRotationsCommand({ KeyId: other.KeyId }))).Rotations,
      [],
    );
  });

  it('does not rotate a Disabled key; it rotates once it is Enabled again', async () => {
    const c = auto.client;
    const key = (await c.send(new CreateKeyCommand({}))).KeyMetadata as KeyMetadata;
    await c.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
    await c.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    const saved = auto.clock.offsetMs;
    auto.clock.advance(100 * DAY_MS);
    try {
      await runJobsOnce(auto.node.jobs);
    } finally {
      auto.clock.offsetMs = saved;
    }
    assert.deepEqual(
      (await c.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations,
      [],
    );
    await c.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    const due = (await c.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId })))
      .NextRotationDate as Date;
    // Enabled again past its date: rotated at the next run; the schedule keeps its phase.
    auto.clock.advance(100 * DAY_MS);
    try {
      await runJobsOnce(auto.node.jobs);
    } finally {
      auto.clock.offsetMs = saved;
    }
    const list = await c.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }));
    assert.equal(list.Rotations?.length, 1);
    assert.equal(list.Rotations?.[0]?.RotationType, 'AUTOMATIC');
    const st = await c.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    assert.equal((st.NextRotationDate as Date).getTime(), due.getTime() + 90 * DAY_MS);
  });
});
