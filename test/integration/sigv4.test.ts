/**
 * SigV4 at the wire: requests signed here with @smithy/signature-v4 and sent with fetch,
 * then broken one way at a time. Every broken request must be refused with the AWS
 * front-end error for that case and must change nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

interface SignOptions {
  target?: string;
  body?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  service?: string;
  signingDate?: Date;
  /** Let the signer add x-amz-content-sha256 (its default). */
  applyChecksum?: boolean;
  extraHeaders?: Record<string, string>;
}

interface Signed {
  headers: Record<string, string>;
  body: Buffer;
}

interface WireResponse {
  status: number;
  type: string;
  message: string;
  json: Record<string, unknown>;
  requestId: string | null;
}

describe('SigV4 verification (raw signed requests)', () => {
  let server: TestServer;
  let host: string;

  before(async () => {
    server = await startTestServer();
    host = new URL(server.url).host;
  });
  after(async () => {
    await server.stop();
  });

  async function sign(opts: SignOptions = {}): Promise<Signed> {
    const body = Buffer.from(opts.body ?? '{}', 'utf8');
    const url = new URL(server.url);
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: opts.accessKeyId ?? TEST_ACCESS_KEY_ID,
        secretAccessKey: opts.secretAccessKey ?? TEST_SECRET_ACCESS_KEY,
      },
      region: opts.region ?? 'us-east-1',
      service: opts.service ?? 'kms',
      sha256: Hash.bind(null, 'sha256'),
      applyChecksum: opts.applyChecksum ?? false,
    });
    const request = new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: {
        host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': opts.target ?? 'TrentService.ListKeys',
        ...opts.extraHeaders,
      },
      body,
    });
    const signed = await signer.sign(
      request,
      opts.signingDate !== undefined ? { signingDate: opts.signingDate } : {},
    );
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = String(v);
    return { headers, body };
  }

  /** POST with exactly these headers (fetch derives Host from the URL: the signed value). */
  async function send(headers: Record<string, string>, body: Buffer): Promise<WireResponse> {
    const sent: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (k !== 'host') sent[k] = v;
    const res = await fetch(server.url, {
      method: 'POST',
      headers: sent,
      body: new Uint8Array(body),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      assert.fail(`response is not JSON: ${text}`);
    }
    return {
      status: res.status,
      type: typeof json['__type'] === 'string' ? json['__type'] : '',
      message: typeof json['message'] === 'string' ? json['message'] : '',
      json,
      requestId: res.headers.get('x-amzn-requestid'),
    };
  }

  function signedHeaderNames(headers: Record<string, string>): string[] {
    const m = /SignedHeaders=([^,\s]+)/.exec(headers['authorization'] ?? '');
    assert.ok(m?.[1] !== undefined, 'Authorization carries SignedHeaders');
    return m[1].split(';');
  }

  async function keyCount(): Promise<number> {
    const out = await server.client.send(new ListKeysCommand({ Limit: 1000 }));
    return out.Keys?.length ?? 0;
  }

  function assertError(r: WireResponse, type: string, status = 400): void {
    assert.equal(r.type, type, `expected ${type}, got ${r.type}: ${r.message}`);
    assert.equal(r.status, status, `${type} HTTP status`);
    assert.ok(r.requestId !== null && r.requestId !== '', 'x-amzn-RequestId is set');
  }

  it('accepts a correctly signed ListKeys (200, Keys array)', async () => {
    const { headers, body } = await sign();
    const r = await send(headers, body);
    assert.equal(r.status, 200, `${r.type}: ${r.message}`);
    assert.ok(Array.isArray(r.json['Keys']));
  });

  it('accepts a signature that also covers x-amz-content-sha256 (the signer default)', async () => {
    const { headers, body } = await sign({ applyChecksum: true });
    assert.ok(signedHeaderNames(headers).includes('x-amz-content-sha256'));
    const r = await send(headers, body);
    assert.equal(r.status, 200, `${r.type}: ${r.message}`);
  });

  it('rejects a body changed after signing (InvalidSignatureException), creating nothing', async () => {
    const before = await keyCount();
    const { headers } = await sign({
      target: 'TrentService.CreateKey',
      body: JSON.stringify({ Description: 'signed' }),
    });
    const tampered = Buffer.from(JSON.stringify({ Description: 'tampr' }), 'utf8');
    const r = await send(headers, tampered);
    assertError(r, 'InvalidSignatureException');
    assert.match(r.message, /signature we calculated does not match/);
    assert.equal(await keyCount(), before, 'no key was created');
  });

  it('a correctly signed CreateKey does create a key (control for the tamper tests)', async () => {
    const before = await keyCount();
    const { headers, body } = await sign({
      target: 'TrentService.CreateKey',
      body: JSON.stringify({ Description: 'signed' }),
    });
    const r = await send(headers, body);
    assert.equal(r.status, 200, `${r.type}: ${r.message}`);
    assert.equal(await keyCount(), before + 1);
  });

  it('rejects a body that does not match a signed x-amz-content-sha256, creating nothing', async () => {
    const before = await keyCount();
    const declared = JSON.stringify({ Description: 'declared' });
    const actual = JSON.stringify({ Description: 'smuggled' });
    // The signer trusts a present x-amz-content-sha256, so the signature itself is valid
    // for the declared hash; only comparing the hash with the body can catch this.
    const { headers } = await sign({
      target: 'TrentService.CreateKey',
      body: declared,
      extraHeaders: {
        'x-amz-content-sha256': createHash('sha256').update(declared).digest('hex'),
      },
    });
    assert.ok(signedHeaderNames(headers).includes('x-amz-content-sha256'));
    const r = await send(headers, Buffer.from(actual, 'utf8'));
    assertError(r, 'InvalidSignatureException');
    assert.equal(await keyCount(), before, 'no key was created');
  });

  it('rejects a signed header changed after signing (x-amz-target → ListAliases)', async () => {
    const { headers, body } = await sign();
    const r = await send({ ...headers, 'x-amz-target': 'TrentService.ListAliases' }, body);
    assertError(r, 'InvalidSignatureException');
  });

  it('rejects a request missing one of its signed headers', async () => {
    const { headers, body } = await sign();
    assert.ok(signedHeaderNames(headers).includes('content-type'));
    const { ['content-type']: _dropped, ...rest } = headers;
    assert.equal(_dropped, 'application/x-amz-json-1.1');
    const r = await send(rest, body);
    assertError(r, 'InvalidSignatureException');
  });

  it('rejects a signature made 6 minutes in the past ("Signature expired")', async () => {
    const { headers, body } = await sign({ signingDate: new Date(Date.now() - 6 * 60_000) });
    const r = await send(headers, body);
    assertError(r, 'InvalidSignatureException');
    assert.match(r.message, /^Signature expired/);
  });

  it('rejects a signature dated 6 minutes in the future', async () => {
    const { headers, body } = await sign({ signingDate: new Date(Date.now() + 6 * 60_000) });
    const r = await send(headers, body);
    assertError(r, 'InvalidSignatureException');
    assert.match(r.message, /^Signature not yet current/);
  });

  it('accepts a signature 4 minutes old (inside the 5-minute window)', async () => {
    const { headers, body } = await sign({ signingDate: new Date(Date.now() - 4 * 60_000) });
    const r = await send(headers, body);
    assert.equal(r.status, 200, `${r.type}: ${r.message}`);
  });

  it('rejects an unknown access key id (UnrecognizedClientException)', async () => {
    const { headers, body } = await sign({ accessKeyId: 'AKIAUNKNOWNKEY000000' });
    const r = await send(headers, body);
    assertError(r, 'UnrecognizedClientException');
    assert.equal(r.message, 'The security token included in the request is invalid.');
  });

  it('rejects a signature made with the wrong secret (InvalidSignatureException)', async () => {
    const { headers, body } = await sign({ secretAccessKey: 'x'.repeat(40) });
    const r = await send(headers, body);
    assertError(r, 'InvalidSignatureException');
  });

  it('rejects a request without Authorization: MissingAuthenticationTokenException, HTTP 403', async () => {
    const { headers, body } = await sign();
    const { authorization: _auth, ...rest } = headers;
    assert.ok(_auth !== undefined);
    const r = await send(rest, body);
    assertError(r, 'MissingAuthenticationTokenException', 403);
  });

  it('rejects a credential scoped to another service (s3)', async () => {
    const { headers, body } = await sign({ service: 's3' });
    const r = await send(headers, body);
    assertError(r, 'InvalidSignatureException');
    assert.match(r.message, /scoped to correct service/);
  });

  it('rejects a credential scoped to a Region the server does not serve (eu-west-3)', async () => {
    const { headers, body } = await sign({ region: 'eu-west-3' });
    const r = await send(headers, body);
    assertError(r, 'InvalidSignatureException');
    assert.match(r.message, /eu-west-3/);
  });

  it('rejects a garbage Authorization header (IncompleteSignatureException)', async () => {
    const { headers, body } = await sign();
    const r = await send({ ...headers, authorization: 'garbage' }, body);
    assertError(r, 'IncompleteSignatureException');
  });

  it('rejects a signature with one hex digit flipped', async () => {
    const { headers, body } = await sign();
    const auth = headers['authorization'] ?? '';
    const last = auth.slice(-1);
    const flipped = auth.slice(0, -1) + (last === '0' ? '1' : '0');
    const r = await send({ ...headers, authorization: flipped }, body);
    assertError(r, 'InvalidSignatureException');
  });

  it('no refused request created a key, even a tampered CreateKey with each failure mode', async () => {
    const before = await keyCount();
    const createBody = JSON.stringify({ Description: 'must not exist' });
    const attempts: Array<Promise<Signed>> = [
      sign({ target: 'TrentService.CreateKey', body: createBody, secretAccessKey: 'y'.repeat(40) }),
      sign({
        target: 'TrentService.CreateKey',
        body: createBody,
        accessKeyId: 'AKIANOBODY0000000000',
      }),
      sign({ target: 'TrentService.CreateKey', body: createBody, service: 's3' }),
      sign({ target: 'TrentService.CreateKey', body: createBody, region: 'eu-west-3' }),
      sign({
        target: 'TrentService.CreateKey',
        body: createBody,
        signingDate: new Date(Date.now() - 10 * 60_000),
      }),
    ];
    for (const a of attempts) {
      const { headers, body } = await a;
      const r = await send(headers, body);
      assert.notEqual(r.status, 200, `refused: ${r.type}`);
    }
    // Changed target: signed as ListKeys, sent as CreateKey.
    const { headers, body } = await sign({ body: createBody });
    const r = await send({ ...headers, 'x-amz-target': 'TrentService.CreateKey' }, body);
    assertError(r, 'InvalidSignatureException');
    assert.equal(await keyCount(), before, 'no key was created by any refused request');
  });

  it('SDK client with the wrong secret gets InvalidSignatureException and creates nothing', async () => {
    const before = await keyCount();
    const bad = server.clientWith(TEST_ACCESS_KEY_ID, 'z'.repeat(40));
    try {
      await expectAwsError(bad.send(new CreateKeyCommand({})), 'InvalidSignatureException');
      await expectAwsError(bad.send(new ListKeysCommand({})), 'InvalidSignatureException');
    } finally {
      bad.destroy();
    }
    assert.equal(await keyCount(), before);
  });

  it('SDK client with an unknown access key gets UnrecognizedClientException', async () => {
    const bad = server.clientWith('AKIANOSUCHKEY0000000', TEST_SECRET_ACCESS_KEY);
    try {
      await expectAwsError(bad.send(new ListKeysCommand({})), 'UnrecognizedClientException');
    } finally {
      bad.destroy();
    }
  });

  it('compares signatures in constant time (code-level guard on the verifier: timingSafeEqual)', () => {
    const path = fileURLToPath(new URL('../../../src/auth/sigv4-signature.ts', import.meta.url));
    const src = readFileSync(path, 'utf8');
    assert.match(src, /import\s*\{[^}]*\btimingSafeEqual\b[^}]*\}\s*from\s*'node:crypto'/);
    assert.match(src, /timingSafeEqual\(/);
    // No plain string comparison of the provided signature.
    assert.doesNotMatch(src, /\.signature\s*[!=]==|[!=]==\s*p\.signature/);
  });
});
