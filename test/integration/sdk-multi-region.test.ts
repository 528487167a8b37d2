/**
 * Multi-Region keys through the real AWS SDK: one keyhold serving us-east-1, us-west-2 and
 * eu-west-1. CreateKey MultiRegion, ReplicateKey, DescribeKey MultiRegionConfiguration,
 * cross-Region decrypt, per-Region policy/aliases/state, UpdatePrimaryRegion, rotation
 * reaching replicas, and PendingReplicaDeletion. Replicas are answered Creating and waited
 * for with DescribeKey, as real clients do (the Creating state itself:
 * sdk-replica-creation.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UpdatePrimaryRegionCommand,
  VerifyCommand,
  type ReplicateKeyCommandInput,
  type ReplicateKeyCommandOutput,
} from '@aws-sdk/client-kms';
import { runJobsOnce } from '../../src/kms/jobs/background-jobs.js';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';
import { waitForKeyState } from '../helpers/waiters.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const ACCOUNT = '111122223333';

let server: TestServer;
let east: KMSClient;
let west: KMSClient;
let eu: KMSClient;

const arnIn = (region: string, keyId: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;

/** ReplicateKey answers Creating; wait, as a real client does, until the replica is Enabled. */
async function replicate(
  from: KMSClient,
  input: ReplicateKeyCommandInput,
): Promise<ReplicateKeyCommandOutput> {
  const out = await from.send(new ReplicateKeyCommand(input));
  assert.equal(out.ReplicaKeyMetadata?.KeyState, 'Creating');
  const to = { 'us-west-2': west, 'eu-west-1': eu }[input.ReplicaRegion as string] as KMSClient;
  await waitForKeyState(to, out.ReplicaKeyMetadata?.Arn as string, 'Enabled');
  return out;
}

async function createMrk(): Promise<string> {
  const out = await east.send(new CreateKeyCommand({ MultiRegion: true }));
  return out.KeyMetadata?.KeyId as string;
}

before(async () => {
  server = await startTestServer({ env: { KEYHOLD_REGIONS: 'us-west-2,eu-west-1' } });
  east = server.client;
  west = server.clientWith(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, 'us-west-2');
  eu = server.clientWith(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, 'eu-west-1');
});

after(async () => {
  west.destroy();
  eu.destroy();
  await server.stop();
});

describe('multi-Region keys', () => {
  it('CreateKey MultiRegion=true makes an mrk- primary', async () => {
    const out = await east.send(new CreateKeyCommand({ MultiRegion: true, Description: 'p' }));
    const md = out.KeyMetadata;
    assert.match(md?.KeyId ?? '', /^mrk-[0-9a-f]{32}$/);
    assert.equal(md?.MultiRegion, true);
    assert.deepEqual(md?.MultiRegionConfiguration, {
      MultiRegionKeyType: 'PRIMARY',
      PrimaryKey: { Arn: md?.Arn, Region: 'us-east-1' },
      ReplicaKeys: [],
    });
    const single = await east.send(new CreateKeyCommand({}));
    assert.equal(single.KeyMetadata?.MultiRegion, false);
    assert.equal(single.KeyMetadata?.MultiRegionConfiguration, undefined);
  });

  it('ReplicateKey creates the replica; DescribeKey in both Regions shows the configuration', async () => {
    const keyId = await createMrk();
    const out = await replicate(east, {
      KeyId: keyId,
      ReplicaRegion: 'us-west-2',
      Description: 'replica',
      Tags: [{ TagKey: 'site', TagValue: 'west' }],
    });
    const md = out.ReplicaKeyMetadata;
    assert.equal(md?.KeyId, keyId);
    assert.equal(md?.Arn, arnIn('us-west-2', keyId));
    assert.equal(md?.KeyState, 'Creating');
    assert.equal(md?.Description, 'replica');
    assert.equal(md?.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');
    assert.deepEqual(out.ReplicaTags, [{ TagKey: 'site', TagValue: 'west' }]);
    assert.ok(out.ReplicaPolicy?.includes('arn:aws:iam::111122223333:root'));

    const expected = {
      PrimaryKey: { Arn: arnIn('us-east-1', keyId), Region: 'us-east-1' },
      ReplicaKeys: [{ Arn: arnIn('us-west-2', keyId), Region: 'us-west-2' }],
    };
    const p = await east.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.deepEqual(p.KeyMetadata?.MultiRegionConfiguration, {
      MultiRegionKeyType: 'PRIMARY',
      ...expected,
    });
    const r = await west.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.deepEqual(r.KeyMetadata?.MultiRegionConfiguration, {
      MultiRegionKeyType: 'REPLICA',
      ...expected,
    });
    assert.equal(r.KeyMetadata?.CurrentKeyMaterialId, p.KeyMetadata?.CurrentKeyMaterialId);
  });

  it('a ciphertext made in one Region decrypts in the other, both ways', async () => {
    const keyId = await createMrk();
    await replicate(east, { KeyId: keyId, ReplicaRegion: 'us-west-2' });
    const ctx = { purpose: 'mrk' };
    const a = await east.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from('from east'),
        EncryptionContext: ctx,
      }),
    );
    const da = await west.send(
      new DecryptCommand({ CiphertextBlob: a.CiphertextBlob, EncryptionContext: ctx }),
    );
    assert.equal(Buffer.from(da.Plaintext ?? []).toString(), 'from east');
    assert.equal(da.KeyId, arnIn('us-west-2', keyId));
    const b = await west.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('from west') }),
    );
    const db = await east.send(new DecryptCommand({ CiphertextBlob: b.CiphertextBlob }));
    assert.equal(Buffer.from(db.Plaintext ?? []).toString(), 'from west');
    // A Region without a replica does not know the key (Decrypt's AccessDeniedException).
    await expectAwsError(
      eu.send(new DecryptCommand({ CiphertextBlob: a.CiphertextBlob })),
      'AccessDeniedException',
    );
  });

  it('asymmetric multi-Region keys: a signature made in one Region verifies in the other', async () => {
    const created = await east.send(
      new CreateKeyCommand({
        MultiRegion: true,
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
      }),
    );
    const keyId = created.KeyMetadata?.KeyId as string;
    await replicate(east, { KeyId: keyId, ReplicaRegion: 'eu-west-1' });
    const sig = await east.send(
      new SignCommand({
        KeyId: keyId,
        Message: Buffer.from('m'),
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    const v = await eu.send(
      new VerifyCommand({
        KeyId: keyId,
        Message: Buffer.from('m'),
        Signature: sig.Signature,
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    assert.equal(v.SignatureValid, true);
  });

  it('each Region has its own policy, aliases and key state', async () => {
    const keyId = await createMrk();
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'west',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
    const out = await replicate(east, { KeyId: keyId, ReplicaRegion: 'us-west-2', Policy: policy });
    assert.equal(out.ReplicaPolicy, policy);
    const westPolicy = await west.send(
      new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }),
    );
    assert.equal(westPolicy.Policy, policy);
    const eastPolicy = await east.send(
      new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }),
    );
    assert.notEqual(eastPolicy.Policy, policy);

    const alias = `alias/mrk-west-${keyId.slice(4, 12)}`;
    await west.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    const westAliases = await west.send(new ListAliasesCommand({ KeyId: keyId }));
    assert.deepEqual(
      westAliases.Aliases?.map((a) => a.AliasName),
      [alias],
    );
    const eastAliases = await east.send(new ListAliasesCommand({ KeyId: keyId }));
    assert.deepEqual(eastAliases.Aliases, []);
    await expectAwsError(
      east.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from('x') })),
      'NotFoundException',
    );

    await west.send(new DisableKeyCommand({ KeyId: keyId }));
    await expectAwsError(
      west.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'DisabledException',
    );
    const still = await east.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }),
    );
    assert.ok(still.CiphertextBlob);
    const d = await east.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(d.KeyMetadata?.KeyState, 'Enabled');
  });

  it('ReplicateKey errors', async () => {
    const single = await east.send(new CreateKeyCommand({}));
    await expectAwsError(
      east.send(
        new ReplicateKeyCommand({ KeyId: single.KeyMetadata?.KeyId, ReplicaRegion: 'us-west-2' }),
      ),
      'UnsupportedOperationException',
    );
    const keyId = await createMrk();
    await replicate(east, { KeyId: keyId, ReplicaRegion: 'us-west-2' });
    await expectAwsError(
      east.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'us-west-2' })),
      'AlreadyExistsException',
    );
    await expectAwsError(
      east.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'ap-south-1' })),
      'UnsupportedOperationException',
    );
    await expectAwsError(
      east.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'us-east-1' })),
      'ValidationException',
    );
    // Only the primary can be replicated.
    await expectAwsError(
      west.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'eu-west-1' })),
      'UnsupportedOperationException',
    );
    // A disabled primary cannot be replicated.
    await east.send(new DisableKeyCommand({ KeyId: keyId }));
    await expectAwsError(
      east.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'eu-west-1' })),
      'DisabledException',
    );
  });

  it('UpdatePrimaryRegion swaps the roles', async () => {
    const keyId = await createMrk();
    await replicate(east, { KeyId: keyId, ReplicaRegion: 'us-west-2' });
    await expectAwsError(
      east.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'eu-west-1' })),
      'NotFoundException',
    );
    await expectAwsError(
      west.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'us-east-1' })),
      'UnsupportedOperationException',
    );
    await east.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'us-west-2' }));
    const w = await west.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.deepEqual(w.KeyMetadata?.MultiRegionConfiguration, {
      MultiRegionKeyType: 'PRIMARY',
      PrimaryKey: { Arn: arnIn('us-west-2', keyId), Region: 'us-west-2' },
      ReplicaKeys: [{ Arn: arnIn('us-east-1', keyId), Region: 'us-east-1' }],
    });
    const e = await east.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(e.KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');
    // The new primary replicates; the old one no longer can.
    await replicate(west, { KeyId: keyId, ReplicaRegion: 'eu-west-1' });
    await expectAwsError(
      east.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'eu-west-1' })),
      'UnsupportedOperationException',
    );
    const all = await eu.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.deepEqual(
      all.KeyMetadata?.MultiRegionConfiguration?.ReplicaKeys?.map((k) => k.Region),
      ['eu-west-1', 'us-east-1'],
    );
  });

  it('rotating the primary adds the new material to its replicas', async () => {
    const keyId = await createMrk();
    await replicate(east, { KeyId: keyId, ReplicaRegion: 'us-west-2' });
    await expectAwsError(
      west.send(new EnableKeyRotationCommand({ KeyId: keyId })),
      'UnsupportedOperationException',
    );
    await east.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const p = await east.send(new DescribeKeyCommand({ KeyId: keyId }));
    const r = await west.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(r.KeyMetadata?.CurrentKeyMaterialId, p.KeyMetadata?.CurrentKeyMaterialId);
    const c = await west.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('new') }));
    const d = await east.send(new DecryptCommand({ CiphertextBlob: c.CiphertextBlob }));
    assert.equal(Buffer.from(d.Plaintext ?? []).toString(), 'new');
  });

  it('a primary with replicas waits in PendingReplicaDeletion until they are deleted', async () => {
    const keyId = await createMrk();
    await replicate(east, { KeyId: keyId, ReplicaRegion: 'us-west-2' });
    const s = await east.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }),
    );
    assert.equal(s.KeyState, 'PendingReplicaDeletion');
    assert.equal(s.DeletionDate, undefined);
    await expectAwsError(
      east.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
    );
    // Cancel and schedule again: a canceled key is Disabled.
    await east.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    const c = await east.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(c.KeyMetadata?.KeyState, 'Disabled');
    await east.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));

    const rs = await west.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }),
    );
    assert.equal(rs.KeyState, 'PendingDeletion');
    // The replica's waiting period ends: it is deleted, then the primary's period begins.
    advance(8 * DAY_MS);
    await runJobsOnce(jobDeps());
    await expectAwsError(west.send(new DescribeKeyCommand({ KeyId: keyId })), 'NotFoundException');
    const p = await east.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(p.KeyMetadata?.KeyState, 'PendingDeletion');
    assert.deepEqual(p.KeyMetadata?.MultiRegionConfiguration?.ReplicaKeys, []);
    const due = (p.KeyMetadata?.DeletionDate?.getTime() ?? 0) - server.clock.now().getTime();
    assert.ok(Math.abs(due - 7 * DAY_MS) < 60_000, `deletion in ${due} ms`);
    assert.equal(p.KeyMetadata?.PendingDeletionWindowInDays, 7);
    advance(8 * DAY_MS);
    await runJobsOnce(jobDeps());
    await expectAwsError(east.send(new DescribeKeyCommand({ KeyId: keyId })), 'NotFoundException');
    advance(-16 * DAY_MS);
  });

  it('a primary without replicas goes straight to PendingDeletion', async () => {
    const keyId = await createMrk();
    const s = await east.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }),
    );
    assert.equal(s.KeyState, 'PendingDeletion');
    assert.ok(s.DeletionDate instanceof Date);
  });
});

/** Move the server's clock and the clients' signing clocks together. */
function advance(ms: number): void {
  server.clock.advance(ms);
  for (const c of [east, west, eu]) c.config.systemClockOffset = server.clock.offsetMs;
}

function jobDeps(): Parameters<typeof runJobsOnce>[0] {
  return server.node.jobs;
}
