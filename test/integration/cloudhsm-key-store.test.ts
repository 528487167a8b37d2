/**
 * CloudHSM-type custom key stores end to end: the real AWS SDK against a keyhold node whose
 * "clusters" are SoftHSM2 tokens made by this test (test/helpers/softhsm.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  UpdateCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
} from '@aws-sdk/client-kms';
import type { CloudHsmConnector } from '../../src/keystores/cloudhsm/cloudhsm-connector.js';
import { runJobsOnce } from '../../src/kms/jobs/background-jobs.js';
import { Pkcs11Error, Token } from '../../src/pkcs11/index.js';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';
import { createSoftHsmToken, softHsmAvailable, type SoftHsmToken } from '../helpers/softhsm.js';

const skip = softHsmAvailable() ? false : 'SoftHSM2 is not installed (apt-get install softhsm2)';

/** A self-signed CA certificate (PEM) made by openssl, as customerCA.crt would be. */
function makeCa(dir: string, name: string): string {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
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
      `/CN=${name}`,
      '-days',
      '2',
      '-keyout',
      key,
      '-out',
      crt,
    ],
    { stdio: 'ignore' },
  );
  return crt;
}

describe('CloudHSM-type custom key stores on SoftHSM2', { skip }, () => {
  let server: TestServer;
  let tmp: string;
  let caFile: string;
  let ca: string;
  let otherCa: string;
  const tokens: Record<string, SoftHsmToken> = {};
  const C = {
    main: 'cluster-mainaaaaaaaa',
    mainRelated: 'cluster-mainrelatedaa',
    wrongPin: 'cluster-wrongpinaaaa',
    busy: 'cluster-busyaaaaaaaa',
    unrelated: 'cluster-unrelatedaaa',
    noToken: 'cluster-notokenaaaaa',
    noUser: 'cluster-nouseraaaaaa',
    restart: 'cluster-restartaaaaa',
    anchor: 'cluster-anchoraaaaaaa',
  };

  function clustersJson(overrides: Record<string, string[]> = {}): string {
    const m = (labels: string[], extra: Record<string, unknown> = {}) => ({
      module: tokens.main?.modulePath,
      tokens: labels,
      ...extra,
    });
    const base: Record<string, unknown> = {
      [C.main]: m([tokens.main!.label], { trustAnchorFile: caFile, maxSessions: 4 }),
      [C.mainRelated]: m([tokens.main!.label]),
      [C.wrongPin]: m([tokens.wrongPin!.label]),
      [C.busy]: m([tokens.busy!.label]),
      [C.unrelated]: m([tokens.unrelated!.label]),
      [C.noToken]: m(['no-such-token-label']),
      [C.noUser]: m(['kh-nouser-token']),
      [C.restart]: m([tokens.restart!.label]),
      [C.anchor]: m([tokens.unrelated!.label], { trustAnchorFile: caFile }),
    };
    for (const [id, labels] of Object.entries(overrides)) base[id] = m(labels);
    return JSON.stringify(base);
  }

  async function start(
    dataDir?: string,
    overrides?: Record<string, string[]>,
  ): Promise<TestServer> {
    return startTestServer({
      ...(dataDir === undefined ? {} : { dataDir }),
      env: {
        KEYHOLD_CLOUDHSM_CLUSTERS: clustersJson(overrides),
        KEYHOLD_CUSTOM_KEY_STORE_TRANSITION_DELAY_MS: '300',
      },
    });
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-cks-'));
    caFile = makeCa(tmp, 'customerCA');
    ca = readFileSync(caFile, 'utf8');
    otherCa = readFileSync(makeCa(tmp, 'otherCA'), 'utf8');
    for (const name of ['main', 'wrongPin', 'busy', 'unrelated', 'restart'])
      tokens[name] = createSoftHsmToken();
    server = await start();
  });
  after(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const describeStore = async (id: string): Promise<CustomKeyStoresListEntry> => {
    const r = await server.client.send(
      new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }),
    );
    return r.CustomKeyStores![0]!;
  };

  async function waitState(
    id: string,
    want: string,
    s: TestServer = server,
  ): Promise<CustomKeyStoresListEntry> {
    for (let i = 0; i < 200; i++) {
      const r = await s.client.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }));
      const e = r.CustomKeyStores![0]!;
      if (e.ConnectionState === want) return e;
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`store ${id} never reached ${want}`);
  }

  async function createStore(
    name: string,
    clusterId: string,
    password: string,
    s: TestServer = server,
  ): Promise<string> {
    const r = await s.client.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: name,
        CloudHsmClusterId: clusterId,
        TrustAnchorCertificate: ca,
        KeyStorePassword: password,
      }),
    );
    return r.CustomKeyStoreId!;
  }

  async function connect(id: string, s: TestServer = server): Promise<void> {
    await s.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    await waitState(id, 'CONNECTED', s);
  }

  async function disconnect(id: string): Promise<void> {
    await server.client.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    await waitState(id, 'DISCONNECTED');
  }

  const connectorOf = (s: TestServer): CloudHsmConnector =>
    s.node.services.customKeyStores!.connectors.get('AWS_CLOUDHSM') as CloudHsmConnector;

  // ---- create, describe, validation ----

  let mainId: string;

  it('CreateCustomKeyStore: a DISCONNECTED AWS_CLOUDHSM store; Describe shows it without the password', async () => {
    mainId = await createStore('main-store', C.main, tokens.main!.userPin);
    assert.match(mainId, /^cks-[0-9a-f]{17}$/);
    const r = await server.client.send(
      new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: mainId }),
    );
    const e = r.CustomKeyStores![0]!;
    assert.equal(e.CustomKeyStoreName, 'main-store');
    assert.equal(e.CustomKeyStoreType, 'AWS_CLOUDHSM');
    assert.equal(e.CloudHsmClusterId, C.main);
    assert.equal(e.TrustAnchorCertificate, ca);
    assert.equal(e.ConnectionState, 'DISCONNECTED');
    assert.equal(e.ConnectionErrorCode, undefined);
    assert.ok(e.CreationDate instanceof Date);
    assert.equal(e.XksProxyConfiguration, undefined);
    assert.ok(!JSON.stringify(r).includes(tokens.main!.userPin));
  });

  it('seed 004: the same request again returns the same store id and creates nothing', async () => {
    const again = await createStore('main-store', C.main, tokens.main!.userPin);
    assert.equal(again, mainId);
    const all = await server.client.send(new DescribeCustomKeyStoresCommand({}));
    assert.equal(
      all.CustomKeyStores!.filter((s) => s.CustomKeyStoreName === 'main-store').length,
      1,
    );
  });

  it('same name with any other property → CustomKeyStoreNameInUseException', async () => {
    await expectAwsError(
      createStore('main-store', C.main, 'another-password'),
      'CustomKeyStoreNameInUseException',
    );
    await expectAwsError(
      createStore('main-store', C.unrelated, tokens.main!.userPin),
      'CustomKeyStoreNameInUseException',
    );
  });

  it('a cluster backs one store: CloudHsmClusterInUseException', async () => {
    await expectAwsError(
      createStore('second-on-main', C.main, tokens.main!.userPin),
      'CloudHsmClusterInUseException',
    );
  });

  it('parameter validation: password length, cluster id pattern, missing members, XKS members', async () => {
    const base = {
      CustomKeyStoreName: 'v',
      CloudHsmClusterId: C.unrelated,
      TrustAnchorCertificate: ca,
    };
    const send = (extra: Record<string, unknown>) =>
      server.client.send(
        new CreateCustomKeyStoreCommand({ ...base, KeyStorePassword: 'goodpass', ...extra }),
      );
    await expectAwsError(send({ KeyStorePassword: '123456' }), 'ValidationException');
    await expectAwsError(send({ KeyStorePassword: 'x'.repeat(33) }), 'ValidationException');
    await expectAwsError(send({ CloudHsmClusterId: 'cluster-1' }), 'ValidationException');
    await expectAwsError(
      send({ CloudHsmClusterId: 'cluster-000000000000' }),
      'ValidationException',
    );
    await expectAwsError(send({ TrustAnchorCertificate: undefined }), 'ValidationException');
    await expectAwsError(send({ XksProxyUriPath: '/kms/xks/v1' }), 'ValidationException');
    await expectAwsError(send({ CustomKeyStoreType: 'NOT_A_TYPE' }), 'ValidationException');
  });

  it('trust anchor: not PEM X.509 → IncorrectTrustAnchorException; not the cluster CA → IncorrectTrustAnchorException', async () => {
    const send = (cluster: string, pem: string) =>
      server.client.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: `ta-${cluster}`,
          CloudHsmClusterId: cluster,
          TrustAnchorCertificate: pem,
          KeyStorePassword: 'goodpass',
        }),
      );
    await expectAwsError(send(C.unrelated, 'not a certificate'), 'IncorrectTrustAnchorException');
    const garbage = `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate at all').toString('base64')}\n-----END CERTIFICATE-----\n`;
    await expectAwsError(send(C.unrelated, garbage), 'IncorrectTrustAnchorException');
    await expectAwsError(
      send(C.unrelated, ca.slice(0, ca.length / 2)),
      'IncorrectTrustAnchorException',
    );
    // C.anchor's config names customerCA.crt: another valid certificate is not its anchor.
    await expectAwsError(send(C.anchor, otherCa), 'IncorrectTrustAnchorException');
    const other = await server.client
      .send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'ta-main',
          CloudHsmClusterId: C.mainRelated,
          TrustAnchorCertificate: otherCa,
          KeyStorePassword: 'goodpass',
        }),
      )
      .then((r) => r.CustomKeyStoreId!);
    // mainRelated has no configured anchor: any valid certificate is accepted (and stored).
    assert.equal((await describeStore(other)).TrustAnchorCertificate, otherCa);
    await server.client.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: other }));
  });

  it('unknown cluster → CloudHsmClusterNotFoundException; cluster without a present token → CloudHsmClusterNotActiveException', async () => {
    await expectAwsError(
      createStore('nf', 'cluster-unknownaaaaa', 'goodpass'),
      'CloudHsmClusterNotFoundException',
    );
    await expectAwsError(
      createStore('na', C.noToken, 'goodpass'),
      'CloudHsmClusterNotActiveException',
    );
  });

  // ---- connection states ----

  it('Connect: CONNECTING is observable, then CONNECTED; the kmsuser PIN is rotated', async () => {
    await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: mainId }));
    assert.equal((await describeStore(mainId)).ConnectionState, 'CONNECTING');
    const e = await waitState(mainId, 'CONNECTED');
    assert.equal(e.ConnectionErrorCode, undefined);
    // Connecting a CONNECTED store is not an error and changes nothing.
    await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: mainId }));
    assert.equal((await describeStore(mainId)).ConnectionState, 'CONNECTED');
  });

  it('while connected the token is logged in: another login on it is refused (exclusive probe)', async () => {
    await assert.rejects(
      Token.open(
        { modulePath: tokens.main!.modulePath, label: tokens.main!.label, exclusive: true },
        tokens.main!.userPin,
      ),
      (e: Pkcs11Error) => e.ckr === 'CKR_USER_ALREADY_LOGGED_IN',
    );
  });

  let keyArn: string;
  let keyId: string;

  it('CreateKey in the CONNECTED store: Origin AWS_CLOUDHSM, CustomKeyStoreId, CloudHsmClusterId', async () => {
    const r = await server.client.send(
      new CreateKeyCommand({
        CustomKeyStoreId: mainId,
        Origin: 'AWS_CLOUDHSM',
        Description: 'in hsm',
      }),
    );
    const md = r.KeyMetadata!;
    keyArn = md.Arn!;
    keyId = md.KeyId!;
    assert.equal(md.Origin, 'AWS_CLOUDHSM');
    assert.equal(md.CustomKeyStoreId, mainId);
    assert.equal(md.CloudHsmClusterId, C.main);
    assert.equal(md.KeyState, 'Enabled');
    assert.equal(md.KeySpec, 'SYMMETRIC_DEFAULT');
    const d = (await server.client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
    assert.equal(d.CustomKeyStoreId, mainId);
    assert.equal(d.CloudHsmClusterId, C.main);
    assert.equal(d.Origin, 'AWS_CLOUDHSM');
  });

  it('the key is an AES-256 token object labelled with the key ARN, sensitive and non-extractable', async () => {
    const store = await server.node.services.storage.customKeyStores.getStore('us-east-1', mainId);
    const token = connectorOf(server).token(store!)!;
    token.forget(keyArn);
    const h = await token.findKey(keyArn);
    assert.ok(h, 'token object found by label');
    const a = await token.keyAttributes(h);
    assert.equal(a.label, keyArn);
    assert.equal(a.keyType, 'AES');
    assert.equal(a.valueLen, 32);
    assert.equal(a.sensitive, true);
    assert.equal(a.extractable, false);
    assert.equal(a.token, true);
  });

  it('CreateKey refusals: Origin without store, wrong origin, non-symmetric spec, multi-Region, XksKeyId', async () => {
    const send = (input: Record<string, unknown>) =>
      server.client.send(new CreateKeyCommand(input));
    await expectAwsError(send({ Origin: 'AWS_CLOUDHSM' }), 'ValidationException');
    await expectAwsError(
      send({ CustomKeyStoreId: mainId, Origin: 'AWS_KMS' }),
      'ValidationException',
    );
    await expectAwsError(
      send({ CustomKeyStoreId: mainId, Origin: 'EXTERNAL_KEY_STORE', XksKeyId: 'k1' }),
      'ValidationException',
    );
    await expectAwsError(
      send({ CustomKeyStoreId: mainId, KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }),
      'UnsupportedOperationException',
    );
    await expectAwsError(
      send({ CustomKeyStoreId: mainId, MultiRegion: true }),
      'UnsupportedOperationException',
    );
    await expectAwsError(send({ CustomKeyStoreId: mainId, XksKeyId: 'k1' }), 'ValidationException');
    await expectAwsError(
      send({ CustomKeyStoreId: 'cks-00000000000000000' }),
      'CustomKeyStoreNotFoundException',
    );
  });

  it('Encrypt / Decrypt round trip inside the token, with and without KeyId', async () => {
    const pt = Buffer.from('secret message for the HSM');
    const ec = { purpose: 'test', tenant: 'a' };
    const enc = await server.client.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: pt, EncryptionContext: ec }),
    );
    const blob = Buffer.from(enc.CiphertextBlob!);
    assert.equal(blob[0], 0x02, 'custom key store blob format');
    assert.equal(blob.length, 51 + 12 + pt.length + 16);
    assert.equal(enc.KeyId, keyArn);
    const dec = await server.client.send(
      new DecryptCommand({
        CiphertextBlob: blob,
        EncryptionContext: { tenant: 'a', purpose: 'test' },
      }),
    );
    assert.deepEqual(Buffer.from(dec.Plaintext!), pt);
    assert.equal(dec.KeyId, keyArn);
    const dec2 = await server.client.send(
      new DecryptCommand({ CiphertextBlob: blob, KeyId: keyArn, EncryptionContext: ec }),
    );
    assert.deepEqual(Buffer.from(dec2.Plaintext!), pt);
  });

  it('wrong encryption context, tampered ciphertext or header → InvalidCiphertextException', async () => {
    const ec = { a: '1' };
    const enc = await server.client.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from('x'.repeat(40)),
        EncryptionContext: ec,
      }),
    );
    const blob = Buffer.from(enc.CiphertextBlob!);
    await expectAwsError(
      server.client.send(
        new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { a: '2' } }),
      ),
      'InvalidCiphertextException',
    );
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: blob })),
      'InvalidCiphertextException',
    );
    for (const at of [
      51 /* IV */,
      70 /* ciphertext */,
      blob.length - 1 /* tag */,
      30 /* version id */,
      50 /* store type */,
    ]) {
      const bad = Buffer.from(blob);
      bad[at] = (bad[at] as number) ^ 0x01;
      await expectAwsError(
        server.client.send(new DecryptCommand({ CiphertextBlob: bad, EncryptionContext: ec })),
        'InvalidCiphertextException',
      );
    }
    await expectAwsError(
      server.client.send(
        new DecryptCommand({ CiphertextBlob: blob.subarray(0, 60), EncryptionContext: ec }),
      ),
      'InvalidCiphertextException',
    );
  });

  it('a v1 blob naming the CloudHSM key, and a v2 blob naming a standard key, are InvalidCiphertextException', async () => {
    const std = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata!;
    const v1 = Buffer.from(
      (
        await server.client.send(
          new EncryptCommand({ KeyId: std.KeyId, Plaintext: Buffer.from('p') }),
        )
      ).CiphertextBlob!,
    );
    const v2 = Buffer.from(
      (await server.client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('p') })))
        .CiphertextBlob!,
    );
    // Swap the key ids (bytes 2..17) between the formats.
    const v1ForHsmKey = Buffer.from(v1);
    v2.copy(v1ForHsmKey, 2, 2, 18);
    const v2ForStdKey = Buffer.from(v2);
    v1.copy(v2ForStdKey, 2, 2, 18);
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: v1ForHsmKey })),
      'InvalidCiphertextException',
    );
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: v2ForStdKey })),
      'InvalidCiphertextException',
    );
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: v2, KeyId: std.KeyId })),
      'IncorrectKeyException',
    );
  });

  it('GenerateDataKey / WithoutPlaintext / ReEncrypt to and from a standard key', async () => {
    const ec = { k: 'v' };
    const gdk = await server.client.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: ec }),
    );
    assert.equal(gdk.Plaintext!.length, 32);
    const back = await server.client.send(
      new DecryptCommand({ CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec }),
    );
    assert.deepEqual(Buffer.from(back.Plaintext!), Buffer.from(gdk.Plaintext!));
    const wp = await server.client.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyArn, NumberOfBytes: 64 }),
    );
    assert.equal(
      (await server.client.send(new DecryptCommand({ CiphertextBlob: wp.CiphertextBlob })))
        .Plaintext!.length,
      64,
    );
    const std = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata!;
    const re = await server.client.send(
      new ReEncryptCommand({
        CiphertextBlob: gdk.CiphertextBlob,
        SourceEncryptionContext: ec,
        DestinationKeyId: std.KeyId,
        DestinationEncryptionContext: ec,
      }),
    );
    assert.equal(re.SourceKeyId, keyArn);
    assert.equal(Buffer.from(re.CiphertextBlob!)[0], 0x01);
    const re2 = await server.client.send(
      new ReEncryptCommand({
        CiphertextBlob: re.CiphertextBlob,
        SourceEncryptionContext: ec,
        DestinationKeyId: keyId,
      }),
    );
    assert.equal(Buffer.from(re2.CiphertextBlob!)[0], 0x02);
    const last = await server.client.send(
      new DecryptCommand({ CiphertextBlob: re2.CiphertextBlob }),
    );
    assert.deepEqual(Buffer.from(last.Plaintext!), Buffer.from(gdk.Plaintext!));
  });

  it('200 concurrent GenerateDataKey + Decrypt through the bounded session pool; /metrics shows the pool', async () => {
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const ec = { n: String(i) };
        const g = await server.client.send(
          new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, EncryptionContext: ec }),
        );
        const d = await server.client.send(
          new DecryptCommand({ CiphertextBlob: g.CiphertextBlob, EncryptionContext: ec }),
        );
        assert.deepEqual(Buffer.from(d.Plaintext!), Buffer.from(g.Plaintext!));
      }),
    );
    const text = await (await fetch(server.metricsUrl ?? '')).text();
    const label = tokens.main!.label;
    assert.match(text, new RegExp(`keyhold_pkcs11_pool_size\\{token="${label}"\\} 4`));
    const idle = Number(
      new RegExp(`keyhold_pkcs11_sessions_idle\\{token="${label}"\\} (\\d+)`).exec(text)?.[1],
    );
    assert.ok(idle >= 1 && idle <= 4, `idle sessions ${idle}`);
    assert.match(text, new RegExp(`keyhold_pkcs11_sessions_in_use\\{token="${label}"\\} 0`));
  });

  it('not for custom key store keys: rotation, data key pairs; GenerateRandom comes from the token', async () => {
    await expectAwsError(
      server.client.send(new EnableKeyRotationCommand({ KeyId: keyId })),
      'UnsupportedOperationException',
    );
    await expectAwsError(
      server.client.send(
        new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' }),
      ),
      'UnsupportedOperationException',
    );
    const r = await server.client.send(
      new GenerateRandomCommand({ NumberOfBytes: 48, CustomKeyStoreId: mainId }),
    );
    assert.equal(r.Plaintext!.length, 48);
    await expectAwsError(
      server.client.send(
        new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: 'cks-00000000000000000' }),
      ),
      'CustomKeyStoreNotFoundException',
    );
  });

  it('UpdateCustomKeyStore while CONNECTED: the name yes; password or cluster → CustomKeyStoreInvalidStateException', async () => {
    await server.client.send(
      new UpdateCustomKeyStoreCommand({
        CustomKeyStoreId: mainId,
        NewCustomKeyStoreName: 'main-renamed',
      }),
    );
    assert.equal((await describeStore(mainId)).CustomKeyStoreName, 'main-renamed');
    await expectAwsError(
      server.client.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: mainId,
          KeyStorePassword: 'newpassword',
        }),
      ),
      'CustomKeyStoreInvalidStateException',
    );
    await expectAwsError(
      server.client.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: mainId,
          CloudHsmClusterId: C.mainRelated,
        }),
      ),
      'CustomKeyStoreInvalidStateException',
    );
    await expectAwsError(
      server.client.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: mainId })),
      'CustomKeyStoreInvalidStateException',
    );
  });

  let heldBlob: Buffer;

  it('Disconnect: DISCONNECTING is observable; keys become Unavailable and unusable (KMSInvalidStateException)', async () => {
    heldBlob = Buffer.from(
      (
        await server.client.send(
          new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept') }),
        )
      ).CiphertextBlob!,
    );
    await server.client.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: mainId }));
    assert.equal((await describeStore(mainId)).ConnectionState, 'DISCONNECTING');
    await waitState(mainId, 'DISCONNECTED');
    const md = (await server.client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
    assert.equal(md.KeyState, 'Unavailable');
    assert.equal(md.Enabled, false);
    const e = await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
    );
    assert.match(e.message, /is unavailable/);
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: heldBlob })),
      'KMSInvalidStateException',
    );
    await expectAwsError(
      server.client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })),
      'KMSInvalidStateException',
    );
    await expectAwsError(
      server.client.send(new CreateKeyCommand({ CustomKeyStoreId: mainId })),
      'CustomKeyStoreInvalidStateException',
    );
    await expectAwsError(
      server.client.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: mainId })),
      'CustomKeyStoreInvalidStateException',
    );
    await expectAwsError(
      server.client.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: mainId })),
      'CustomKeyStoreInvalidStateException',
    );
  });

  it('the PIN was rotated on connect: the original KeyStorePassword no longer logs in', async () => {
    await assert.rejects(
      Token.open(
        { modulePath: tokens.main!.modulePath, label: tokens.main!.label, exclusive: true },
        tokens.main!.userPin,
      ),
      (e: Pkcs11Error) => e.ckr === 'CKR_PIN_INCORRECT',
    );
  });

  it('neither the original nor the rotated password is stored in clear', async () => {
    const files = readdirSync(server.dataDir).filter((f) => f.startsWith('keyhold.db'));
    assert.ok(files.length > 0);
    const stored = await server.node.services.storage.customKeyStores.getStore('us-east-1', mainId);
    const rotated = server.node.services.customKeyStores!.openSecret(stored!);
    assert.notDeepEqual(rotated, Buffer.from(tokens.main!.userPin));
    assert.equal(rotated.length, 32);
    for (const f of files) {
      const bytes = readFileSync(join(server.dataDir, f));
      assert.equal(bytes.indexOf(Buffer.from(tokens.main!.userPin)), -1, `${f} holds the password`);
      assert.equal(bytes.indexOf(rotated), -1, `${f} holds the rotated password`);
    }
    rotated.fill(0);
  });

  it('reconnect: keys are Enabled again and old ciphertexts decrypt (the stored rotated PIN works)', async () => {
    await connect(mainId);
    assert.equal(
      (await server.client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState,
      'Enabled',
    );
    const dec = await server.client.send(new DecryptCommand({ CiphertextBlob: heldBlob }));
    assert.equal(Buffer.from(dec.Plaintext!).toString(), 'kept');
  });

  // ---- failures ----

  it('wrong password → FAILED / INVALID_CREDENTIALS; Connect on FAILED is refused; Disconnect, fix, reconnect', async () => {
    const id = await createStore('wrong-pin', C.wrongPin, 'not-the-pin');
    await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    const e = await waitState(id, 'FAILED');
    assert.equal(e.ConnectionErrorCode, 'INVALID_CREDENTIALS');
    await expectAwsError(
      server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id })),
      'CustomKeyStoreInvalidStateException',
    );
    await expectAwsError(
      server.client.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: id,
          KeyStorePassword: tokens.wrongPin!.userPin,
        }),
      ),
      'CustomKeyStoreInvalidStateException',
    );
    await disconnect(id);
    assert.equal((await describeStore(id)).ConnectionErrorCode, undefined);
    await server.client.send(
      new UpdateCustomKeyStoreCommand({
        CustomKeyStoreId: id,
        KeyStorePassword: tokens.wrongPin!.userPin,
      }),
    );
    await connect(id);
    await disconnect(id);
    await server.client.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    await expectAwsError(describeStore(id), 'CustomKeyStoreNotFoundException');
  });

  it('kmsuser already logged in elsewhere → FAILED / USER_LOGGED_IN', async () => {
    const id = await createStore('busy', C.busy, tokens.busy!.userPin);
    const other = await Token.open(
      { modulePath: tokens.busy!.modulePath, label: tokens.busy!.label },
      tokens.busy!.userPin,
    );
    try {
      await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
      assert.equal((await waitState(id, 'FAILED')).ConnectionErrorCode, 'USER_LOGGED_IN');
    } finally {
      other.close();
    }
    await disconnect(id);
    await connect(id);
    await disconnect(id);
  });

  it('no kmsuser on the token (user PIN never set) → FAILED / USER_NOT_FOUND', async () => {
    createSoftHsmToken({ label: 'kh-nouser-token', noUserPin: true });
    const id = await createStore('no-user', C.noUser, 'whatever-pin');
    await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    assert.equal((await waitState(id, 'FAILED')).ConnectionErrorCode, 'USER_NOT_FOUND');
    await disconnect(id);
  });

  it('Disconnect during CONNECTING wins: the store ends DISCONNECTED, not CONNECTED', async () => {
    const id = await createStore('race', C.unrelated, tokens.unrelated!.userPin);
    await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    await server.client.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    await waitState(id, 'DISCONNECTED');
    await server.node.services.customKeyStores!.settle();
    const e = await describeStore(id);
    assert.equal(e.ConnectionState, 'DISCONNECTED');
    assert.equal(connectorOf(server).isConnected({ customKeyStoreId: id } as never), false);
    // The PIN the cancelled connect set is kept as pending: the next connect still logs in.
    await connect(id);
    await disconnect(id);
  });

  // ---- update, describe ----

  it('UpdateCustomKeyStore while DISCONNECTED: related cluster yes, unrelated → CloudHsmClusterNotRelatedException, name clash', async () => {
    await disconnect(mainId);
    await expectAwsError(
      server.client.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: mainId,
          CloudHsmClusterId: C.wrongPin,
        }),
      ),
      'CloudHsmClusterNotRelatedException',
    );
    await expectAwsError(
      server.client.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: mainId,
          CloudHsmClusterId: 'cluster-unknownaaaaa',
        }),
      ),
      'CloudHsmClusterNotFoundException',
    );
    await expectAwsError(
      server.client.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: mainId,
          NewCustomKeyStoreName: 'race',
        }),
      ),
      'CustomKeyStoreNameInUseException',
    );
    await expectAwsError(
      server.client.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: mainId,
          XksProxyUriPath: '/kms/xks/v1',
        }),
      ),
      'ValidationException',
    );
    await expectAwsError(
      server.client.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: 'cks-00000000000000000',
          NewCustomKeyStoreName: 'x',
        }),
      ),
      'CustomKeyStoreNotFoundException',
    );
    await server.client.send(
      new UpdateCustomKeyStoreCommand({
        CustomKeyStoreId: mainId,
        CloudHsmClusterId: C.mainRelated,
      }),
    );
    assert.equal((await describeStore(mainId)).CloudHsmClusterId, C.mainRelated);
    await server.client.send(
      new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: mainId, CloudHsmClusterId: C.main }),
    );
  });

  it('DescribeCustomKeyStores: by name, unknown id/name, both filters, pagination and markers', async () => {
    const byName = await server.client.send(
      new DescribeCustomKeyStoresCommand({ CustomKeyStoreName: 'main-renamed' }),
    );
    assert.equal(byName.CustomKeyStores![0]!.CustomKeyStoreId, mainId);
    await expectAwsError(
      server.client.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreName: 'nope' })),
      'CustomKeyStoreNotFoundException',
    );
    await expectAwsError(
      server.client.send(
        new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'cks-00000000000000000' }),
      ),
      'CustomKeyStoreNotFoundException',
    );
    await expectAwsError(
      server.client.send(
        new DescribeCustomKeyStoresCommand({
          CustomKeyStoreId: mainId,
          CustomKeyStoreName: 'main-renamed',
        }),
      ),
      'ValidationException',
    );
    await expectAwsError(
      server.client.send(new DescribeCustomKeyStoresCommand({ Marker: 'garbage' })),
      'InvalidMarkerException',
    );
    const all = (
      await server.client.send(new DescribeCustomKeyStoresCommand({}))
    ).CustomKeyStores!.map((s) => s.CustomKeyStoreId);
    assert.ok(all.length >= 3);
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const p = await server.client.send(
        new DescribeCustomKeyStoresCommand({ Limit: 1, Marker: marker }),
      );
      assert.equal(p.CustomKeyStores!.length, 1);
      seen.push(p.CustomKeyStores![0]!.CustomKeyStoreId!);
      if (!p.Truncated) break;
      marker = p.NextMarker;
    }
    assert.deepEqual(seen, all);
  });

  // ---- deletion ----

  it('key deletion after the waiting period destroys the token object; then the store can be deleted', async () => {
    await connect(mainId);
    await expectAwsError(
      server.client.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: mainId })),
      'CustomKeyStoreInvalidStateException',
    );
    const keys = [
      keyId,
      (await server.client.send(new CreateKeyCommand({ CustomKeyStoreId: mainId }))).KeyMetadata!
        .KeyId!,
    ];
    for (const k of keys)
      await server.client.send(
        new ScheduleKeyDeletionCommand({ KeyId: k, PendingWindowInDays: 7 }),
      );
    const store = await server.node.services.storage.customKeyStores.getStore('us-east-1', mainId);
    const token = connectorOf(server).token(store!)!;
    token.forget(keyArn);
    assert.ok(await token.findKey(keyArn), 'still in the token during the waiting period');
    await disconnect(mainId);
    await expectAwsError(
      server.client.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: mainId })),
      'CustomKeyStoreHasCMKsException',
    );
    // PendingDeletion is kept (not Unavailable) while disconnected, so the deletion can be cancelled.
    assert.equal(
      (await server.client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState,
      'PendingDeletion',
    );
    await connect(mainId);
    server.clock.advance(8 * 86_400_000);
    try {
      await runJobsOnce(server.node.jobs);
    } finally {
      server.clock.advance(-8 * 86_400_000);
    }
    await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: keyId })),
      'NotFoundException',
    );
    const live = connectorOf(server).token(
      (await server.node.services.storage.customKeyStores.getStore('us-east-1', mainId))!,
    )!;
    live.forget(keyArn);
    assert.equal(await live.findKey(keyArn), undefined, 'the token object is destroyed');
    await disconnect(mainId);
    await server.client.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: mainId }));
    await expectAwsError(describeStore(mainId), 'CustomKeyStoreNotFoundException');
    await expectAwsError(
      server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: mainId })),
      'CustomKeyStoreNotFoundException',
    );
  });

  // ---- restart: resume, and a cluster that is gone ----

  it('after a restart a CONNECTED store is joined without a new rotation; a node that cannot join keeps the state but not the keys', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-cks-restart-'));
    let a: TestServer | undefined = await start(dataDir);
    let b: TestServer | undefined;
    const secretOf = async (s: TestServer, id: string) =>
      s.node.services.customKeyStores!.openSecret(
        (await s.node.services.storage.customKeyStores.getStore('us-east-1', id))!,
      );
    try {
      const id = await createStore('restart', C.restart, tokens.restart!.userPin, a);
      await connect(id, a);
      const k = (await a.client.send(new CreateKeyCommand({ CustomKeyStoreId: id }))).KeyMetadata!
        .KeyId!;
      const blob = (
        await a.client.send(
          new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('across restarts') }),
        )
      ).CiphertextBlob!;
      const before = await secretOf(a, id);
      await a.stop();
      a = undefined;
      b = await start(dataDir);
      assert.equal(
        (await b.client.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id })))
          .CustomKeyStores![0]!.ConnectionState,
        'CONNECTED',
      );
      const dec = await b.client.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(Buffer.from(dec.Plaintext!).toString(), 'across restarts');
      assert.equal(
        (await b.client.send(new DescribeKeyCommand({ KeyId: k }))).KeyMetadata!.KeyState,
        'Enabled',
      );
      assert.deepEqual(await secretOf(b, id), before, 'joining does not rotate the password');
      await b.stop();
      // This node's config names a token that is not there: it cannot join.
      b = await start(dataDir, { [C.restart]: ['kh-token-that-is-gone'] });
      const md = (await b.client.send(new DescribeKeyCommand({ KeyId: k }))).KeyMetadata!;
      assert.equal(md.KeyState, 'Unavailable');
      await expectAwsError(
        b.client.send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('x') })),
        'KMSInvalidStateException',
      );
      assert.equal(
        (await b.client.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id })))
          .CustomKeyStores![0]!.ConnectionState,
        'CONNECTED',
      );
      // An explicit Disconnect + Connect reports why: the cluster's token is gone.
      await b.client.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
      await waitState(id, 'DISCONNECTED', b);
      await b.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
      assert.equal((await waitState(id, 'FAILED', b)).ConnectionErrorCode, 'CLUSTER_NOT_FOUND');
      await expectAwsError(
        b.client.send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('x') })),
        'KMSInvalidStateException',
      );
    } finally {
      await a?.stop();
      await b?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('custom key store quota', { skip }, () => {
  it('10 custom key stores per account and Region; the 11th → LimitExceededException', async () => {
    const t = createSoftHsmToken();
    const tmp = mkdtempSync(join(tmpdir(), 'keyhold-cks-limit-'));
    const ca = readFileSync(makeCa(tmp, 'ca'), 'utf8');
    const ids = 'abcdefghijkl'.split('').map((c) => `cluster-limit${c.repeat(6)}`);
    const clusters = Object.fromEntries(
      ids.map((id) => [id, { module: t.modulePath, tokens: [t.label] }]),
    );
    const server = await startTestServer({
      env: { KEYHOLD_CLOUDHSM_CLUSTERS: JSON.stringify(clusters) },
    });
    try {
      const create = (i: number) =>
        server.client.send(
          new CreateCustomKeyStoreCommand({
            CustomKeyStoreName: `s${i}`,
            CloudHsmClusterId: ids[i],
            TrustAnchorCertificate: ca,
            KeyStorePassword: 'password1',
          }),
        );
      for (let i = 0; i < 10; i++) await create(i);
      await expectAwsError(create(10), 'LimitExceededException');
      // Seed 004 still answers a retry of an existing store at the limit.
      assert.match((await create(3)).CustomKeyStoreId!, /^cks-/);
    } finally {
      await server.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
