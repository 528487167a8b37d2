/**
 * The XKS client against keyhold's real XKS proxy (TLS with a test CA, SigV4, software key
 * file), with a misbehaving TLS interposer in front of it for the failure cases. Every
 * failure must come out as the AWS exception / connection error code of the table in
 * src/keystores/xks/xks-errors.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { decodeSymmetricBlob } from '../../src/hsm/ciphertext-blob.js';
import { DomainKeys } from '../../src/kms/crypto/domain-keys.js';
import type { BackingKeyHandle } from '../../src/hsm/hsm.js';
import { derivePurposeKey, loadRootKey } from '../../src/hsm/root-key.js';
import { SoftwareHsm } from '../../src/hsm/software-hsm.js';
import type { XksEndpoint, XksTransport } from '../../src/keystores/xks/xks-client.js';
import { XksStores } from '../../src/keystores/xks/xks-stores.js';
import { registry } from '../../src/metrics/registry.js';
import { KmsError } from '../../src/errors/aws-errors.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { startTestXksProxy, type TestXksProxy } from '../helpers/xks-proxy.js';
import { closedPort, flipBase64, startInterposer, type Interposer } from './xks-interposer.js';

const META = { kmsOperation: 'ConnectCustomKeyStore', kmsRequestId: 'req-1' };
const PRINCIPAL = 'arn:aws:iam::111122223333:user/alice';
const CRYPTO_META = {
  kmsOperation: 'Encrypt',
  kmsRequestId: 'req-3',
  awsPrincipalArn: PRINCIPAL,
  kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000',
};

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KmsError, `expected KmsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

describe('XKS client against the real proxy', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let xks: TestXksProxy;
  let bad: Interposer; // misbehaves on demand
  let foreign: Interposer; // certificate from an untrusted CA
  let transport: XksTransport;
  let stores: XksStores;
  let hsm: SoftwareHsm;
  let storage: SqliteStorage;
  let dir: string;
  const logLines: string[] = [];

  const endpoint = (host: string, over: Partial<XksEndpoint> = {}): XksEndpoint => ({
    uriEndpoint: `https://${host}`,
    uriPath: xks.uriPath,
    accessKeyId: xks.credential.accessKeyId,
    secretAccessKey: xks.credential.secretAccessKey,
    region: 'us-east-1',
    ...over,
  });

  const handle = (): BackingKeyHandle => {
    const keyId = randomUUID();
    const keyArn = `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;
    const versionId = randomBytes(32).toString('hex');
    return { keyId, keyArn, versionId, ...hsm.createBackingKey({ keyArn, versionId }) };
  };

  before(async () => {
    pki = createTestPki({ serverNames: ['DNS:localhost', 'DNS:*.xks.test', 'IP:127.0.0.1'] });
    otherPki = createTestPki({ serverNames: ['DNS:localhost', 'DNS:*.xks.test'] });
    xks = await startTestXksProxy({
      pki,
      keys: [
        { id: 'foo' },
        { id: 'off', state: 'DISABLED' },
        { id: 'enc-only', usage: ['ENCRYPT'] },
      ],
    });
    bad = await startInterposer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      upstreamPort: xks.port,
      upstreamCa: pki.caPem,
    });
    foreign = await startInterposer({
      cert: otherPki.server.certPem,
      key: otherPki.server.keyPem,
      upstreamPort: xks.port,
      upstreamCa: pki.caPem,
    });
    const down = await closedPort();
    transport = {
      // AWS's deadline is 250 ms (the product default); the tests allow 1 s so that a loaded
      // CI machine does not turn a slow answer into XKS_PROXY_TIMED_OUT. Timeouts are
      // provoked with delays well past it.
      timeoutMs: 1000,
      extraCa: [pki.caPem],
      connectTo: new Map([
        ['good.xks.test', { host: '127.0.0.1', port: xks.port }],
        ['bad.xks.test', { host: '127.0.0.1', port: bad.port }],
        ['foreign.xks.test', { host: '127.0.0.1', port: foreign.port }],
        ['down.xks.test', { host: '127.0.0.1', port: down }],
        // The proxy's certificate does not name this host.
        ['unnamed.example', { host: '127.0.0.1', port: xks.port }],
      ]),
    };
    dir = mkdtempSync(join(tmpdir(), 'keyhold-xksc-'));
    storage = new SqliteStorage(join(dir, 'keyhold.db'));
    const root = loadRootKey({ dataDir: dir });
    hsm = new SoftwareHsm(
      derivePurposeKey(root.key, 'domain-key-wrap'),
      derivePurposeKey(root.key, 'secret-seal'),
    );
    await DomainKeys.open(storage, hsm, new Date());
    stores = new XksStores({
      hsm,
      transport,
      healthCheckIntervalMs: 0,
      logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
    });
  });

  after(async () => {
    stores.close();
    await bad.close();
    await foreign.close();
    await xks.stop();
    await storage.close();
    pki.cleanup();
    otherPki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GetHealthStatus with the right settings passes; connect gives CONNECTED', async () => {
    await stores.checkSettings('cks-good', endpoint('good.xks.test'), META);
    assert.deepEqual(await stores.connect('cks-good', endpoint('good.xks.test'), META), {
      state: 'CONNECTED',
    });
    assert.equal(stores.isConnected('cks-good'), true);
  });

  it('signs as KMS: SigV4 service kms-xks-proxy, host and x-amz-date only; requestMetadata', async () => {
    bad.mode = { kind: 'pass' };
    bad.seen.length = 0;
    await stores.connect('cks-seen', endpoint('bad.xks.test'), META);
    const h = handle();
    await stores.encrypt('cks-seen', h, 'foo', Buffer.from('x'), undefined, Buffer.alloc(51), {
      kmsOperation: 'GenerateDataKey',
      kmsRequestId: 'req-2',
      awsPrincipalArn: PRINCIPAL,
      kmsKeyArn: h.keyArn,
    });
    stores.disconnect('cks-seen');
    const [health, enc] = bad.seen;
    assert.equal(health?.api, 'health');
    assert.match(
      String(health?.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=[A-Z2-7]+\/\d{8}\/us-east-1\/kms-xks-proxy\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    assert.equal(health?.headers.host, 'bad.xks.test');
    assert.deepEqual(health?.body.requestMetadata, META);
    assert.equal(enc?.api, 'encrypt');
    assert.deepEqual(enc?.body.requestMetadata, {
      kmsOperation: 'GenerateDataKey',
      kmsRequestId: 'req-2',
      awsPrincipalArn: PRINCIPAL,
      kmsKeyArn: h.keyArn,
    });
    assert.equal(enc?.body.encryptionAlgorithm, 'AES_GCM');
    assert.equal(enc?.body.ciphertextDataIntegrityValueAlgorithm, 'SHA_256');
  });

  it('GetKeyMetadata: enabled AES_256 ENCRYPT+DECRYPT passes; others are refused as AWS does', async () => {
    await stores.checkExternalKey('cks-good', 'foo', { ...CRYPTO_META, kmsOperation: 'CreateKey' });
    await rejectsWith(
      stores.checkExternalKey('cks-good', 'off', CRYPTO_META),
      'XksKeyInvalidConfigurationException',
      /^The status of the external key must be ENABLED\. The status of specified external key is DISABLED\.$/,
    );
    await rejectsWith(
      stores.checkExternalKey('cks-good', 'enc-only', CRYPTO_META),
      'XksKeyInvalidConfigurationException',
      /must include ENCRYPT and DECRYPT\. The key use of specified external key is ENCRYPT\.$/,
    );
    await rejectsWith(
      stores.checkExternalKey('cks-good', 'nope', CRYPTO_META),
      'XksKeyNotFoundException',
      /was not found in its external key manager/,
    );
    await rejectsWith(
      stores.checkExternalKey('cks-never-connected', 'foo', META),
      'CustomKeyStoreInvalidStateException',
      /not connected/,
    );
  });

  it('double encryption: the proxy sees only the inner blob, never the plaintext', async () => {
    const seen: Buffer[] = [];
    const backend = xks.backend;
    const original = backend.encrypt.bind(backend);
    backend.encrypt = async (id, pt, aad) => {
      seen.push(Buffer.from(pt));
      return original(id, pt, aad);
    };
    try {
      const h = handle();
      const secret = randomBytes(32);
      const ec = { purpose: 'test' };
      const aad = Buffer.concat([Buffer.from('header'), randomBytes(8)]);
      const meta = CRYPTO_META;
      const payload = await stores.encrypt('cks-good', h, 'foo', secret, ec, aad, meta);
      assert.equal(seen.length, 1);
      const inner = seen[0] as Buffer;
      assert.equal(inner.length, secret.length + 94, 'the proxy gets the v1 blob (plaintext + 94)');
      assert.equal(inner.indexOf(secret), -1, 'the plaintext is not in what the proxy saw');
      const parts = decodeSymmetricBlob(inner);
      assert.equal(parts.keyId, h.keyId);
      assert.equal(parts.versionId, h.versionId);
      assert.equal(payload.indexOf(secret), -1);
      const back = await stores.decrypt('cks-good', h, 'foo', payload, ec, aad, meta);
      assert.deepEqual(back, secret);
      // Another blob header or context (the blob AAD): the proxy's AES-GCM refuses.
      const otherAad = Buffer.from(aad);
      otherAad[0] = (otherAad[0] as number) ^ 1;
      await rejectsWith(
        stores.decrypt('cks-good', h, 'foo', payload, ec, otherAad, meta),
        'KMSInvalidStateException',
        /specified ciphertext or encryption context is corrupted/,
      );
      // Same proxy AAD but another context for the inner layer: keyhold's HBK layer refuses.
      await rejectsWith(
        stores.decrypt('cks-good', h, 'foo', payload, { purpose: 'other' }, aad, meta),
        'KMSInvalidStateException',
        /submitted for decryption, or the encryption context, is corrupted/,
      );
      // Another KMS key (another HBK) over the same external key cannot decrypt it.
      await rejectsWith(
        stores.decrypt('cks-good', handle(), 'foo', payload, ec, aad, meta),
        'KMSInvalidStateException',
        /submitted for decryption, or the encryption context, is corrupted/,
      );
      // A truncated payload never reaches the proxy.
      await rejectsWith(
        stores.decrypt('cks-good', h, 'foo', payload.subarray(0, 20), ec, aad, meta),
        'InvalidCiphertextException',
      );
    } finally {
      backend.encrypt = original;
    }
  });

  it('a disabled external key fails crypto with KMSInvalidStateException', async () => {
    const h = handle();
    await rejectsWith(
      stores.encrypt(
        'cks-good',
        h,
        'off',
        Buffer.from('x'),
        undefined,
        Buffer.alloc(1),
        CRYPTO_META,
      ),
      'KMSInvalidStateException',
      /is not enabled in the external key manager/,
    );
    await rejectsWith(
      stores.encrypt(
        'cks-good',
        h,
        'gone',
        Buffer.from('x'),
        undefined,
        Buffer.alloc(1),
        CRYPTO_META,
      ),
      'KMSInvalidStateException',
      /was not found in its external key manager/,
    );
  });

  it('wrong credential: XksProxyIncorrectAuthenticationCredentialException / INVALID_CREDENTIALS', async () => {
    const wrong = endpoint('good.xks.test', {
      secretAccessKey: randomBytes(32).toString('base64').replace(/=+$/, ''),
    });
    await rejectsWith(
      stores.checkSettings('cks-x', wrong, META),
      'XksProxyIncorrectAuthenticationCredentialException',
      /could not authenticate AWS KMS/,
    );
    assert.deepEqual(await stores.connect('cks-x', wrong, META), {
      state: 'FAILED',
      connectionErrorCode: 'INVALID_CREDENTIALS',
    });
    assert.equal(stores.isConnected('cks-x'), false);
  });

  it('wrong URI path: XksProxyInvalidConfigurationException / XKS_PROXY_INVALID_CONFIGURATION', async () => {
    const wrong = endpoint('good.xks.test', { uriPath: '/wrong/prefix/kms/xks/v1' });
    await rejectsWith(
      stores.checkSettings('cks-x', wrong, META),
      'XksProxyInvalidConfigurationException',
      /invalid URI path/,
    );
    assert.deepEqual(await stores.connect('cks-x', wrong, META), {
      state: 'FAILED',
      connectionErrorCode: 'XKS_PROXY_INVALID_CONFIGURATION',
    });
  });

  it('proxy down: XksProxyUriUnreachableException / XKS_PROXY_NOT_REACHABLE', async () => {
    await rejectsWith(
      stores.checkSettings('cks-x', endpoint('down.xks.test'), META),
      'XksProxyUriUnreachableException',
      /cannot communicate with the external key store proxy/,
    );
    assert.deepEqual(await stores.connect('cks-x', endpoint('down.xks.test'), META), {
      state: 'FAILED',
      connectionErrorCode: 'XKS_PROXY_NOT_REACHABLE',
    });
  });

  it('untrusted CA or a certificate for another name: XKS_PROXY_INVALID_TLS_CONFIGURATION', async () => {
    for (const host of ['foreign.xks.test', 'unnamed.example']) {
      await rejectsWith(
        stores.checkSettings('cks-x', endpoint(host), META),
        'XksProxyUriUnreachableException',
        /cannot establish a TLS connection/,
      );
      assert.deepEqual(await stores.connect('cks-x', endpoint(host), META), {
        state: 'FAILED',
        connectionErrorCode: 'XKS_PROXY_INVALID_TLS_CONFIGURATION',
      });
    }
    // And the system roots alone do not trust the test CA.
    const strict = new XksStores({
      hsm,
      transport: { ...transport, extraCa: [] },
      healthCheckIntervalMs: 0,
    });
    assert.deepEqual(await strict.connect('cks-x', endpoint('good.xks.test'), META), {
      state: 'FAILED',
      connectionErrorCode: 'XKS_PROXY_INVALID_TLS_CONFIGURATION',
    });
  });

  it('slow proxy (past the deadline): timed out at the deadline, XKS_PROXY_TIMED_OUT', async () => {
    bad.mode = { kind: 'delay', ms: 2000 };
    try {
      const t0 = Date.now();
      await rejectsWith(
        stores.checkSettings('cks-x', endpoint('bad.xks.test'), META),
        'XksProxyUriUnreachableException',
        /did not respond in time/,
      );
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 995 && elapsed < 1950, `gave up after ${elapsed} ms`);
      assert.deepEqual(await stores.connect('cks-x', endpoint('bad.xks.test'), META), {
        state: 'FAILED',
        connectionErrorCode: 'XKS_PROXY_TIMED_OUT',
      });
      // A connected store whose proxy turns slow: crypto fails with KMSInvalidStateException.
      bad.mode = { kind: 'pass' };
      await stores.connect('cks-slow', endpoint('bad.xks.test'), META);
      bad.mode = { kind: 'delay', ms: 2000 };
      await rejectsWith(
        stores.encrypt(
          'cks-slow',
          handle(),
          'foo',
          Buffer.from('x'),
          undefined,
          Buffer.alloc(1),
          CRYPTO_META,
        ),
        'KMSInvalidStateException',
        /did not respond in time/,
      );
      // A proxy that answers within the deadline is fine.
      bad.mode = { kind: 'delay', ms: 30 };
      await stores.encrypt(
        'cks-slow',
        handle(),
        'foo',
        Buffer.from('x'),
        undefined,
        Buffer.alloc(1),
        CRYPTO_META,
      );
    } finally {
      bad.mode = { kind: 'pass' };
      stores.disconnect('cks-slow');
    }
  });

  it('a timed-out exchange that finishes late keeps its keep-alive socket (no new TLS handshake)', async () => {
    const encrypt = () =>
      stores.encrypt(
        'cks-reuse',
        handle(),
        'foo',
        Buffer.from('x'),
        undefined,
        Buffer.alloc(1),
        CRYPTO_META,
      );
    try {
      bad.mode = { kind: 'pass' };
      await stores.connect('cks-reuse', endpoint('bad.xks.test'), META);
      await encrypt(); // a socket in the store's pool
      const before = bad.handshakes;
      bad.mode = { kind: 'delay', ms: 1500 };
      await rejectsWith(encrypt(), 'KMSInvalidStateException', /did not respond in time/);
      await new Promise((r) => setTimeout(r, 1800)); // the late answer arrives
      bad.mode = { kind: 'pass' };
      await encrypt();
      // Destroying the socket at the deadline would cost a handshake per slow moment, which
      // under load slows the proxy further (the bench once collapsed that way).
      assert.equal(bad.handshakes, before);
    } finally {
      bad.mode = { kind: 'pass' };
      stores.disconnect('cks-reuse');
    }
  });

  it('garbage answers: XksProxyInvalidResponseException / XKS_PROXY_INVALID_RESPONSE', async () => {
    const cases: { status?: number; body: string }[] = [
      { body: 'this is not json' },
      { body: '{"xksProxyFleetSize": "two"}' },
      { body: '[]' },
      { status: 418, body: '{"errorName":"TeapotException"}' },
      { status: 500, body: '<html>oops</html>' },
    ];
    try {
      for (const c of cases) {
        bad.mode = { kind: 'garbage', ...c };
        await rejectsWith(
          stores.checkSettings('cks-x', endpoint('bad.xks.test'), META),
          'XksProxyInvalidResponseException',
          /cannot interpret the response/,
        );
        assert.deepEqual(await stores.connect('cks-x', endpoint('bad.xks.test'), META), {
          state: 'FAILED',
          connectionErrorCode: 'XKS_PROXY_INVALID_RESPONSE',
        });
      }
    } finally {
      bad.mode = { kind: 'pass' };
    }
  });

  it('proxy error names map per the spec table (management, connect)', async () => {
    const expectations: [string, number, string, string][] = [
      ['ThrottlingException', 429, 'XksProxyUriUnreachableException', 'XKS_PROXY_NOT_REACHABLE'],
      ['DependencyTimeoutException', 503, 'XksProxyUriUnreachableException', 'XKS_PROXY_TIMED_OUT'],
      ['InternalException', 500, 'XksProxyInvalidResponseException', 'XKS_PROXY_INVALID_RESPONSE'],
      [
        'ValidationException',
        400,
        'XksProxyInvalidResponseException',
        'XKS_PROXY_INVALID_RESPONSE',
      ],
      [
        'AuthenticationFailedException',
        401,
        'XksProxyIncorrectAuthenticationCredentialException',
        'INVALID_CREDENTIALS',
      ],
      [
        'AccessDeniedException',
        403,
        'XksProxyInvalidConfigurationException',
        'XKS_PROXY_ACCESS_DENIED',
      ],
      [
        'InvalidUriPathException',
        404,
        'XksProxyInvalidConfigurationException',
        'XKS_PROXY_INVALID_CONFIGURATION',
      ],
    ];
    try {
      logLines.length = 0;
      for (const [name, status, exception, code] of expectations) {
        bad.mode = {
          kind: 'garbage',
          status,
          body: JSON.stringify({ errorName: name, errorMessage: 'secret detail' }),
        };
        await assert.rejects(
          stores.checkSettings('cks-x', endpoint('bad.xks.test'), META),
          (e: unknown) => {
            assert.ok(e instanceof KmsError);
            assert.equal(e.code, exception, name);
            assert.doesNotMatch(
              e.message,
              /secret detail/,
              'the proxy errorMessage is not forwarded',
            );
            return true;
          },
        );
        assert.deepEqual(await stores.connect('cks-x', endpoint('bad.xks.test'), META), {
          state: 'FAILED',
          connectionErrorCode: code,
        });
      }
      // The proxy's message goes to keyhold's log (as AWS logs it), never to the caller.
      const logged = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(
        logged.some(
          (l) => l.proxyErrorMessage === 'secret detail' && l.failure === 'ThrottlingException',
        ),
      );
      assert.ok(!logLines.join('').includes(xks.credential.secretAccessKey));
    } finally {
      bad.mode = { kind: 'pass' };
    }
  });

  it('all external key manager instances UNAVAILABLE counts as unreachable', async () => {
    const backend = xks.backend;
    const original = backend.health.bind(backend);
    backend.health = async () => [{ id: 'ekm-1', model: 'test', healthStatus: 'UNAVAILABLE' }];
    try {
      await rejectsWith(
        stores.checkSettings('cks-x', endpoint('good.xks.test'), META),
        'XksProxyUriUnreachableException',
        /all external key manager instances are unavailable/,
      );
      assert.deepEqual(await stores.connect('cks-x', endpoint('good.xks.test'), META), {
        state: 'FAILED',
        connectionErrorCode: 'XKS_PROXY_NOT_REACHABLE',
      });
    } finally {
      backend.health = original;
    }
  });

  it('tampered answers from the proxy side are caught (CDIV, lengths, decrypt result)', async () => {
    bad.mode = { kind: 'pass' };
    await stores.connect('cks-t', endpoint('bad.xks.test'), META);
    const h = handle();
    const aad = randomBytes(51);
    const enc = (ms: Interposer['mode']) => {
      bad.mode = ms;
      return stores.encrypt(
        'cks-t',
        h,
        'foo',
        Buffer.from('data key'),
        undefined,
        aad,
        CRYPTO_META,
      );
    };
    const rewriteEncrypt = (f: (j: Record<string, unknown>) => void): Interposer['mode'] => ({
      kind: 'rewrite',
      rewrite: (api, _s, j) => {
        if (api === 'encrypt') f(j);
        return j;
      },
    });
    try {
      const uninterpretable = /cannot interpret the response/;
      for (const mutate of [
        (j: Record<string, unknown>) => (j.ciphertext = flipBase64(j.ciphertext)),
        (j: Record<string, unknown>) => (j.authenticationTag = flipBase64(j.authenticationTag, 3)),
        (j: Record<string, unknown>) => delete j.ciphertextDataIntegrityValue,
        (j: Record<string, unknown>) =>
          (j.ciphertextDataIntegrityValue = flipBase64(j.ciphertextDataIntegrityValue)),
        (j: Record<string, unknown>) => (j.authenticationTag = Buffer.alloc(12).toString('base64')),
        (j: Record<string, unknown>) =>
          (j.ciphertextMetadata = Buffer.alloc(21).toString('base64')),
        (j: Record<string, unknown>) => (j.initializationVector = 'not base64!'),
      ]) {
        await rejectsWith(enc(rewriteEncrypt(mutate)), 'KMSInvalidStateException', uninterpretable);
      }
      const payload = await enc({ kind: 'pass' });
      bad.mode = {
        kind: 'rewrite',
        rewrite: (api, _s, j) => {
          if (api === 'decrypt') j.plaintext = flipBase64(j.plaintext, 80);
          return j;
        },
      };
      await rejectsWith(
        stores.decrypt('cks-t', h, 'foo', payload, undefined, aad, CRYPTO_META),
        'KMSInvalidStateException',
        /^The ciphertext that the external key store proxy submitted for decryption, or the encryption context, is corrupted, missing, or otherwise invalid\.$/,
      );
      bad.mode = { kind: 'pass' };
      assert.deepEqual(
        await stores.decrypt('cks-t', h, 'foo', payload, undefined, aad, CRYPTO_META),
        Buffer.from('data key'),
      );
    } finally {
      bad.mode = { kind: 'pass' };
      stores.disconnect('cks-t');
    }
  });

  it('periodic GetHealthStatus (KmsHealthCheck) while connected; a failing proxy shows as down', async () => {
    const periodic = new XksStores({ hsm, transport, healthCheckIntervalMs: 60 });
    bad.mode = { kind: 'pass' };
    bad.seen.length = 0;
    try {
      await periodic.connect('cks-periodic', endpoint('bad.xks.test'), META);
      await new Promise((r) => setTimeout(r, 700));
      const checks = bad.seen.filter(
        (r) =>
          r.api === 'health' &&
          (r.body.requestMetadata as Record<string, unknown>).kmsOperation === 'KmsHealthCheck',
      );
      assert.ok(checks.length >= 2, `${checks.length} periodic checks`);
      assert.match(
        await registry.metrics(),
        /keyhold_xks_client_proxy_up\{custom_key_store_id="cks-periodic"\} 1/,
      );
      bad.mode = { kind: 'garbage', body: 'down' };
      await new Promise((r) => setTimeout(r, 500));
      assert.match(
        await registry.metrics(),
        /keyhold_xks_client_proxy_up\{custom_key_store_id="cks-periodic"\} 0/,
      );
      // Still connected: in AWS CONNECTED does not imply healthy.
      assert.equal(periodic.isConnected('cks-periodic'), true);
      periodic.disconnect('cks-periodic');
      await new Promise((r) => setTimeout(r, 150)); // a check already on the wire lands
      const n = bad.seen.length;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(bad.seen.length, n, 'no checks after disconnect');
      assert.doesNotMatch(
        await registry.metrics(),
        /keyhold_xks_client_proxy_up\{custom_key_store_id="cks-periodic"\}/,
      );
    } finally {
      bad.mode = { kind: 'pass' };
      periodic.close();
    }
  });

  it('metrics: latency histogram, outcomes per store and API', async () => {
    const text = await registry.metrics();
    assert.match(
      text,
      /keyhold_xks_client_requests_total\{custom_key_store_id="cks-good",operation="GetHealthStatus",outcome="success"\} [1-9]/,
    );
    assert.match(
      text,
      /keyhold_xks_client_requests_total\{custom_key_store_id="cks-x",operation="GetHealthStatus",outcome="Timeout"\} [1-9]/,
    );
    assert.match(
      text,
      /keyhold_xks_client_requests_total\{custom_key_store_id="cks-x",operation="GetHealthStatus",outcome="TlsFailure"\} [1-9]/,
    );
    assert.match(
      text,
      /keyhold_xks_client_request_duration_seconds_count\{custom_key_store_id="cks-good",operation="Encrypt"\} [1-9]/,
    );
    assert.match(text, /keyhold_xks_client_proxy_up\{custom_key_store_id="cks-good"\} 1/);
  });
});
