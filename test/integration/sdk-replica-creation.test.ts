/**
 * ReplicateKey is asynchronous, as in AWS: the replica is answered Creating, DescribeKey
 * shows Creating until it is done, cryptographic use meanwhile is KMSInvalidStateException,
 * and then it is Enabled (PendingImport for imported material). A replica whose node stops
 * while it is Creating still becomes Enabled after the restart. Real SDK, real server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';
import { waitForKeyState } from '../helpers/waiters.js';

const WEST = 'us-west-2';
const env = (ms: number) => ({
  KEYHOLD_REGIONS: WEST,
  KEYHOLD_REPLICA_CREATION_MS: String(ms),
});

const westOf = (s: TestServer): KMSClient =>
  s.clientWith(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, WEST);

async function createMrk(s: TestServer, extra: object = {}): Promise<string> {
  const out = await s.client.send(new CreateKeyCommand({ MultiRegion: true, ...extra }));
  return out.KeyMetadata?.KeyId as string;
}

describe('ReplicateKey with the default delay', () => {
  let server: TestServer;
  let west: KMSClient;
  before(async () => {
    server = await startTestServer({ env: { KEYHOLD_REGIONS: WEST } });
    west = westOf(server);
  });
  after(async () => {
    west.destroy();
    await server.stop();
  });

  it('answers Creating, then the replica turns Enabled on its own and works', async () => {
    const keyId = await createMrk(server);
    const started = Date.now();
    const out = await server.client.send(
      new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: WEST }),
    );
    assert.equal(out.ReplicaKeyMetadata?.KeyState, 'Creating');
    assert.equal(out.ReplicaKeyMetadata?.Enabled, false);
    // No Tags given: no ReplicaTags member at all (AWS does not send an empty list).
    assert.equal(out.ReplicaTags, undefined);
    assert.equal('ReplicaTags' in out, false);
    const md = await waitForKeyState(west, keyId, 'Enabled', 5_000);
    assert.equal(md.Enabled, true);
    assert.ok(Date.now() - started < 5_000);
    const c = await west.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('w') }));
    const d = await server.client.send(new DecryptCommand({ CiphertextBlob: c.CiphertextBlob }));
    assert.equal(Buffer.from(d.Plaintext ?? []).toString(), 'w');
  });

  it('a replica of a key with imported material turns PendingImport, not Enabled', async () => {
    const keyId = await createMrk(server, { Origin: 'EXTERNAL' });
    const params = await server.client.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      }),
    );
    const wrapping = createPublicKey({
      key: Buffer.from(params.PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    });
    await server.client.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: publicEncrypt(
          { key: wrapping, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          randomBytes(32),
        ),
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }),
    );
    const out = await server.client.send(
      new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: WEST }),
    );
    assert.equal(out.ReplicaKeyMetadata?.KeyState, 'Creating');
    const md = await waitForKeyState(west, keyId, 'PendingImport', 5_000);
    assert.equal(md.Origin, 'EXTERNAL');
    assert.equal(md.CurrentKeyMaterialId, undefined);
  });
});

describe('a replica while it is Creating (long delay)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-replica-'));
  let server: TestServer;
  let west: KMSClient;
  before(async () => {
    server = await startTestServer({ dataDir, env: env(60_000) });
    west = westOf(server);
  });
  after(async () => {
    west.destroy();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('DescribeKey shows Creating; Encrypt, Decrypt and DisableKey are KMSInvalidStateException', async () => {
    const keyId = await createMrk(server);
    await server.client.send(
      new ReplicateKeyCommand({
        KeyId: keyId,
        ReplicaRegion: WEST,
        Tags: [{ TagKey: 'site', TagValue: 'west' }],
      }),
    );
    const md = (await west.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    assert.equal(md?.KeyState, 'Creating');
    assert.equal(md?.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');
    const arn = md?.Arn as string;
    const e = await expectAwsError(
      west.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
    );
    assert.equal(e.message, `${arn} is creating.`);
    const primaryCt = await server.client.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('p') }),
    );
    await expectAwsError(
      west.send(new DecryptCommand({ CiphertextBlob: primaryCt.CiphertextBlob })),
      'KMSInvalidStateException',
    );
    await expectAwsError(
      west.send(new DisableKeyCommand({ KeyId: keyId })),
      'KMSInvalidStateException',
    );
    // The primary is unaffected.
    const p = await server.client.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(p.KeyMetadata?.KeyState, 'Enabled');
  });

  it('a Creating replica scheduled for deletion is not revived when its creation finishes', async () => {
    const keyId = await createMrk(server);
    await server.client.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: WEST }));
    await west.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    advance(server, [west], 61_000);
    await server.node.runJobs();
    const md = (await west.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    assert.equal(md?.KeyState, 'PendingDeletion');
    advance(server, [west], -61_000);
  });

  it('a replica Creating when its node stops becomes Enabled after the restart', async () => {
    const keyId = await createMrk(server);
    await server.client.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: WEST }));
    west.destroy();
    await server.stop();

    server = await startTestServer({ dataDir, env: env(60_000) });
    west = westOf(server);
    // Not due yet: still Creating after the restart (the state was stored, not lost).
    assert.equal(
      (await west.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState,
      'Creating',
    );
    // Past the delay, the background job (every start, every minute) finishes it.
    advance(server, [west], 61_000);
    await server.node.runJobs();
    const md = await waitForKeyState(west, keyId, 'Enabled', 5_000);
    assert.equal(md.Enabled, true);
    const c = await west.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('r') }));
    assert.ok(c.CiphertextBlob);
    advance(server, [west], -61_000);
  });

  it('a restart after the delay has passed finishes the replica at start', async () => {
    const keyId = await createMrk(server);
    await server.client.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: WEST }));
    west.destroy();
    await server.stop();
    server = await startTestServer({ dataDir, env: env(0) });
    west = westOf(server);
    const md = (await west.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    assert.equal(md?.KeyState, 'Enabled');
  });
});

/** Move the server's clock and the clients' signing clocks together. */
function advance(s: TestServer, clients: KMSClient[], ms: number): void {
  s.clock.advance(ms);
  for (const c of [s.client, ...clients]) c.config.systemClockOffset = s.clock.offsetMs;
}
