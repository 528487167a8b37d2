/**
 * The key-state table (KMS Developer Guide key-state.md) as a matrix driven
 * through the real AWS SDK, plus ScheduleKeyDeletion / CancelKeyDeletion and real deletion
 * after the waiting period.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
  type KeyMetadata,
  type KeyState,
} from '@aws-sdk/client-kms';
import { runJobsOnce } from '../../src/kms/jobs/background-jobs.js';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let server: TestServer;
let enabledKey: KeyMetadata;
let counter = 0;

before(async () => {
  server = await startTestServer();
  enabledKey = await newKey();
});

after(async () => {
  await server.stop();
});

async function newKey(): Promise<KeyMetadata> {
  const out = await server.client.send(new CreateKeyCommand({}));
  assert.ok(out.KeyMetadata);
  return out.KeyMetadata;
}

function aliasName(): string {
  counter++;
  return `alias/state-${counter}-${randomUUID().slice(0, 6)}`;
}

async function describe_(keyId: string): Promise<KeyMetadata> {
  const out = await server.client.send(new DescribeKeyCommand({ KeyId: keyId }));
  assert.ok(out.KeyMetadata);
  return out.KeyMetadata;
}

type TestState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface Subject {
  key: KeyMetadata;
  /** Encrypted under `key` while it was still Enabled. */
  blob: Uint8Array;
  /** An alias pointing at `key`, created while it was Enabled. */
  alias: string;
}

/** A fresh key in the given state, with a ciphertext and an alias made beforehand. */
async function subject(state: TestState): Promise<Subject> {
  const key = await newKey();
  const enc = await server.client.send(
    new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('state') }),
  );
  assert.ok(enc.CiphertextBlob);
  const alias = aliasName();
  await server.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
  await server.client.send(
    new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'pre', TagValue: 'x' }] }),
  );
  if (state === 'Disabled') await server.client.send(new DisableKeyCommand({ KeyId: key.KeyId }));
  if (state === 'PendingDeletion') {
    await server.client.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }),
    );
  }
  assert.equal((await describe_(key.KeyId as string)).KeyState, state);
  return { key, blob: enc.CiphertextBlob, alias };
}

/** Expected result of a cell: ok (optionally the state afterwards) or an error. */
type Expect = { ok: true; after?: KeyState } | { error: string; text: string };

const OK: Expect = { ok: true };
const DISABLED: Expect = { error: 'DisabledException', text: 'is disabled.' };
const PENDING: Expect = { error: 'KMSInvalidStateException', text: 'is pending deletion.' };
const NOT_PENDING: Expect = { error: 'KMSInvalidStateException', text: 'is not pending deletion.' };

interface Row {
  op: string;
  call(s: Subject): Promise<unknown>;
  expect: Record<TestState, Expect>;
}

const ROWS: Row[] = [
  {
    op: 'Encrypt',
    call: (s) =>
      server.client.send(new EncryptCommand({ KeyId: s.key.KeyId, Plaintext: Buffer.from('x') })),
    expect: { Enabled: OK, Disabled: DISABLED, PendingDeletion: PENDING },
  },
  {
    op: 'Encrypt (via alias)',
    call: (s) =>
      server.client.send(new EncryptCommand({ KeyId: s.alias, Plaintext: Buffer.from('x') })),
    expect: { Enabled: OK, Disabled: DISABLED, PendingDeletion: PENDING },
  },
  {
    op: 'Decrypt',
    call: (s) => server.client.send(new DecryptCommand({ CiphertextBlob: s.blob })),
    expect: { Enabled: OK, Disabled: DISABLED, PendingDeletion: PENDING },
  },
  {
    op: 'Decrypt (with KeyId)',
    call: (s) =>
      server.client.send(new DecryptCommand({ CiphertextBlob: s.blob, KeyId: s.key.Arn })),
    expect: { Enabled: OK, Disabled: DISABLED, PendingDeletion: PENDING },
  },
  {
    op: 'ReEncrypt (as source)',
    call: (s) =>
      server.client.send(
        new ReEncryptCommand({ CiphertextBlob: s.blob, DestinationKeyId: enabledKey.KeyId }),
      ),
    expect: { Enabled: OK, Disabled: DISABLED, PendingDeletion: PENDING },
  },
  {
    op: 'ReEncrypt (as destination)',
    call: async (s) => {
      const enc = await server.client.send(
        new EncryptCommand({ KeyId: enabledKey.KeyId, Plaintext: Buffer.from('x') }),
      );
      return server.client.send(
        new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: s.key.KeyId }),
      );
    },
    expect: { Enabled: OK, Disabled: DISABLED, PendingDeletion: PENDING },
  },
  {
    op: 'GenerateDataKey',
    call: (s) =>
      server.client.send(new GenerateDataKeyCommand({ KeyId: s.key.KeyId, KeySpec: 'AES_256' })),
    expect: { Enabled: OK, Disabled: DISABLED, PendingDeletion: PENDING },
  },
  {
    op: 'GenerateDataKeyWithoutPlaintext',
    call: (s) =>
      server.client.send(
        new GenerateDataKeyWithoutPlaintextCommand({ KeyId: s.key.KeyId, NumberOfBytes: 16 }),
      ),
    expect: { Enabled: OK, Disabled: DISABLED, PendingDeletion: PENDING },
  },
  {
    op: 'DescribeKey',
    call: (s) => server.client.send(new DescribeKeyCommand({ KeyId: s.key.KeyId })),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: OK },
  },
  {
    op: 'EnableKey',
    call: (s) => server.client.send(new EnableKeyCommand({ KeyId: s.key.KeyId })),
    expect: {
      Enabled: { ok: true, after: 'Enabled' },
      Disabled: { ok: true, after: 'Enabled' },
      PendingDeletion: PENDING,
    },
  },
  {
    op: 'DisableKey',
    call: (s) => server.client.send(new DisableKeyCommand({ KeyId: s.key.KeyId })),
    expect: {
      Enabled: { ok: true, after: 'Disabled' },
      Disabled: { ok: true, after: 'Disabled' },
      PendingDeletion: PENDING,
    },
  },
  {
    op: 'ScheduleKeyDeletion',
    call: (s) =>
      server.client.send(
        new ScheduleKeyDeletionCommand({ KeyId: s.key.KeyId, PendingWindowInDays: 7 }),
      ),
    expect: {
      Enabled: { ok: true, after: 'PendingDeletion' },
      Disabled: { ok: true, after: 'PendingDeletion' },
      PendingDeletion: PENDING,
    },
  },
  {
    op: 'CancelKeyDeletion',
    call: (s) => server.client.send(new CancelKeyDeletionCommand({ KeyId: s.key.KeyId })),
    expect: {
      Enabled: NOT_PENDING,
      Disabled: NOT_PENDING,
      PendingDeletion: { ok: true, after: 'Disabled' },
    },
  },
  {
    op: 'CreateAlias',
    call: (s) =>
      server.client.send(
        new CreateAliasCommand({ AliasName: aliasName(), TargetKeyId: s.key.KeyId }),
      ),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: PENDING },
  },
  {
    op: 'UpdateAlias (key as new target)',
    call: async (s) => {
      const name = aliasName();
      await server.client.send(
        new CreateAliasCommand({ AliasName: name, TargetKeyId: enabledKey.KeyId }),
      );
      return server.client.send(
        new UpdateAliasCommand({ AliasName: name, TargetKeyId: s.key.KeyId }),
      );
    },
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: PENDING },
  },
  {
    op: 'UpdateAlias (key as current target)',
    call: (s) =>
      server.client.send(
        new UpdateAliasCommand({ AliasName: s.alias, TargetKeyId: enabledKey.KeyId }),
      ),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: OK },
  },
  {
    op: 'DeleteAlias',
    call: (s) => server.client.send(new DeleteAliasCommand({ AliasName: s.alias })),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: OK },
  },
  {
    op: 'ListAliases (KeyId filter)',
    call: (s) => server.client.send(new ListAliasesCommand({ KeyId: s.key.KeyId })),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: OK },
  },
  {
    op: 'UpdateKeyDescription',
    call: (s) =>
      server.client.send(new UpdateKeyDescriptionCommand({ KeyId: s.key.KeyId, Description: 'd' })),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: PENDING },
  },
  {
    op: 'TagResource',
    call: (s) =>
      server.client.send(
        new TagResourceCommand({ KeyId: s.key.KeyId, Tags: [{ TagKey: 't', TagValue: 'v' }] }),
      ),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: PENDING },
  },
  {
    op: 'UntagResource',
    call: (s) =>
      server.client.send(new UntagResourceCommand({ KeyId: s.key.KeyId, TagKeys: ['pre'] })),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: PENDING },
  },
  {
    op: 'ListResourceTags',
    call: (s) => server.client.send(new ListResourceTagsCommand({ KeyId: s.key.KeyId })),
    expect: { Enabled: OK, Disabled: OK, PendingDeletion: OK },
  },
];

describe('key-state matrix', () => {
  for (const state of ['Enabled', 'Disabled', 'PendingDeletion'] as const) {
    describe(`key ${state}`, () => {
      for (const row of ROWS) {
        const want = row.expect[state];
        const label = 'ok' in want ? 'ok' : `${want.error} "<key ARN> ${want.text}"`;
        it(`${row.op} → ${label}`, async () => {
          const s = await subject(state);
          if ('ok' in want) {
            await row.call(s);
            const md = await describe_(s.key.KeyId as string);
            assert.equal(md.KeyState, want.after ?? state, 'state afterwards');
          } else {
            const err = await expectAwsError(row.call(s), want.error);
            assert.equal(err.message, `${s.key.Arn} ${want.text}`);
            assert.equal(err.$metadata?.httpStatusCode, 400);
            const md = await describe_(s.key.KeyId as string);
            assert.equal(md.KeyState, state, 'a refused call leaves the state unchanged');
          }
        });
      }
    });
  }

  it('a refused UntagResource / TagResource on a PendingDeletion key changes no tags', async () => {
    const s = await subject('PendingDeletion');
    await expectAwsError(
      server.client.send(new UntagResourceCommand({ KeyId: s.key.KeyId, TagKeys: ['pre'] })),
      'KMSInvalidStateException',
    );
    await expectAwsError(
      server.client.send(
        new TagResourceCommand({ KeyId: s.key.KeyId, Tags: [{ TagKey: 'n', TagValue: 'v' }] }),
      ),
      'KMSInvalidStateException',
    );
    const tags = await server.client.send(new ListResourceTagsCommand({ KeyId: s.key.KeyId }));
    assert.deepEqual(tags.Tags, [{ TagKey: 'pre', TagValue: 'x' }]);
  });
});

describe('ScheduleKeyDeletion / CancelKeyDeletion', () => {
  it('response: KeyId ARN, DeletionDate ≈ now + N days, KeyState, PendingWindowInDays', async () => {
    for (const days of [7, 15, 30]) {
      const key = await newKey();
      const t0 = Date.now();
      const out = await server.client.send(
        new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: days }),
      );
      assert.equal(out.KeyId, key.Arn);
      assert.equal(out.KeyState, 'PendingDeletion');
      assert.equal(out.PendingWindowInDays, days);
      assert.ok(out.DeletionDate instanceof Date);
      const delta = out.DeletionDate.getTime() - (t0 + days * DAY_MS);
      assert.ok(Math.abs(delta) < 60_000, `DeletionDate off by ${delta} ms`);
    }
  });

  it('default waiting period is 30 days', async () => {
    const key = await newKey();
    const t0 = Date.now();
    const out = await server.client.send(new ScheduleKeyDeletionCommand({ KeyId: key.Arn }));
    assert.equal(out.PendingWindowInDays, 30);
    assert.ok(Math.abs((out.DeletionDate?.getTime() ?? 0) - (t0 + 30 * DAY_MS)) < 60_000);
  });

  it('DescribeKey shows DeletionDate and PendingDeletionWindowInDays, Enabled false', async () => {
    const key = await newKey();
    const out = await server.client.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 10 }),
    );
    const md = await describe_(key.KeyId as string);
    assert.equal(md.KeyState, 'PendingDeletion');
    assert.equal(md.Enabled, false);
    assert.equal(md.PendingDeletionWindowInDays, 10);
    assert.equal(md.DeletionDate?.getTime(), out.DeletionDate?.getTime());
  });

  for (const days of [6, 31, 0]) {
    it(`PendingWindowInDays ${days} → ValidationException; key unchanged`, async () => {
      const key = await newKey();
      await expectAwsError(
        server.client.send(
          new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: days }),
        ),
        'ValidationException',
      );
      assert.equal((await describe_(key.KeyId as string)).KeyState, 'Enabled');
    });
  }

  it('ScheduleKeyDeletion by alias name is refused (key id or ARN only)', async () => {
    const key = await newKey();
    const alias = aliasName();
    await server.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
    let code = 'success';
    try {
      await server.client.send(new ScheduleKeyDeletionCommand({ KeyId: alias }));
    } catch (err) {
      code = (err as Error).name;
    }
    assert.notEqual(code, 'success');
    assert.equal((await describe_(key.KeyId as string)).KeyState, 'Enabled');
  });

  it('ScheduleKeyDeletion of an unknown key → NotFoundException', async () => {
    await expectAwsError(
      server.client.send(
        new ScheduleKeyDeletionCommand({ KeyId: '00000000-1111-2222-3333-444444444444' }),
      ),
      'NotFoundException',
    );
  });

  it('CancelKeyDeletion → Disabled, DeletionDate and window gone; EnableKey then works', async () => {
    const key = await newKey();
    await server.client.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }));
    const out = await server.client.send(new CancelKeyDeletionCommand({ KeyId: key.Arn }));
    assert.equal(out.KeyId, key.Arn);
    const md = await describe_(key.KeyId as string);
    assert.equal(md.KeyState, 'Disabled');
    assert.equal(md.Enabled, false);
    assert.equal(md.DeletionDate, undefined);
    assert.equal(md.PendingDeletionWindowInDays, undefined);
    await server.client.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    const enc = await server.client.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('back') }),
    );
    assert.equal(enc.KeyId, key.Arn);
  });

  it('CancelKeyDeletion of an unknown key → NotFoundException', async () => {
    await expectAwsError(
      server.client.send(
        new CancelKeyDeletionCommand({ KeyId: '00000000-1111-2222-3333-444444444444' }),
      ),
      'NotFoundException',
    );
  });
});

describe('deletion after the waiting period', () => {
  it('the key is gone for real: DescribeKey NotFound, its ciphertexts dead', async () => {
    const doomed = await newKey();
    const survivor = await newKey();
    const alias = aliasName();
    await server.client.send(
      new CreateAliasCommand({ AliasName: alias, TargetKeyId: doomed.KeyId }),
    );
    const enc = await server.client.send(
      new EncryptCommand({ KeyId: doomed.KeyId, Plaintext: Buffer.from('doomed') }),
    );
    const encSurvivor = await server.client.send(
      new EncryptCommand({ KeyId: survivor.KeyId, Plaintext: Buffer.from('alive') }),
    );
    await server.client.send(
      new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 30 }),
    );

    // Not yet due: a job run before the deletion date deletes nothing.
    server.clock.advance(29 * DAY_MS);
    try {
      await runJobsOnce(server.node.jobs);
    } finally {
      // SigV4 checks the server clock against the client's: move it back before calling.
      server.clock.advance(-29 * DAY_MS);
    }
    assert.equal((await describe_(doomed.KeyId as string)).KeyState, 'PendingDeletion');

    server.clock.advance(31 * DAY_MS);
    try {
      await runJobsOnce(server.node.jobs);
    } finally {
      server.clock.advance(-31 * DAY_MS);
    }

    const err = await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: doomed.KeyId })),
      'NotFoundException',
    );
    assert.equal(err.message, `Key '${doomed.Arn}' does not exist`);
    const listed = await server.client.send(new ListKeysCommand({}));
    assert.ok(!(listed.Keys ?? []).some((k) => k.KeyId === doomed.KeyId), 'not in ListKeys');

    // AWS: "The ciphertext refers to a customer master key that does not exist, does not
    // exist in this region, or you are not allowed to access." (AccessDeniedException)
    const dec = await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })),
      'AccessDeniedException',
    );
    assert.match(dec.message, /does not exist/);

    // AWS deletes "all aliases that refer to it" with the key (ScheduleKeyDeletion docs)
    await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: alias })),
      'NotFoundException',
    );
    const aliases = await server.client.send(new ListAliasesCommand({}));
    assert.ok(
      !(aliases.Aliases ?? []).some((a) => a.AliasName === alias),
      'the deleted key’s alias is gone from ListAliases',
    );
    await server.client.send(
      new CreateAliasCommand({ AliasName: alias, TargetKeyId: survivor.KeyId }),
    );

    // other keys are untouched
    const ok = await server.client.send(
      new DecryptCommand({ CiphertextBlob: encSurvivor.CiphertextBlob }),
    );
    assert.equal(Buffer.from(ok.Plaintext ?? []).toString(), 'alive');
  });
});
