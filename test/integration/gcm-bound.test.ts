/**
 * The AES-GCM invocation bound of CloudHSM-type token keys (random 96-bit IVs, NIST SP
 * 800-38D): with KEYHOLD_GCM_INVOCATION_LIMIT=5 a key encrypts five times (Encrypt and
 * GenerateDataKey both count), then refuses with KMSInvalidStateException while it still
 * decrypts; the count survives a restart (reserved durably in storage), and is per key.
 * And an external key whose proxy refuses past its limit: keyhold answers
 * KMSInvalidStateException for Encrypt and keeps decrypting.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeCustomKeyStoresCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
} from '@aws-sdk/client-kms';
import { XKS_DEFAULTS } from '../../src/xks-proxy/config.js';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';
import { createTestPki } from '../helpers/tls.js';
import { startTestXksProxy } from '../helpers/xks-proxy.js';
import { createSoftHsmToken, softHsmAvailable, type SoftHsmToken } from '../helpers/softhsm.js';

const skip = softHsmAvailable() ? false : 'SoftHSM2 is not installed (apt-get install softhsm2)';
const CLUSTER = 'cluster-gcmboundaaaa';

describe('AES-GCM invocation bound of CloudHSM-type keys', { skip }, () => {
  let tmp: string;
  let dataDir: string;
  let token: SoftHsmToken;
  let ca: string;
  let server: TestServer;
  let storeId: string;

  const start = () =>
    startTestServer({
      dataDir,
      env: {
        KEYHOLD_GCM_INVOCATION_LIMIT: '5',
        KEYHOLD_CLOUDHSM_CLUSTERS: JSON.stringify({
          [CLUSTER]: { module: token.modulePath, tokens: [token.label] },
        }),
      },
    });

  async function waitConnected(s: TestServer): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const r = await s.client.send(
        new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId }),
      );
      if (r.CustomKeyStores?.[0]?.ConnectionState === 'CONNECTED') return;
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error('store never connected');
  }

  const newKey = async (s: TestServer) =>
    (await s.client.send(new CreateKeyCommand({ CustomKeyStoreId: storeId }))).KeyMetadata!.KeyId!;
  const encrypt = (s: TestServer, keyId: string, text: string) =>
    s.client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }));
  const decrypt = async (s: TestServer, blob: Uint8Array) =>
    Buffer.from(
      (await s.client.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!,
    ).toString();

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-gcm-'));
    dataDir = join(tmp, 'data');
    const crt = join(tmp, 'ca.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=customerCA',
        '-days',
        '2',
        '-keyout',
        join(tmp, 'ca.key'),
        '-out',
        crt,
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(crt, 'utf8');
    token = createSoftHsmToken();
    server = await start();
    storeId = (
      await server.client.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'gcm-bound',
          CloudHsmClusterId: CLUSTER,
          TrustAnchorCertificate: ca,
          KeyStorePassword: token.userPin,
        }),
      )
    ).CustomKeyStoreId!;
    await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await waitConnected(server);
  });
  after(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const limitMessage = (arn: string) =>
    `${arn} has reached the AES-GCM invocation limit of its key material (5 encryptions); it can still decrypt. Create a new KMS key to encrypt.`;

  it('five encryptions, then KMSInvalidStateException; decrypt keeps working; a restart does not reset the count; other keys are unaffected', async () => {
    const keyId = await newKey(server);
    const blobs: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) blobs.push((await encrypt(server, keyId, `m${i}`)).CiphertextBlob!);
    const dk = await server.client.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }),
    );
    const err = await expectAwsError(encrypt(server, keyId, 'sixth'), 'KMSInvalidStateException');
    assert.equal(err.message, limitMessage(dk.KeyId!));
    await expectAwsError(
      server.client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })),
      'KMSInvalidStateException',
    );
    for (let i = 0; i < 4; i++) assert.equal(await decrypt(server, blobs[i]!), `m${i}`);
    const dec = await server.client.send(
      new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob! }),
    );
    assert.deepEqual(Buffer.from(dec.Plaintext!), Buffer.from(dk.Plaintext!));

    // Another key of the same store has its own count.
    const other = await newKey(server);
    const fresh = (await encrypt(server, other, 'other')).CiphertextBlob!;

    // The count is durable: a new process over the same storage still refuses.
    await server.stop();
    server = await start();
    await waitConnected(server);
    await expectAwsError(encrypt(server, keyId, 'after restart'), 'KMSInvalidStateException');
    assert.equal(await decrypt(server, blobs[0]!), 'm0');
    assert.equal(await decrypt(server, fresh), 'other');
    // The other key used 1 before the restart; the restart's lost block counts as used
    // (over-counting is the safe side), so it is refused now too.
    await expectAwsError(encrypt(server, other, 'again'), 'KMSInvalidStateException');
    // A key created now starts from zero.
    const third = await newKey(server);
    for (let i = 0; i < 5; i++) await encrypt(server, third, `t${i}`);
    await expectAwsError(encrypt(server, third, 't5'), 'KMSInvalidStateException');
  });
});

describe('AES-GCM invocation bound of an external key, through keyhold', () => {
  it('the proxy refuses the fourth encryption under a limit of 3; keyhold answers KMSInvalidStateException and still decrypts', async () => {
    const pki = createTestPki({ serverNames: ['DNS:localhost', 'DNS:*.xks.test', 'IP:127.0.0.1'] });
    const xks = await startTestXksProxy({
      pki,
      keys: [{ id: 'bounded' }],
      config: { limits: { ...XKS_DEFAULTS.limits, gcmInvocationsPerKey: 3 } },
    });
    const server = await startTestServer({
      env: {
        KEYHOLD_XKS_CLIENT_CA_FILE: pki.caPath,
        KEYHOLD_XKS_CLIENT_CONNECT_TO: `bound.xks.test=127.0.0.1:${xks.port}`,
        // AWS's 250 ms deadline is too short for a first TLS handshake on a loaded CI machine;
        // no case here tests the deadline.
        KEYHOLD_XKS_CLIENT_TIMEOUT_MS: '1000',
      },
    });
    try {
      const kms = server.client;
      const storeId = (
        await kms.send(
          new CreateCustomKeyStoreCommand({
            CustomKeyStoreName: 'xks-bounded',
            CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
            XksProxyUriEndpoint: 'https://bound.xks.test',
            XksProxyUriPath: xks.uriPath,
            XksProxyConnectivity: 'PUBLIC_ENDPOINT',
            XksProxyAuthenticationCredential: {
              AccessKeyId: xks.credential.accessKeyId,
              RawSecretAccessKey: xks.credential.secretAccessKey,
            },
          }),
        )
      ).CustomKeyStoreId!;
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
      for (let i = 0; i < 400; i++) {
        const r = await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId }));
        if (r.CustomKeyStores?.[0]?.ConnectionState === 'CONNECTED') break;
        await new Promise((res) => setTimeout(res, 25));
      }
      const keyId = (
        await kms.send(
          new CreateKeyCommand({
            Origin: 'EXTERNAL_KEY_STORE',
            CustomKeyStoreId: storeId,
            XksKeyId: 'bounded',
          }),
        )
      ).KeyMetadata!.KeyId!;
      const blobs: Uint8Array[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await kms.send(
          new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`x${i}`) }),
        );
        blobs.push(r.CiphertextBlob!);
      }
      await expectAwsError(
        kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x3') })),
        'KMSInvalidStateException',
      );
      for (const [i, b] of blobs.entries()) {
        const d = await kms.send(new DecryptCommand({ CiphertextBlob: b }));
        assert.equal(Buffer.from(d.Plaintext!).toString(), `x${i}`);
      }
    } finally {
      await server.stop();
      await xks.stop();
      pki.cleanup();
    }
  });
});
