/**
 * External key stores end to end: @aws-sdk/client-kms → keyhold → keyhold xks-proxy (TLS with
 * a test CA, SigV4) → software key file. A misbehaving TLS interposer in front of the real
 * proxy provides the slow, garbage and tampering cases; a second proxy is rotated and stopped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
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
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  ReEncryptCommand,
  UpdateCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
} from '@aws-sdk/client-kms';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import {
  generateXksCredential,
  startTestXksProxy,
  type TestXksProxy,
} from '../helpers/xks-proxy.js';
import { flipBase64, startInterposer, type Interposer } from './xks-interposer.js';

describe('external key stores (EXTERNAL_KEY_STORE) end to end', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let xks: TestXksProxy; // the main proxy
  let xks2: TestXksProxy; // rotated, then stopped
  let bad: Interposer; // in front of `xks`, misbehaves on demand
  let server: TestServer;
  const seenByBackend: Buffer[] = [];

  before(async () => {
    pki = createTestPki({ serverNames: ['DNS:localhost', 'DNS:*.xks.test', 'IP:127.0.0.1'] });
    otherPki = createTestPki({ serverNames: ['DNS:localhost', 'DNS:*.xks.test'] });
    xks = await startTestXksProxy({
      pki,
      keys: [
        { id: 'foo' },
        { id: 'bar' },
        { id: 'baz' },
        { id: 'off', state: 'DISABLED' },
        { id: 'enc-only', usage: ['ENCRYPT'] },
      ],
    });
    xks2 = await startTestXksProxy({ pki, keys: [{ id: 'two' }], uriPrefix: '/tenant-2' });
    bad = await startInterposer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      upstreamPort: xks.port,
      upstreamCa: pki.caPem,
    });
    // Spy on what the external key manager is asked to encrypt (the real call still runs).
    const original = xks.backend.encrypt.bind(xks.backend);
    xks.backend.encrypt = async (id, pt, aad) => {
      seenByBackend.push(Buffer.from(pt));
      return original(id, pt, aad);
    };
    server = await startTestServer({
      env: {
        KEYHOLD_XKS_CLIENT_CA_FILE: pki.caPath,
        KEYHOLD_XKS_CLIENT_CONNECT_TO: [
          `good.xks.test=127.0.0.1:${xks.port}`,
          `bad.xks.test=127.0.0.1:${bad.port}`,
          `two.xks.test=127.0.0.1:${xks2.port}`,
          `cli.xks.test=127.0.0.1:${xks.port}`,
          `neg.xks.test=127.0.0.1:${xks.port}`,
        ].join(','),
        KEYHOLD_CUSTOM_KEY_STORE_TRANSITION_DELAY_MS: '100',
        // AWS's 250 ms deadline is too short for a first TLS handshake on a loaded 2-core CI
        // machine; the slow-proxy cases below delay 2000 ms, so 1000 ms still times them out.
        KEYHOLD_XKS_CLIENT_TIMEOUT_MS: '1000',
      },
    });
  });

  after(async () => {
    await server?.stop();
    await bad?.close();
    await xks?.stop();
    await xks2?.stop().catch(() => undefined);
    pki?.cleanup();
    otherPki?.cleanup();
  });

  const kms = () => server.client;

  async function describeStore(id: string): Promise<CustomKeyStoresListEntry> {
    const r = await kms().send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }));
    return r.CustomKeyStores![0]!;
  }

  async function waitState(id: string, want: string): Promise<CustomKeyStoresListEntry> {
    for (let i = 0; i < 400; i++) {
      const e = await describeStore(id);
      if (e.ConnectionState === want) return e;
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`store ${id} never reached ${want}`);
  }

  function createStore(
    name: string,
    host: string,
    proxy: TestXksProxy = xks,
    over: { path?: string; secret?: string } = {},
  ) {
    return kms().send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: name,
        CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
        XksProxyUriEndpoint: `https://${host}`,
        XksProxyUriPath: over.path ?? proxy.uriPath,
        XksProxyConnectivity: 'PUBLIC_ENDPOINT',
        XksProxyAuthenticationCredential: {
          AccessKeyId: proxy.credential.accessKeyId,
          RawSecretAccessKey: over.secret ?? proxy.credential.secretAccessKey,
        },
      }),
    );
  }

  async function connect(id: string): Promise<CustomKeyStoresListEntry> {
    await kms().send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    for (let i = 0; i < 400; i++) {
      const e = await describeStore(id);
      if (e.ConnectionState === 'CONNECTED' || e.ConnectionState === 'FAILED') return e;
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`store ${id} never finished connecting`);
  }

  async function disconnect(id: string): Promise<void> {
    await kms().send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    await waitState(id, 'DISCONNECTED');
  }

  const createXksKey = (storeId: string, xksKeyId: string) =>
    kms().send(
      new CreateKeyCommand({
        Origin: 'EXTERNAL_KEY_STORE',
        CustomKeyStoreId: storeId,
        XksKeyId: xksKeyId,
      }),
    );

  let mainId: string;
  let keyId: string;

  it('CreateCustomKeyStore checks the proxy (GetHealthStatus) and stores a DISCONNECTED store', async () => {
    const r = await createStore('xks-main', 'good.xks.test');
    mainId = r.CustomKeyStoreId!;
    assert.match(mainId, /^cks-[0-9a-f]{17}$/);
    const e = await describeStore(mainId);
    assert.equal(e.CustomKeyStoreType, 'EXTERNAL_KEY_STORE');
    assert.equal(e.ConnectionState, 'DISCONNECTED');
    assert.deepEqual(e.XksProxyConfiguration, {
      Connectivity: 'PUBLIC_ENDPOINT',
      AccessKeyId: xks.credential.accessKeyId,
      UriEndpoint: 'https://good.xks.test',
      UriPath: xks.uriPath,
    });
    assert.ok(!JSON.stringify(e).includes(xks.credential.secretAccessKey));
  });

  it('CreateCustomKeyStore refuses what the proxy refuses; nothing is stored', async () => {
    const wrongSecret = generateXksCredential().secretAccessKey;
    const cases: [string, Parameters<typeof createStore>, string][] = [
      [
        'wrong credential',
        ['c1', 'neg.xks.test', xks, { secret: wrongSecret }],
        'XksProxyIncorrectAuthenticationCredentialException',
      ],
      [
        'wrong path',
        ['c2', 'neg.xks.test', xks, { path: '/nope/kms/xks/v1' }],
        'XksProxyInvalidConfigurationException',
      ],
      ['no proxy there', ['c3', 'nothing.xks.test'], 'XksProxyUriUnreachableException'],
    ];
    for (const [what, args, code] of cases) {
      const e = await expectAwsError(createStore(...args), code);
      assert.ok(e.message.length > 0, what);
      await expectAwsError(
        kms().send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreName: args[0] })),
        'CustomKeyStoreNotFoundException',
      );
    }
    // Endpoint and path outside the model's patterns never reach a proxy.
    for (const [endpoint, path] of [
      ['http://good.xks.test', xks.uriPath],
      ['https://good.xks.test:8443', xks.uriPath],
      ['https://good.xks.test/path', xks.uriPath],
      ['https://neg.xks.test', '/example/uri/path/prefix'],
      ['https://neg.xks.test', '/prefix/kms/xks/v1/'],
    ]) {
      await expectAwsError(
        kms().send(
          new CreateCustomKeyStoreCommand({
            CustomKeyStoreName: 'c-pattern',
            CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
            XksProxyUriEndpoint: endpoint,
            XksProxyUriPath: path,
            XksProxyConnectivity: 'PUBLIC_ENDPOINT',
            XksProxyAuthenticationCredential: {
              AccessKeyId: xks.credential.accessKeyId,
              RawSecretAccessKey: xks.credential.secretAccessKey,
            },
          }),
        ),
        'ValidationException',
      );
    }
    // An untrusted certificate.
    bad.useCert(otherPki.server.certPem, otherPki.server.keyPem);
    try {
      const e = await expectAwsError(
        createStore('c4', 'bad.xks.test'),
        'XksProxyUriUnreachableException',
      );
      assert.match(e.message, /cannot establish a TLS connection/);
    } finally {
      bad.useCert(pki.server.certPem, pki.server.keyPem);
    }
    // A slow proxy (> 250 ms) and a proxy answering garbage.
    bad.mode = { kind: 'delay', ms: 2000 };
    await expectAwsError(createStore('c5', 'bad.xks.test'), 'XksProxyUriUnreachableException');
    bad.mode = { kind: 'garbage', body: '{"hello":' };
    await expectAwsError(createStore('c6', 'bad.xks.test'), 'XksProxyInvalidResponseException');
    bad.mode = { kind: 'pass' };
  });

  it('ConnectCustomKeyStore: CONNECTING, then CONNECTED after GetHealthStatus', async () => {
    await kms().send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: mainId }));
    assert.equal((await describeStore(mainId)).ConnectionState, 'CONNECTING');
    const e = await waitState(mainId, 'CONNECTED');
    assert.equal(e.ConnectionErrorCode, undefined);
  });

  it('CreateKey with XksKeyId: GetKeyMetadata checks; DescribeKey shows XksKeyConfiguration', async () => {
    const r = await createXksKey(mainId, 'foo');
    const md = r.KeyMetadata!;
    keyId = md.KeyId!;
    assert.equal(md.Origin, 'EXTERNAL_KEY_STORE');
    assert.equal(md.CustomKeyStoreId, mainId);
    assert.deepEqual(md.XksKeyConfiguration, { Id: 'foo' });
    assert.equal(md.KeySpec, 'SYMMETRIC_DEFAULT');
    const d = await kms().send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.deepEqual(d.KeyMetadata!.XksKeyConfiguration, { Id: 'foo' });
    assert.equal(d.KeyMetadata!.KeyState, 'Enabled');

    await expectAwsError(createXksKey(mainId, 'foo'), 'XksKeyAlreadyInUseException');
    const nf = await expectAwsError(createXksKey(mainId, 'no-such-key'), 'XksKeyNotFoundException');
    assert.match(nf.message, /not found/);
    const off = await expectAwsError(
      createXksKey(mainId, 'off'),
      'XksKeyInvalidConfigurationException',
    );
    assert.match(off.message, /must be ENABLED/);
    const usage = await expectAwsError(
      createXksKey(mainId, 'enc-only'),
      'XksKeyInvalidConfigurationException',
    );
    assert.match(usage.message, /must include ENCRYPT and DECRYPT/);
  });

  it('Encrypt / Decrypt / GenerateDataKey* / ReEncrypt round trips; the proxy never sees plaintext', async () => {
    seenByBackend.length = 0;
    const plaintext = randomBytes(300);
    const ec = { tenant: 'a', purpose: 'xks' };
    const enc = await kms().send(
      new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: ec }),
    );
    const dec = await kms().send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec }),
    );
    assert.deepEqual(Buffer.from(dec.Plaintext!), plaintext);
    assert.ok(dec.KeyId!.endsWith(keyId));

    const gdk = await kms().send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    const dk = await kms().send(new DecryptCommand({ CiphertextBlob: gdk.CiphertextBlob }));
    assert.deepEqual(Buffer.from(dk.Plaintext!), Buffer.from(gdk.Plaintext!));
    const gwp = await kms().send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 64 }),
    );
    const dk2 = await kms().send(new DecryptCommand({ CiphertextBlob: gwp.CiphertextBlob }));
    assert.equal(dk2.Plaintext!.length, 64);

    // ReEncrypt to a standard key and back to the external key.
    const std = await kms().send(new CreateKeyCommand({}));
    const toStd = await kms().send(
      new ReEncryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        SourceEncryptionContext: ec,
        DestinationKeyId: std.KeyMetadata!.KeyId!,
      }),
    );
    const back = await kms().send(
      new ReEncryptCommand({ CiphertextBlob: toStd.CiphertextBlob, DestinationKeyId: keyId }),
    );
    const final = await kms().send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob }));
    assert.deepEqual(Buffer.from(final.Plaintext!), plaintext);

    // What the external key manager saw: only keyhold's inner blobs (plaintext + 94 bytes,
    // v1 format naming the KMS key), never the plaintext or a data key.
    assert.equal(seenByBackend.length, 4);
    const keyIdBytes = Buffer.from(keyId.replace(/-/g, ''), 'hex');
    for (const seen of seenByBackend) {
      assert.equal(seen[0], 0x01);
      assert.deepEqual(seen.subarray(2, 18), keyIdBytes);
      assert.equal(seen.indexOf(plaintext), -1);
      assert.equal(seen.indexOf(Buffer.from(gdk.Plaintext!)), -1);
    }
    assert.equal(seenByBackend[0]!.length, plaintext.length + 94);
    assert.equal(seenByBackend[1]!.length, 32 + 94);
  });

  it('a wrong encryption context or a changed blob: KMSInvalidStateException from the proxy side', async () => {
    const enc = await kms().send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from('hi'),
        EncryptionContext: { a: '1' },
      }),
    );
    const e = await expectAwsError(
      kms().send(
        new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: '2' } }),
      ),
      'KMSInvalidStateException',
    );
    assert.match(e.message, /ciphertext or encryption context is corrupted/);
    const blob = Buffer.from(enc.CiphertextBlob!);
    blob[blob.length - 1] = (blob[blob.length - 1] as number) ^ 1;
    await expectAwsError(
      kms().send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { a: '1' } })),
      'KMSInvalidStateException',
    );
  });

  it('a disabled external key: crypto fails with KMSInvalidStateException until re-enabled', async () => {
    await xks.setKeyState('foo', 'DISABLED');
    try {
      const e = await expectAwsError(
        kms().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
        'KMSInvalidStateException',
      );
      assert.match(e.message, /not enabled in the external key manager/);
    } finally {
      await xks.setKeyState('foo', 'ENABLED');
    }
    await kms().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
  });

  it('a slow, garbage-answering or tampering proxy: KMSInvalidStateException, nothing else', async () => {
    const id = (await createStore('xks-bad', 'bad.xks.test')).CustomKeyStoreId!;
    assert.equal((await connect(id)).ConnectionState, 'CONNECTED');
    const k = (await createXksKey(id, 'bar')).KeyMetadata!.KeyId!;
    // requestMetadata as KMS fills it: operation, request id, caller, key ARN; no VPC fields.
    bad.seen.length = 0;
    const g = await kms().send(new GenerateDataKeyCommand({ KeyId: k, NumberOfBytes: 16 }));
    const rd = await kms().send(
      new ReEncryptCommand({ CiphertextBlob: g.CiphertextBlob, DestinationKeyId: k }),
    );
    const arn = `arn:aws:kms:us-east-1:111122223333:key/${k}`;
    assert.deepEqual(
      bad.seen.map((r) => [r.api, r.body.requestMetadata]),
      [
        [
          'encrypt',
          {
            kmsOperation: 'GenerateDataKey',
            kmsRequestId: g.$metadata.requestId,
            awsPrincipalArn: 'arn:aws:iam::111122223333:root',
            kmsKeyArn: arn,
          },
        ],
        [
          'decrypt',
          {
            kmsOperation: 'ReEncrypt',
            kmsRequestId: rd.$metadata.requestId,
            awsPrincipalArn: 'arn:aws:iam::111122223333:root',
            kmsKeyArn: arn,
          },
        ],
        [
          'encrypt',
          {
            kmsOperation: 'ReEncrypt',
            kmsRequestId: rd.$metadata.requestId,
            awsPrincipalArn: 'arn:aws:iam::111122223333:root',
            kmsKeyArn: arn,
          },
        ],
      ],
    );
    const ok = await kms().send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('data') }));
    const encrypt = () =>
      kms().send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('data') }));
    const decrypt = () => kms().send(new DecryptCommand({ CiphertextBlob: ok.CiphertextBlob }));
    try {
      bad.mode = { kind: 'delay', ms: 2000 };
      const t0 = Date.now();
      const slow = await expectAwsError(encrypt(), 'KMSInvalidStateException');
      assert.match(slow.message, /did not respond in time/);
      assert.ok(Date.now() - t0 < 1900, 'gave up before the proxy answered');

      bad.mode = { kind: 'garbage', body: 'not json at all' };
      assert.match(
        (await expectAwsError(decrypt(), 'KMSInvalidStateException')).message,
        /cannot interpret/,
      );

      bad.mode = {
        kind: 'rewrite',
        rewrite: (api, _s, j) =>
          api === 'encrypt' ? { ...j, ciphertext: flipBase64(j.ciphertext) } : j,
      };
      assert.match(
        (await expectAwsError(encrypt(), 'KMSInvalidStateException')).message,
        /cannot interpret/,
      );

      bad.mode = {
        kind: 'rewrite',
        rewrite: (api, _s, j) =>
          api === 'decrypt' ? { ...j, plaintext: flipBase64(j.plaintext, 90) } : j,
      };
      assert.match(
        (await expectAwsError(decrypt(), 'KMSInvalidStateException')).message,
        /The ciphertext that the external key store proxy submitted for decryption/,
      );
    } finally {
      bad.mode = { kind: 'pass' };
    }
    const again = await decrypt();
    assert.equal(Buffer.from(again.Plaintext!).toString(), 'data');

    // Connect-time failures leave the store FAILED with the connection error code.
    await disconnect(id);
    const failures: [Interposer['mode'] | 'cert', string][] = [
      [{ kind: 'delay', ms: 2000 }, 'XKS_PROXY_TIMED_OUT'],
      [{ kind: 'garbage', body: '[]' }, 'XKS_PROXY_INVALID_RESPONSE'],
      ['cert', 'XKS_PROXY_INVALID_TLS_CONFIGURATION'],
    ];
    for (const [mode, code] of failures) {
      if (mode === 'cert') bad.useCert(otherPki.server.certPem, otherPki.server.keyPem);
      else bad.mode = mode;
      try {
        const e = await connect(id);
        assert.equal(e.ConnectionState, 'FAILED');
        assert.equal(e.ConnectionErrorCode, code);
        // FAILED keys are unavailable.
        const d = await kms().send(new DescribeKeyCommand({ KeyId: k }));
        assert.equal(d.KeyMetadata!.KeyState, 'Unavailable');
        await expectAwsError(encrypt(), 'KMSInvalidStateException');
      } finally {
        bad.mode = { kind: 'pass' };
        bad.useCert(pki.server.certPem, pki.server.keyPem);
      }
      await disconnect(id);
    }
  });

  it('credential rotation, wrong credential (INVALID_CREDENTIALS), stopped proxy (XKS_PROXY_NOT_REACHABLE)', async () => {
    const id = (await createStore('xks-two', 'two.xks.test', xks2)).CustomKeyStoreId!;
    assert.equal((await connect(id)).ConnectionState, 'CONNECTED');
    const k = (await createXksKey(id, 'two')).KeyMetadata!.KeyId!;
    const blob = (await kms().send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('r') })))
      .CiphertextBlob!;

    // Rotation while CONNECTED: add the new credential on the proxy, update keyhold, retire the old.
    const old = xks2.credential;
    const fresh = generateXksCredential();
    xks2.setCredentials([old, fresh]);
    await kms().send(
      new UpdateCustomKeyStoreCommand({
        CustomKeyStoreId: id,
        XksProxyAuthenticationCredential: {
          AccessKeyId: fresh.accessKeyId,
          RawSecretAccessKey: fresh.secretAccessKey,
        },
      }),
    );
    xks2.setCredentials([fresh]);
    await kms().send(new DecryptCommand({ CiphertextBlob: blob }));
    assert.equal((await describeStore(id)).XksProxyConfiguration!.AccessKeyId, fresh.accessKeyId);

    // An update the proxy rejects is refused and changes nothing.
    await expectAwsError(
      kms().send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: id,
          XksProxyAuthenticationCredential: {
            AccessKeyId: old.accessKeyId,
            RawSecretAccessKey: old.secretAccessKey,
          },
        }),
      ),
      'XksProxyIncorrectAuthenticationCredentialException',
    );

    // The proxy drops keyhold's credential: crypto fails, a new connect fails INVALID_CREDENTIALS.
    xks2.setCredentials([generateXksCredential()]);
    const e = await expectAwsError(
      kms().send(new DecryptCommand({ CiphertextBlob: blob })),
      'KMSInvalidStateException',
    );
    assert.match(e.message, /could not authenticate AWS KMS/);
    await disconnect(id);
    const failed = await connect(id);
    assert.equal(failed.ConnectionState, 'FAILED');
    assert.equal(failed.ConnectionErrorCode, 'INVALID_CREDENTIALS');
    await disconnect(id);
    xks2.setCredentials([fresh]);
    assert.equal((await connect(id)).ConnectionState, 'CONNECTED');

    // The proxy stops.
    await xks2.stop();
    const down = await expectAwsError(
      kms().send(new DecryptCommand({ CiphertextBlob: blob })),
      'KMSInvalidStateException',
    );
    assert.match(down.message, /cannot communicate with the external key store proxy/);
    await disconnect(id);
    const d = await connect(id);
    assert.equal(d.ConnectionState, 'FAILED');
    assert.equal(d.ConnectionErrorCode, 'XKS_PROXY_NOT_REACHABLE');
    await disconnect(id);
  });

  it('DisconnectCustomKeyStore makes keys Unavailable; DeleteCustomKeyStore', async () => {
    await disconnect(mainId);
    const d = await kms().send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(d.KeyMetadata!.KeyState, 'Unavailable');
    await expectAwsError(
      kms().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
    );
    await expectAwsError(
      kms().send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: mainId })),
      'CustomKeyStoreHasCMKsException',
    );
  });

  it('metrics: XKS latency and outcomes per store, credential age', async () => {
    const res = await fetch(server.metricsUrl ?? '');
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(
      text,
      new RegExp(
        `keyhold_xks_client_requests_total\\{custom_key_store_id="${mainId}",operation="Encrypt",outcome="success"\\} [1-9]`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `keyhold_xks_client_request_duration_seconds_bucket\\{le="0.25",custom_key_store_id="${mainId}",operation="Decrypt"\\} [1-9]`,
      ),
    );
    assert.match(text, /keyhold_xks_client_requests_total\{[^}]*outcome="Timeout"\} [1-9]/);
    assert.match(
      text,
      /keyhold_xks_client_requests_total\{[^}]*outcome="AuthenticationFailedException"\} [1-9]/,
    );
    assert.match(
      text,
      new RegExp(
        `keyhold_xks_client_credential_age_seconds\\{custom_key_store_id="${mainId}"\\} \\d`,
      ),
    );
  });

  it('AWS CLI: aws kms create-custom-key-store --custom-key-store-type EXTERNAL_KEY_STORE', async () => {
    const cli = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
    const args = [
      'kms',
      'create-custom-key-store',
      '--endpoint-url',
      server.url,
      '--custom-key-store-name',
      'xks-cli',
      '--custom-key-store-type',
      'EXTERNAL_KEY_STORE',
      '--xks-proxy-uri-endpoint',
      'https://cli.xks.test',
      '--xks-proxy-uri-path',
      '/example/uri/path/prefix/kms/xks/v1',
      '--xks-proxy-connectivity',
      'PUBLIC_ENDPOINT',
      '--xks-proxy-authentication-credential',
      `AccessKeyId=${xks.credential.accessKeyId},RawSecretAccessKey=${xks.credential.secretAccessKey}`,
    ];
    const out = await runCli(cli, args);
    assert.equal(out.code, 0, out.stderr);
    const id = (JSON.parse(out.stdout) as { CustomKeyStoreId: string }).CustomKeyStoreId;
    const e = await describeStore(id);
    assert.equal(e.CustomKeyStoreType, 'EXTERNAL_KEY_STORE');
    assert.equal(e.XksProxyConfiguration!.UriEndpoint, 'https://cli.xks.test');
    // The same endpoint and path again: XksProxyUriInUseException (CLI exit code 254, v1: 255).
    const again = await runCli(cli, [...args.slice(0, 5), 'xks-cli-2', ...args.slice(6)]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /XksProxyUriInUseException/);
    // A store without keys can be deleted.
    await kms().send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    await expectAwsError(
      kms().send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id })),
      'CustomKeyStoreNotFoundException',
    );
  });
});

let cliConfigPath: string | undefined;
function cliConfig(): string {
  if (cliConfigPath === undefined) {
    cliConfigPath = join(mkdtempSync(join(tmpdir(), 'keyhold-xks-cli-')), 'config');
    writeFileSync(cliConfigPath, '[default]\ncli_follow_urlparam = false\n');
  }
  return cliConfigPath;
}

function runCli(
  cli: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      cli,
      args,
      {
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: process.env['HOME'] ?? '/tmp',
          AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_PAGER: '',
          // AWS CLI v1 would fetch an https:// parameter value as a URL (v2 never does).
          AWS_CONFIG_FILE: cliConfig(),
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_MAX_ATTEMPTS: '1',
        },
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
        }),
    ),
  );
}
