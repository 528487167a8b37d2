/**
 * keyhold's XKS proxy with a signed HTTPS client (as AWS KMS calls it): every error path of
 * the spec's table that the proxy can produce, credential rotation, clock skew, limits,
 * authorization rules, unknown fields, and the ciphertext format.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XKS_DEFAULTS } from '../../src/xks-proxy/config.js';
import {
  generateXksCredential,
  requestMetadata,
  startTestXksProxy,
  xksCall,
  type TestXksProxy,
} from '../helpers/xks-proxy.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const health = { requestMetadata: { kmsRequestId: 'r-1', kmsOperation: 'KmsHealthCheck' } };

function encBody(plaintext: string, aad?: string, extra: Record<string, unknown> = {}) {
  return {
    requestMetadata: requestMetadata('Encrypt'),
    plaintext: b64(plaintext),
    ...(aad !== undefined ? { additionalAuthenticatedData: b64(aad) } : {}),
    encryptionAlgorithm: 'AES_GCM',
    ...extra,
  };
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function decBody(e: any, aad?: string, patch: Record<string, unknown> = {}) {
  return {
    requestMetadata: requestMetadata('Decrypt'),
    ciphertext: e.ciphertext,
    initializationVector: e.initializationVector,
    authenticationTag: e.authenticationTag,
    ciphertextMetadata: e.ciphertextMetadata,
    ...(aad !== undefined ? { additionalAuthenticatedData: b64(aad) } : {}),
    encryptionAlgorithm: 'AES_GCM',
    ...patch,
  };
}
function flip(s: string, i = 0): string {
  const b = Buffer.from(s, 'base64');
  b[i] = (b[i] ?? 0) ^ 0x01;
  return b.toString('base64');
}
function isError(
  r: { status: number; json: { errorName?: string } },
  name: string,
  status: number,
): void {
  assert.equal(r.json?.errorName, name, JSON.stringify(r.json));
  assert.equal(r.status, status);
}

describe('xks-proxy API', () => {
  let x: TestXksProxy;
  before(async () => {
    x = await startTestXksProxy({
      keys: [
        { id: 'k1' },
        { id: 'k2' },
        { id: 'off', state: 'DISABLED' },
        { id: 'enc', usage: ['ENCRYPT'] },
      ],
    });
  });
  after(async () => {
    await x.stop();
  });

  describe('Encrypt / Decrypt', () => {
    it('round trip without and with AAD; ciphertext as long as the plaintext; 12-byte IV, 16-byte tag', async () => {
      for (const aad of [undefined, 'purpose=test']) {
        const e = await x.call('keys/k1/encrypt', encBody('attack at dawn', aad));
        assert.equal(e.status, 200, e.text);
        assert.equal(e.headers['content-type'], 'application/json');
        assert.equal(Buffer.from(e.json.ciphertext, 'base64').length, 14);
        assert.equal(Buffer.from(e.json.initializationVector, 'base64').length, 12);
        assert.equal(Buffer.from(e.json.authenticationTag, 'base64').length, 16);
        assert.notEqual(Buffer.from(e.json.ciphertext, 'base64').toString(), 'attack at dawn');
        const d = await x.call('keys/k1/decrypt', decBody(e.json, aad));
        assert.equal(d.status, 200, d.text);
        assert.deepEqual(Object.keys(d.json), ['plaintext']);
        assert.equal(Buffer.from(d.json.plaintext, 'base64').toString(), 'attack at dawn');
      }
    });

    it('two encryptions of the same plaintext differ (fresh IV)', async () => {
      const a = await x.call('keys/k1/encrypt', encBody('same'));
      const b = await x.call('keys/k1/encrypt', encBody('same'));
      assert.notEqual(a.json.initializationVector, b.json.initializationVector);
      assert.notEqual(a.json.ciphertext, b.json.ciphertext);
    });

    it('an empty plaintext round-trips', async () => {
      const e = await x.call('keys/k1/encrypt', encBody(''));
      assert.equal(e.status, 200, e.text);
      const d = await x.call('keys/k1/decrypt', decBody(e.json));
      assert.equal(d.json.plaintext, '');
    });

    it('wrong AAD, missing AAD, tampered ciphertext / tag / IV / ciphertextMetadata, other key → InvalidCiphertextException', async () => {
      const e = await x.call('keys/k1/encrypt', encBody('payload', 'aad-1'));
      const cases: [string, object][] = [
        ['wrong AAD', decBody(e.json, 'aad-2')],
        ['missing AAD', decBody(e.json)],
        ['tampered ciphertext', decBody(e.json, 'aad-1', { ciphertext: flip(e.json.ciphertext) })],
        [
          'tampered tag',
          decBody(e.json, 'aad-1', { authenticationTag: flip(e.json.authenticationTag, 15) }),
        ],
        [
          'tampered IV',
          decBody(e.json, 'aad-1', { initializationVector: flip(e.json.initializationVector) }),
        ],
        [
          'tampered metadata',
          decBody(e.json, 'aad-1', { ciphertextMetadata: flip(e.json.ciphertextMetadata) }),
        ],
        ['missing metadata', decBody(e.json, 'aad-1', { ciphertextMetadata: undefined })],
        ['short tag', decBody(e.json, 'aad-1', { authenticationTag: b64(Buffer.alloc(12)) })],
        ['8-byte IV', decBody(e.json, 'aad-1', { initializationVector: b64(Buffer.alloc(8)) })],
        [
          'metadata over 20 bytes',
          decBody(e.json, 'aad-1', { ciphertextMetadata: b64(Buffer.alloc(21)) }),
        ],
      ];
      for (const [what, body] of cases) {
        const r = await x.call('keys/k1/decrypt', body);
        assert.equal(r.json?.errorName, 'InvalidCiphertextException', what);
        assert.equal(r.status, 400, what);
        assert.equal(r.json.plaintext, undefined);
      }
      const other = await x.call('keys/k2/decrypt', decBody(e.json, 'aad-1'));
      isError(other, 'InvalidCiphertextException', 400);
      // The untouched ciphertext still decrypts.
      assert.equal((await x.call('keys/k1/decrypt', decBody(e.json, 'aad-1'))).status, 200);
    });

    it('CDIV = SHA-256(aad ‖ ciphertextMetadata ‖ iv ‖ ciphertext ‖ tag) (Appendix C)', async () => {
      const { createHash } = await import('node:crypto');
      const e = await x.call(
        'keys/k1/encrypt',
        encBody('integrity', 'aad', { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' }),
      );
      assert.equal(e.status, 200, e.text);
      const parts = [
        b64('aad'),
        e.json.ciphertextMetadata,
        e.json.initializationVector,
        e.json.ciphertext,
        e.json.authenticationTag,
      ];
      const want = createHash('sha256')
        .update(Buffer.concat(parts.map((p) => Buffer.from(p, 'base64'))))
        .digest('base64');
      assert.equal(e.json.ciphertextDataIntegrityValue, want);
    });

    it('unknown key → KeyNotFoundException (all three key APIs)', async () => {
      isError(await x.call('keys/nope/encrypt', encBody('x')), 'KeyNotFoundException', 404);
      isError(
        await x.call('keys/nope/metadata', { requestMetadata: requestMetadata('CreateKey') }),
        'KeyNotFoundException',
        404,
      );
      const e = await x.call('keys/k1/encrypt', encBody('x'));
      isError(await x.call('keys/nope/decrypt', decBody(e.json)), 'KeyNotFoundException', 404);
      isError(await x.call('keys/bad%20id/encrypt', encBody('x')), 'KeyNotFoundException', 404);
    });

    it('disabled key: metadata DISABLED, Encrypt and Decrypt → InvalidStateException; enabling it again works', async () => {
      const m = await x.call('keys/off/metadata', {
        requestMetadata: requestMetadata('CreateKey'),
      });
      assert.equal(m.json.keyStatus, 'DISABLED');
      isError(await x.call('keys/off/encrypt', encBody('x')), 'InvalidStateException', 400);
      await x.setKeyState('off', 'ENABLED');
      const e = await x.call('keys/off/encrypt', encBody('x'));
      assert.equal(e.status, 200, e.text);
      await x.setKeyState('off', 'DISABLED');
      isError(await x.call('keys/off/decrypt', decBody(e.json)), 'InvalidStateException', 400);
    });

    it('encrypt-only key: Decrypt → InvalidKeyUsageException', async () => {
      const e = await x.call('keys/enc/encrypt', encBody('x'));
      assert.equal(e.status, 200);
      isError(await x.call('keys/enc/decrypt', decBody(e.json)), 'InvalidKeyUsageException', 400);
    });
  });

  describe('request validation', () => {
    it('malformed JSON → ValidationException', async () => {
      isError(
        await x.call('keys/k1/encrypt', undefined, { rawBody: '{"requestMetadata":' }),
        'ValidationException',
        400,
      );
      isError(await x.call('health', undefined, { rawBody: '[1,2]' }), 'ValidationException', 400);
      isError(await x.call('health', undefined, { rawBody: '' }), 'ValidationException', 400);
    });
    it('missing requestMetadata or its required fields → ValidationException', async () => {
      const noMd: Record<string, unknown> = encBody('x');
      delete noMd.requestMetadata;
      isError(await x.call('keys/k1/encrypt', noMd), 'ValidationException', 400);
      for (const field of ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId']) {
        const md = requestMetadata('Encrypt');
        delete md[field];
        const r = await x.call('keys/k1/encrypt', { ...encBody('x'), requestMetadata: md });
        isError(r, 'ValidationException', 400);
        assert.match(r.json.errorMessage, new RegExp(field));
      }
      // GetKeyMetadata does not need kmsKeyArn (KMS omits it for CreateKey).
      const md = requestMetadata('CreateKey');
      delete md.kmsKeyArn;
      assert.equal((await x.call('keys/k1/metadata', { requestMetadata: md })).status, 200);
    });
    it('bad base64, wrong encryptionAlgorithm or CDIV algorithm → ValidationException', async () => {
      isError(
        await x.call('keys/k1/encrypt', { ...encBody('x'), plaintext: 'not base64!' }),
        'ValidationException',
        400,
      );
      isError(
        await x.call('keys/k1/encrypt', { ...encBody('x'), plaintext: 'YWJj-_' }),
        'ValidationException',
        400,
      );
      isError(
        await x.call('keys/k1/encrypt', { ...encBody('x'), plaintext: 42 }),
        'ValidationException',
        400,
      );
      isError(
        await x.call('keys/k1/encrypt', { ...encBody('x'), encryptionAlgorithm: 'AES_CBC' }),
        'ValidationException',
        400,
      );
      const noAlg: Record<string, unknown> = encBody('x');
      delete noAlg.encryptionAlgorithm;
      isError(await x.call('keys/k1/encrypt', noAlg), 'ValidationException', 400);
      isError(
        await x.call(
          'keys/k1/encrypt',
          encBody('x', undefined, { ciphertextDataIntegrityValueAlgorithm: 'MD5' }),
        ),
        'ValidationException',
        400,
      );
      const e = await x.call('keys/k1/encrypt', encBody('x'));
      const noTag: Record<string, unknown> = decBody(e.json);
      delete noTag.authenticationTag;
      isError(await x.call('keys/k1/decrypt', noTag), 'ValidationException', 400);
    });
    it('unknown request fields (top level and in requestMetadata) are ignored', async () => {
      const body = {
        ...encBody('future'),
        someFutureField: { nested: true },
        requestMetadata: {
          ...requestMetadata('Encrypt'),
          sourceIdentity: 'x',
          nitroAttestation: 'y',
          kmsViaService: 'ebs',
        },
      };
      const e = await x.call('keys/k1/encrypt', body);
      assert.equal(e.status, 200, e.text);
      const d = await x.call('keys/k1/decrypt', { ...decBody(e.json), extra: 1 });
      assert.equal(Buffer.from(d.json.plaintext, 'base64').toString(), 'future');
      const h = await x.call('health', {
        requestMetadata: { ...health.requestMetadata, newThing: 1 },
        other: [],
      });
      assert.equal(h.status, 200);
    });
    it('an unknown kmsOperation is not rejected (spec: MUST NOT)', async () => {
      const r = await x.call('keys/k1/encrypt', {
        ...encBody('x'),
        requestMetadata: requestMetadata('SomeFutureKmsOperation'),
      });
      assert.equal(r.status, 200);
    });
    it('a 2048-character principal ARN is accepted', async () => {
      const arn = `arn:aws:iam::123456789012:role/${'r'.repeat(2048 - 32)}`;
      const r = await x.call('keys/k1/metadata', {
        requestMetadata: requestMetadata('CreateKey', { awsPrincipalArn: arn }),
      });
      assert.equal(r.status, 200, r.text);
    });
    it('plaintext over the limit → UnsupportedOperationException (501); body over the limit → UnsupportedOperationException', async () => {
      const big = 'a'.repeat(65537);
      isError(await x.call('keys/k1/encrypt', encBody(big)), 'UnsupportedOperationException', 501);
      const r = await x.call(
        'keys/k1/encrypt',
        encBody('x', undefined, { pad: 'p'.repeat(300 * 1024) }),
      );
      isError(r, 'UnsupportedOperationException', 501);
    });
    it('the spec minimums fit: 4300-byte plaintext and 8192-byte AAD', async () => {
      const pt = 'p'.repeat(4300);
      const aad = 'a'.repeat(8192);
      const e = await x.call('keys/k1/encrypt', encBody(pt, aad));
      assert.equal(e.status, 200, e.text);
      const d = await x.call('keys/k1/decrypt', decBody(e.json, aad));
      assert.equal(Buffer.from(d.json.plaintext, 'base64').toString(), pt);
    });
  });

  describe('routing', () => {
    it('GET, PUT, DELETE on the API paths → 405 with Allow: POST', async () => {
      for (const path of ['health', 'keys/k1/metadata', 'keys/k1/encrypt', 'keys/k1/decrypt']) {
        for (const method of ['GET', 'PUT', 'DELETE']) {
          const r = await x.call(path, undefined, { method });
          assert.equal(r.status, 405, `${method} ${path}`);
          assert.equal(r.headers.allow, 'POST');
        }
      }
    });
    it('unknown paths and prefixes → InvalidUriPathException (404)', async () => {
      const call = (path: string) =>
        xksCall({ url: x.url, path, body: health, credential: x.credential, ca: x.caPem });
      isError(await call('/kms/xks/v1/health'), 'InvalidUriPathException', 404);
      isError(await call(`${x.uriPrefix}/other/kms/xks/v1/health`), 'InvalidUriPathException', 404);
      isError(await call(`${x.uriPrefix}/kms/xks/v2/health`), 'InvalidUriPathException', 404);
      isError(await call(`${x.uriPrefix}/kms/xks/v1/keys/k1/sign`), 'InvalidUriPathException', 404);
    });
    it('GET /ping answers for load balancers without authentication', async () => {
      const r = await xksCall({
        url: x.url,
        path: '/ping',
        method: 'GET',
        credential: x.credential,
        ca: x.caPem,
        unsigned: true,
      });
      assert.equal(r.status, 200);
      assert.equal(r.text.trim(), 'pong');
    });
  });

  describe('SigV4 authentication', () => {
    it('unknown access key id, wrong secret, unsigned → AuthenticationFailedException (401)', async () => {
      const other = generateXksCredential();
      isError(
        await x.call('health', health, { credential: other }),
        'AuthenticationFailedException',
        401,
      );
      isError(
        await x.call('health', health, {
          credential: {
            accessKeyId: x.credential.accessKeyId,
            secretAccessKey: other.secretAccessKey,
          },
        }),
        'AuthenticationFailedException',
        401,
      );
      isError(
        await x.call('health', health, { unsigned: true }),
        'AuthenticationFailedException',
        401,
      );
    });
    it('a signature over another body (changed after signing) fails', async () => {
      // Sign one body, send another: the payload hash differs.
      const { SignatureV4 } = await import('@smithy/signature-v4');
      const { Hash } = await import('@smithy/hash-node');
      const { HttpRequest } = await import('@smithy/protocol-http');
      const u = new URL(x.url);
      const path = `${x.uriPath}/keys/k1/metadata`;
      const signer = new SignatureV4({
        credentials: x.credential,
        region: 'us-east-1',
        service: 'kms-xks-proxy',
        sha256: Hash.bind(null, 'sha256'),
      });
      const signed = await signer.sign(
        new HttpRequest({
          method: 'POST',
          hostname: u.hostname,
          port: Number(u.port),
          path,
          headers: { host: u.host },
          body: '{"a":1}',
        }),
      );
      const r = await xksCall({
        url: x.url,
        path,
        body: { requestMetadata: requestMetadata('CreateKey') },
        credential: x.credential,
        ca: x.caPem,
        unsigned: true,
        headers: signed.headers as Record<string, string>,
      });
      isError(r, 'AuthenticationFailedException', 401);
    });
    it('wrong service in the credential scope → AuthenticationFailedException', async () => {
      isError(
        await x.call('health', health, { service: 'kms' }),
        'AuthenticationFailedException',
        401,
      );
    });
    it('clock skew over 5 minutes fails, within it passes', async () => {
      const at = (min: number) => new Date(Date.now() + min * 60_000);
      isError(
        await x.call('health', health, { signingDate: at(-6) }),
        'AuthenticationFailedException',
        401,
      );
      isError(
        await x.call('health', health, { signingDate: at(6) }),
        'AuthenticationFailedException',
        401,
      );
      assert.equal((await x.call('health', health, { signingDate: at(-4) })).status, 200);
      assert.equal((await x.call('health', health, { signingDate: at(4) })).status, 200);
    });
    it('any region by default', async () => {
      assert.equal((await x.call('health', health, { region: 'eu-west-3' })).status, 200);
    });
  });
});

describe('xks-proxy credential rotation', () => {
  it('two live credentials both work; after the old one is removed only the new one does', async () => {
    const oldC = generateXksCredential();
    const newC = generateXksCredential();
    const x = await startTestXksProxy({ credentials: [oldC] });
    try {
      assert.equal((await x.call('health', health, { credential: oldC })).status, 200);
      isError(
        await x.call('health', health, { credential: newC }),
        'AuthenticationFailedException',
        401,
      );
      x.setCredentials([oldC, newC]);
      assert.equal((await x.call('health', health, { credential: oldC })).status, 200);
      assert.equal((await x.call('health', health, { credential: newC })).status, 200);
      x.setCredentials([newC]);
      isError(
        await x.call('health', health, { credential: oldC }),
        'AuthenticationFailedException',
        401,
      );
      assert.equal((await x.call('health', health, { credential: newC })).status, 200);
    } finally {
      await x.stop();
    }
  });
  it('configured regions restrict the SigV4 scope', async () => {
    const x = await startTestXksProxy({ regions: ['us-east-1'] });
    try {
      assert.equal((await x.call('health', health)).status, 200);
      isError(
        await x.call('health', health, { region: 'eu-west-1' }),
        'AuthenticationFailedException',
        401,
      );
    } finally {
      await x.stop();
    }
  });
});

describe('xks-proxy authorization rules', () => {
  let x: TestXksProxy;
  before(async () => {
    x = await startTestXksProxy({
      keys: [{ id: 'shared' }, { id: 'finance-1' }],
      authorization: {
        defaultEffect: 'deny',
        rules: [
          {
            effect: 'allow',
            principals: [
              'arn:aws:iam::123456789012:user/Alice',
              'arn:aws:iam::123456789012:role/app-*',
            ],
          },
          {
            effect: 'deny',
            keys: ['finance-*'],
            principals: ['arn:aws:iam::123456789012:role/app-*'],
          },
          { effect: 'deny', kmsOperations: ['ReEncrypt'] },
          { effect: 'allow', principals: ['AWS Internal'], operations: ['GetKeyMetadata'] },
        ],
      },
    });
  });
  after(async () => {
    await x.stop();
  });
  const as = (principal: string, kmsOperation = 'Encrypt') => ({
    ...encBody('x'),
    requestMetadata: requestMetadata(kmsOperation, { awsPrincipalArn: principal }),
  });

  it('an allowed principal encrypts', async () => {
    assert.equal(
      (await x.call('keys/shared/encrypt', as('arn:aws:iam::123456789012:user/Alice'))).status,
      200,
    );
    assert.equal(
      (await x.call('keys/shared/encrypt', as('arn:aws:iam::123456789012:role/app-web'))).status,
      200,
    );
  });
  it('a principal no rule allows → AccessDeniedException (403)', async () => {
    isError(
      await x.call('keys/shared/encrypt', as('arn:aws:iam::123456789012:user/Mallory')),
      'AccessDeniedException',
      403,
    );
  });
  it('an explicit deny on a key wins over an allow', async () => {
    isError(
      await x.call('keys/finance-1/encrypt', as('arn:aws:iam::123456789012:role/app-web')),
      'AccessDeniedException',
      403,
    );
    assert.equal(
      (await x.call('keys/finance-1/encrypt', as('arn:aws:iam::123456789012:user/Alice'))).status,
      200,
    );
  });
  it('a deny by kmsOperation', async () => {
    isError(
      await x.call('keys/shared/encrypt', as('arn:aws:iam::123456789012:user/Alice', 'ReEncrypt')),
      'AccessDeniedException',
      403,
    );
  });
  it('per proxy operation: AWS Internal may read metadata but not encrypt', async () => {
    const md = {
      requestMetadata: requestMetadata('CreateKey', { awsPrincipalArn: 'AWS Internal' }),
    };
    assert.equal((await x.call('keys/shared/metadata', md)).status, 200);
    isError(await x.call('keys/shared/encrypt', as('AWS Internal')), 'AccessDeniedException', 403);
  });
  it('denied before the key is looked up (no key existence oracle)', async () => {
    isError(
      await x.call('keys/no-such-key/encrypt', as('arn:aws:iam::123456789012:user/Mallory')),
      'AccessDeniedException',
      403,
    );
  });
  it('GetHealthStatus is exempt', async () => {
    assert.equal((await x.call('health', health)).status, 200);
  });
});

describe('xks-proxy throttling and dependency timeouts', () => {
  it('over limits.maxRequestsPerSecond → ThrottlingException (429)', async () => {
    const x = await startTestXksProxy({
      config: { limits: { ...XKS_DEFAULTS.limits, maxRequestsPerSecond: 3 } },
    });
    try {
      const rs = await Promise.all(Array.from({ length: 6 }, () => x.call('health', health)));
      const statuses = rs.map((r) => r.status).sort();
      assert.ok(statuses.filter((s) => s === 200).length <= 3, statuses.join(','));
      const throttled = rs.filter((r) => r.status === 429);
      assert.ok(throttled.length >= 3, statuses.join(','));
      assert.equal(throttled[0]?.json.errorName, 'ThrottlingException');
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await x.call('health', health)).status, 200, 'the bucket refills');
    } finally {
      await x.stop();
    }
  });

  it('the rate limit is taken after authentication: 80 unsigned requests do not throttle a signed health check', async () => {
    const x = await startTestXksProxy({
      config: { limits: { ...XKS_DEFAULTS.limits, maxRequestsPerSecond: 3 } },
    });
    try {
      const wrong = { accessKeyId: 'A'.repeat(20), secretAccessKey: 'w'.repeat(43) };
      const refused = await Promise.all([
        ...Array.from({ length: 40 }, () => x.call('health', health, { unsigned: true })),
        ...Array.from({ length: 40 }, () => x.call('health', health, { credential: wrong })),
      ]);
      // Each is refused for its authentication, never with 429.
      assert.deepEqual([...new Set(refused.map((r) => r.status))], [401]);
      const signed = await x.call('health', health);
      assert.equal(signed.status, 200, JSON.stringify(signed.json));
    } finally {
      await x.stop();
    }
  });

  it('a backend slower than limits.backendTimeoutMs → DependencyTimeoutException (503); health reports UNAVAILABLE', async () => {
    const x = await startTestXksProxy({
      config: { limits: { ...XKS_DEFAULTS.limits, backendTimeoutMs: 100 } },
    });
    try {
      assert.equal((await x.call('keys/foo/encrypt', encBody('x'))).status, 200);
      x.setDelay(300);
      isError(await x.call('keys/foo/encrypt', encBody('x')), 'DependencyTimeoutException', 503);
      isError(
        await x.call('keys/foo/metadata', { requestMetadata: requestMetadata('CreateKey') }),
        'DependencyTimeoutException',
        503,
      );
      const h = await x.call('health', health);
      assert.equal(h.status, 200);
      assert.equal(h.json.ekmFleetDetails[0].healthStatus, 'UNAVAILABLE');
      x.setDelay(0);
      assert.equal((await x.call('keys/foo/encrypt', encBody('x'))).status, 200);
    } finally {
      await x.stop();
    }
  });

  it('setDelay slows the whole answer (for client timeout tests, e.g. KMS 250 ms)', async () => {
    const x = await startTestXksProxy({ delayMs: 300 });
    try {
      const t0 = Date.now();
      assert.equal((await x.call('health', health)).status, 200);
      assert.ok(Date.now() - t0 >= 290);
    } finally {
      await x.stop();
    }
  });
});
