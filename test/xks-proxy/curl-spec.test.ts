/**
 * The proxy alone, driven with curl's `--aws-sigv4 "aws:amz:us-east-1:kms-xks-proxy"` exactly
 * as the official test client (aws-samples/aws-kms-xksproxy-test-client) does: same request
 * bodies, same expectations per case (GetHealthStatus, GetKeyMetadata, Encrypt/Decrypt,
 * encrypt-only / decrypt-only / impotent keys, CDIV check, large inputs, bad credentials,
 * bad URI prefix), plus GET → 405 and mTLS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestPki } from '../helpers/tls.js';
import { startTestXksProxy, type TestXksProxy } from '../helpers/xks-proxy.js';

const run = promisify(execFile);

interface CurlOpts {
  accessKeyId?: string;
  secret?: string;
  prefix?: string;
  method?: string;
  extra?: string[];
}

interface CurlResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

async function curl(
  x: TestXksProxy,
  target: string,
  body: string,
  o: CurlOpts = {},
): Promise<CurlResult> {
  const caFile = join(x.pki.dir, 'ca.pem');
  const prefix = o.prefix ?? x.uriPrefix;
  const args = [
    `${x.hostUrl}${prefix}/kms/xks/v1/${target}`,
    '--silent',
    '--cacert',
    caFile,
    '-H',
    'Content-Type:application/json',
    '--aws-sigv4',
    'aws:amz:us-east-1:kms-xks-proxy',
    '--user',
    `${o.accessKeyId ?? x.credential.accessKeyId}:${o.secret ?? x.credential.secretAccessKey}`,
    '--data-binary',
    body,
    '-w',
    '\n%{http_code}',
    ...(o.method !== undefined ? ['-X', o.method] : []),
    ...(o.extra ?? []),
  ];
  const { stdout } = await run('curl', args, { maxBuffer: 1 << 22 });
  const i = stdout.lastIndexOf('\n');
  const text = stdout.slice(0, i);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: Number(stdout.slice(i + 1)), json, text };
}

// The test client's values.
const PRINCIPAL = 'arn:aws:iam::123456789012:user/Alice';
const KEY_ARN = 'arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab';
const md = (op: string) => ({
  awsPrincipalArn: PRINCIPAL,
  kmsKeyArn: KEY_ARN,
  kmsOperation: op,
  kmsRequestId: randomUUID(),
  kmsViaService: 'ebs',
});
const healthBody = () =>
  JSON.stringify({
    requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: randomUUID() },
  });
const encBody = (plaintext?: string, aad?: string, cdiv?: string) =>
  JSON.stringify({
    requestMetadata: md('Encrypt'),
    ...(aad !== undefined ? { additionalAuthenticatedData: aad } : {}),
    ...(plaintext !== undefined ? { plaintext } : {}),
    ...(cdiv !== undefined ? { ciphertextDataIntegrityValueAlgorithm: cdiv } : {}),
    encryptionAlgorithm: 'AES_GCM',
  });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const decBody = (enc: any, aad?: string) =>
  JSON.stringify({
    requestMetadata: md('Decrypt'),
    ...(aad !== undefined ? { additionalAuthenticatedData: aad } : {}),
    ciphertext: enc.ciphertext,
    initializationVector: enc.initializationVector,
    authenticationTag: enc.authenticationTag,
    ...(enc.ciphertextMetadata !== undefined ? { ciphertextMetadata: enc.ciphertextMetadata } : {}),
    encryptionAlgorithm: 'AES_GCM',
  });

const PLAINTEXT = 'cGxhaW50ZXh0Cg==';
const PLAINTEXT2 = 'SGVsbG8gV29ybGQh';
const AAD = 'cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n';
const AAD2 = 'cHJvamVjdD1ibHVlLGRlcGFydG1lbnQ9ZmluYW5jZQ==';

function expectError(r: CurlResult, name: string, status: number): void {
  assert.equal(r.json?.errorName, name, r.text);
  assert.equal(r.status, status, r.text);
}

describe('xks-proxy through curl --aws-sigv4 (the official test client cases)', () => {
  let x: TestXksProxy;
  before(async () => {
    const { stdout } = await run('curl', ['--version']);
    assert.match(stdout, /^curl (\d+)\.(\d+)/);
    x = await startTestXksProxy({
      keys: [
        { id: 'foo' },
        { id: 'encrypt_only_key', usage: ['ENCRYPT'] },
        { id: 'decrypt_only_key', usage: ['DECRYPT'] },
        { id: 'impotent_key', usage: [] },
      ],
    });
  });
  after(async () => {
    await x.stop();
  });

  describe('GetHealthStatus', () => {
    it('answers with the fleet details', async () => {
      const r = await curl(x, 'health', healthBody());
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.xksProxyFleetSize, 1);
      assert.equal(typeof r.json.xksProxyVendor, 'string');
      assert.equal(typeof r.json.xksProxyModel, 'string');
      assert.equal(typeof r.json.ekmVendor, 'string');
      assert.equal(r.json.ekmFleetDetails.length, 1);
      assert.equal(r.json.ekmFleetDetails[0].healthStatus, 'ACTIVE');
    });
    it('without requestMetadata → ValidationException', async () => {
      expectError(await curl(x, 'health', '{}'), 'ValidationException', 400);
    });
    it('with empty requestMetadata → ValidationException', async () => {
      expectError(await curl(x, 'health', '{"requestMetadata": {}}'), 'ValidationException', 400);
    });
    it('with an invalid SigV4 access key id → AuthenticationFailedException', async () => {
      const r = await curl(x, 'health', healthBody(), {
        accessKeyId: `Invalid${x.credential.accessKeyId}`,
      });
      expectError(r, 'AuthenticationFailedException', 401);
    });
    it('with an invalid SigV4 secret → AuthenticationFailedException', async () => {
      const r = await curl(x, 'health', healthBody(), {
        secret: `Invalid${x.credential.secretAccessKey}`,
      });
      expectError(r, 'AuthenticationFailedException', 401);
    });
    it('with an invalid URI prefix → InvalidUriPathException', async () => {
      expectError(
        await curl(x, 'health', healthBody(), { prefix: `${x.uriPrefix}/invalid` }),
        'InvalidUriPathException',
        404,
      );
    });
    it('GET → 405', async () => {
      const r = await curl(x, 'health', '', { method: 'GET', extra: ['-G'] });
      assert.equal(r.status, 405);
    });
  });

  describe('GetKeyMetadata', () => {
    const body = (op: string) => JSON.stringify({ requestMetadata: md(op) });
    for (const op of ['DescribeKey', 'CreateKey']) {
      it(`for ${op}`, async () => {
        const r = await curl(x, 'keys/foo/metadata', body(op));
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, {
          keySpec: 'AES_256',
          keyUsage: ['ENCRYPT', 'DECRYPT'],
          keyStatus: 'ENABLED',
        });
      });
    }
    it('without requestMetadata → ValidationException', async () => {
      expectError(await curl(x, 'keys/foo/metadata', '{}'), 'ValidationException', 400);
    });
    it('with empty requestMetadata → ValidationException', async () => {
      expectError(
        await curl(x, 'keys/foo/metadata', '{"requestMetadata": {}}'),
        'ValidationException',
        400,
      );
    });
    it('for a non-existent key → KeyNotFoundException', async () => {
      expectError(
        await curl(x, 'keys/non_existing_key/metadata', body('DescribeKey')),
        'KeyNotFoundException',
        404,
      );
    });
    it('with an invalid access key id / secret → AuthenticationFailedException', async () => {
      expectError(
        await curl(x, 'keys/foo/metadata', body('DescribeKey'), {
          accessKeyId: `Invalid${x.credential.accessKeyId}`,
        }),
        'AuthenticationFailedException',
        401,
      );
      expectError(
        await curl(x, 'keys/foo/metadata', body('DescribeKey'), {
          secret: `Invalid${x.credential.secretAccessKey}`,
        }),
        'AuthenticationFailedException',
        401,
      );
    });
    it('with an invalid URI prefix → InvalidUriPathException', async () => {
      const r = await curl(x, 'keys/foo/metadata', body('DescribeKey'), {
        prefix: `${x.uriPrefix}/invalid`,
      });
      expectError(r, 'InvalidUriPathException', 404);
    });
    it('GET → 405', async () => {
      assert.equal(
        (await curl(x, 'keys/foo/metadata', '', { method: 'GET', extra: ['-G'] })).status,
        405,
      );
    });
  });

  describe('Encrypt and Decrypt', () => {
    it('with a non-existing key → KeyNotFoundException', async () => {
      expectError(
        await curl(x, 'keys/non_existing_key/encrypt', encBody(PLAINTEXT)),
        'KeyNotFoundException',
        404,
      );
    });
    it('with missing plaintext → ValidationException', async () => {
      expectError(await curl(x, 'keys/foo/encrypt', encBody()), 'ValidationException', 400);
    });
    it('with an invalid access key id / secret → AuthenticationFailedException', async () => {
      expectError(
        await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT), {
          accessKeyId: `Invalid${x.credential.accessKeyId}`,
        }),
        'AuthenticationFailedException',
        401,
      );
      expectError(
        await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT), {
          secret: `Invalid${x.credential.secretAccessKey}`,
        }),
        'AuthenticationFailedException',
        401,
      );
    });
    it('with an invalid URI path → InvalidUriPathException', async () => {
      const r = await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT), {
        prefix: `${x.uriPrefix}/invalid`,
      });
      expectError(r, 'InvalidUriPathException', 404);
    });
    it('encrypt with AAD, decrypt without AAD → InvalidCiphertextException', async () => {
      const e = await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT, AAD));
      assert.equal(e.status, 200, e.text);
      expectError(
        await curl(x, 'keys/foo/decrypt', decBody(e.json)),
        'InvalidCiphertextException',
        400,
      );
    });
    it('encrypt with AAD, decrypt with a different AAD → InvalidCiphertextException', async () => {
      const e = await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT, AAD));
      expectError(
        await curl(x, 'keys/foo/decrypt', decBody(e.json, AAD2)),
        'InvalidCiphertextException',
        400,
      );
    });
    it('without AAD: round trip', async () => {
      const e = await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT2));
      assert.equal(e.status, 200, e.text);
      assert.equal(
        Buffer.from(e.json.ciphertext, 'base64').length,
        12,
        'ciphertext as long as the plaintext',
      );
      assert.equal(Buffer.from(e.json.initializationVector, 'base64').length, 12);
      assert.equal(Buffer.from(e.json.authenticationTag, 'base64').length, 16);
      assert.ok(Buffer.from(e.json.ciphertextMetadata, 'base64').length <= 20);
      assert.equal(e.json.ciphertextDataIntegrityValue, undefined, 'no CDIV unless asked');
      const d = await curl(x, 'keys/foo/decrypt', decBody(e.json));
      assert.equal(d.status, 200, d.text);
      assert.equal(d.json.plaintext, PLAINTEXT2);
    });
    it('with the same AAD: round trip', async () => {
      const e = await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT2, AAD));
      const d = await curl(x, 'keys/foo/decrypt', decBody(e.json, AAD));
      assert.equal(d.status, 200, d.text);
      assert.equal(d.json.plaintext, PLAINTEXT2);
    });
    for (const aad of [AAD, undefined]) {
      it(`CDIV ${aad === undefined ? 'without' : 'with'} AAD verifies as the test client computes it, then decrypts`, async () => {
        const e = await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT2, aad, 'SHA_256'));
        assert.equal(e.status, 200, e.text);
        // [<AAD> ||] [<Ciphertext Metadata> ||] <IV> || <Ciphertext> || <Authentication Tag>
        const b = (s: string | undefined) => Buffer.from(s ?? '', 'base64');
        const want = createHash('sha256')
          .update(
            Buffer.concat([
              b(aad),
              b(e.json.ciphertextMetadata),
              b(e.json.initializationVector),
              b(e.json.ciphertext),
              b(e.json.authenticationTag),
            ]),
          )
          .digest('base64');
        assert.equal(e.json.ciphertextDataIntegrityValue, want);
        const d = await curl(x, 'keys/foo/decrypt', decBody(e.json, aad));
        assert.equal(d.json.plaintext, PLAINTEXT2);
      });
    }
    it('large plaintext (4096 bytes) and large AAD (8192 bytes): round trip', async () => {
      const pt = randomBytes(4096).toString('base64');
      const aad = randomBytes(8192).toString('base64');
      const e = await curl(x, 'keys/foo/encrypt', encBody(pt, aad));
      assert.equal(e.status, 200, e.text);
      const d = await curl(x, 'keys/foo/decrypt', decBody(e.json, aad));
      assert.equal(d.json.plaintext, pt);
    });
    it('GET on encrypt and decrypt → 405', async () => {
      assert.equal(
        (await curl(x, 'keys/foo/encrypt', '', { method: 'GET', extra: ['-G'] })).status,
        405,
      );
      assert.equal(
        (await curl(x, 'keys/foo/decrypt', '', { method: 'GET', extra: ['-G'] })).status,
        405,
      );
    });
  });

  describe('key usages', () => {
    it('encrypt-only key: encrypts; decrypt → InvalidKeyUsageException; encrypt with CDIV → InvalidKeyUsageException', async () => {
      for (const aad of [undefined, AAD]) {
        const e = await curl(x, 'keys/encrypt_only_key/encrypt', encBody(PLAINTEXT, aad));
        assert.equal(e.status, 200, e.text);
        expectError(
          await curl(x, 'keys/encrypt_only_key/decrypt', decBody(e.json, aad)),
          'InvalidKeyUsageException',
          400,
        );
        const c = await curl(
          x,
          'keys/encrypt_only_key/encrypt',
          encBody(PLAINTEXT, aad, 'SHA_256'),
        );
        expectError(c, 'InvalidKeyUsageException', 400);
      }
    });
    for (const key of ['decrypt_only_key', 'impotent_key']) {
      it(`${key}: every Encrypt variant → InvalidKeyUsageException`, async () => {
        for (const [aad, cdiv] of [
          [AAD, undefined],
          [undefined, undefined],
          [AAD, 'SHA_256'],
          [undefined, 'SHA_256'],
        ] as const) {
          expectError(
            await curl(x, `keys/${key}/encrypt`, encBody(PLAINTEXT, aad, cdiv)),
            'InvalidKeyUsageException',
            400,
          );
        }
      });
    }
    it('impotent key: decrypt → InvalidKeyUsageException', async () => {
      const e = await curl(x, 'keys/foo/encrypt', encBody(PLAINTEXT));
      expectError(
        await curl(x, 'keys/impotent_key/decrypt', decBody(e.json)),
        'InvalidKeyUsageException',
        400,
      );
    });
  });
});

/**
 * curl's exit code for a connection the server refused during or right after the TLS
 * handshake: 35 (handshake failed), 56 (receive failure: alert after a TLS 1.3 handshake) or
 * 52 (closed with no HTTP reply at all). Never an HTTP status.
 */
const refusedByTls = (e: { code?: number }) => e.code === 35 || e.code === 56 || e.code === 52;

describe('xks-proxy mTLS through curl', () => {
  let x: TestXksProxy;
  const other = createTestPki();
  before(async () => {
    x = await startTestXksProxy({ mtls: true });
  });
  after(async () => {
    await x.stop();
    other.cleanup();
  });

  it('with the configured client certificate: 200', async () => {
    const r = await curl(x, 'health', healthBody(), {
      extra: ['--cert', x.pki.client.certPath, '--key', x.pki.client.keyPath],
    });
    assert.equal(r.status, 200, r.text);
  });
  it('without a client certificate: the handshake is refused', async () => {
    await assert.rejects(curl(x, 'health', healthBody()), refusedByTls);
  });
  it('with a certificate from another CA: the handshake is refused', async () => {
    await assert.rejects(
      curl(x, 'health', healthBody(), {
        extra: ['--cert', other.client.certPath, '--key', other.client.keyPath],
      }),
      refusedByTls,
    );
  });
  it('with a certificate of the right CA but another subject: refused', async () => {
    const wrong = x.pki.issueClient('someone.else.example.com');
    await assert.rejects(
      curl(x, 'health', healthBody(), {
        extra: ['--cert', wrong.certPath, '--key', wrong.keyPath],
      }),
      refusedByTls,
    );
  });
});
