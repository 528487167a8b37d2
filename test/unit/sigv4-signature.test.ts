/**
 * keyhold's own SigV4 verifier (src/auth/sigv4-signature.ts) against @smithy/signature-v4,
 * the signer of the AWS SDKs (fast-check): on random requests both compute the same
 * signature or refuse with the same error; a request signed by @smithy verifies, and every
 * single mutation of it (a body byte, a signed header, the target, method, path, query,
 * date, scope, signature, an added unsigned x-amz-* header) is rejected by both.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  parseAuthorization,
  requireSignedAmzHeaders,
  SigV4Verifier,
  type ParsedAuthorization,
  type SignedRequest,
} from '../../src/auth/sigv4.js';
import { KmsError } from '../../src/errors/aws-errors.js';
import { SmithySigV4Verifier } from '../helpers/sigv4-reference.js';

const ID = 'AKIAPROPERTYTEST0001';
const SECRET = 'pRoPeRtYtEsTsEcReT/0123456789abcdefABCD';
const fast = new SigV4Verifier(ID, SECRET);
const reference = new SmithySigV4Verifier(ID, SECRET);

/** Names an object has by inheritance would make a plain header map lie; Node's never has them. */
const inherited = (n: string) => n in Object.prototype || n === '__proto__';
const headerName = fc
  .stringMatching(/^[a-z][a-z0-9-]{0,12}$/)
  .filter((n) => !inherited(n) && n !== 'host' && n !== 'x-amz-date');
const headerValue = fc.string({
  unit: fc.constantFrom(...'ab Z09 \t,;=:/"-_ü'.split('')),
  maxLength: 16,
});
const pathSegment = fc.oneof(
  fc.constantFrom('', '.', '..', 'a', 'b c', '%2F', '%41', '%', 'ü', '~', "!'()*", '+', '&=', ':@'),
  fc.string({ unit: fc.constantFrom(...'az09-._~%+ '.split('')), maxLength: 6 }),
);
const queryText = fc.string({ unit: fc.constantFrom(...'ab01 +%=~*!é/'.split('')), maxLength: 6 });
const amzDate = fc
  .date({
    min: new Date('2020-01-01T00:00:00Z'),
    max: new Date('2030-12-31T23:59:59Z'),
    noInvalidDate: true,
  })
  .map((d) =>
    d
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replace(/[-:]/g, ''),
  );

function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Agreement: any request, any SignedHeaders list. */
const anyRequest = fc
  .record({
    method: fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'post', ''),
    segments: fc.array(pathSegment, { maxLength: 5 }),
    leading: fc.boolean(),
    trailing: fc.boolean(),
    query: fc.option(fc.array(fc.tuple(queryText, queryText), { maxLength: 4 })),
    rawQuery: fc.option(queryText),
    extra: fc.dictionary(
      headerName,
      fc.oneof(headerValue, fc.array(headerValue, { minLength: 1, maxLength: 3 })),
    ),
    signExtra: fc.array(fc.nat(), { maxLength: 6 }),
    alsoSign: fc.subarray(['authorization', 'date', 'x-amz-date', 'missing-header', 'host']),
    body: fc.uint8Array({ maxLength: 64 }),
    contentHash: fc.constantFrom('none', 'right', 'wrong'),
    date: amzDate,
    region: fc.constantFrom('us-east-1', 'eu-west-3', '*'),
    service: fc.constantFrom('kms', 'sts'),
  })
  .map((r) => {
    let path = `${r.leading ? '/' : ''}${r.segments.join('/')}${r.trailing ? '/' : ''}`;
    if (r.query !== null)
      path += `?${r.query.map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`).join('&')}`;
    else if (r.rawQuery !== null) path += `?${r.rawQuery}`;
    const headers: Record<string, string | string[]> = {
      host: '127.0.0.1:8420',
      'x-amz-date': r.date,
      authorization: 'AWS4-HMAC-SHA256 ...',
      ...r.extra,
    };
    if (r.contentHash !== 'none')
      headers['x-amz-content-sha256'] =
        r.contentHash === 'right' ? sha256(r.body) : sha256(new Uint8Array(1));
    const names = Object.keys(headers);
    const signed = [
      ...r.signExtra.map((i) => names[i % names.length] as string),
      ...r.alsoSign,
      ...(r.contentHash !== 'none' ? ['x-amz-content-sha256'] : []),
    ];
    const req: SignedRequest = {
      method: r.method,
      host: '127.0.0.1',
      path,
      headers,
      body: Buffer.from(r.body),
    };
    const p = parseAuthorization({
      ...req,
      headers: {
        ...headers,
        authorization: `AWS4-HMAC-SHA256 Credential=${ID}/${r.date.slice(0, 8)}/${r.region}/${r.service}/aws4_request, SignedHeaders=${['host', ...signed].join(';')}, Signature=${'0'.repeat(64)}`,
      },
    });
    return { req, p };
  });

async function outcome(f: () => Promise<string> | string): Promise<string> {
  try {
    return `ok ${await f()}`;
  } catch (err) {
    assert.ok(err instanceof KmsError, `not a KmsError: ${String(err)}`);
    return `${err.code}: ${err.message}`;
  }
}

describe('SigV4 verifier against @smithy/signature-v4', () => {
  it('computes the same signature, or the same error, on random requests', async () => {
    await fc.assert(
      fc.asyncProperty(anyRequest, async ({ req, p }) => {
        const ours = await outcome(() => fast.signature(req, p));
        const theirs = await outcome(() => reference.signature(req, p));
        assert.equal(ours, theirs);
      }),
      { numRuns: 600 },
    );
  });

  it('accepts what @smithy signed and rejects every single mutation', async () => {
    const mutation = fc.constantFrom(
      'body',
      'header',
      'target',
      'method',
      'path',
      'query',
      'date',
      'region',
      'signature',
      'unsigned-amz-header',
      'secret',
    );
    const signedRequest = fc.record({
      body: fc.uint8Array({ maxLength: 64 }),
      extra: fc.dictionary(headerName, headerValue, { maxKeys: 3 }),
      path: fc.stringMatching(/^\/[a-z0-9._~-]{0,8}$/),
      query: fc.array(fc.tuple(queryText, queryText), { maxLength: 3 }),
      contentHash: fc.boolean(),
      date: fc.integer({ min: 0, max: 3e8 }),
      mutation,
      pick: fc.nat(),
    });
    const signer = new SignatureV4({
      credentials: { accessKeyId: ID, secretAccessKey: SECRET },
      region: 'us-east-1',
      service: 'kms',
      sha256: Hash.bind(null, 'sha256'),
      applyChecksum: false,
    });
    await fc.assert(
      fc.asyncProperty(signedRequest, async (r) => {
        const query: Record<string, string> = {};
        for (const [k, v] of r.query)
          if (!inherited(k) && k.toLowerCase() !== 'x-amz-signature') query[k] = v;
        const headers: Record<string, string> = {
          host: '127.0.0.1:8420',
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'TrentService.GenerateDataKey',
          ...r.extra,
        };
        if (r.contentHash) headers['x-amz-content-sha256'] = sha256(r.body);
        const signingDate = new Date(Date.UTC(2025, 0, 1) + r.date * 1000);
        const signed = await signer.sign(
          new HttpRequest({
            method: 'POST',
            protocol: 'http:',
            hostname: '127.0.0.1',
            port: 8420,
            path: r.path,
            query,
            headers,
            body: r.body,
          }),
          { signingDate },
        );
        const wire: Record<string, string> = {};
        for (const [k, v] of Object.entries(signed.headers)) wire[k.toLowerCase()] = String(v);
        const qs = Object.entries(query)
          .map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`)
          .join('&');
        const req: SignedRequest = {
          method: 'POST',
          host: '127.0.0.1:8420',
          path: qs === '' ? r.path : `${r.path}?${qs}`,
          headers: wire,
          body: Buffer.from(r.body),
        };
        const p = parseAuthorization(req);
        requireSignedAmzHeaders(req, p);
        await fast.verify(req, p);
        await reference.verify(req, p);

        const { req: bad, p: badP, verifier } = mutate(req, p, r.mutation, r.pick);
        for (const v of verifier === undefined ? [fast, reference] : verifier) {
          await assert.rejects(
            async () => {
              const again = badP ?? parseAuthorization(bad);
              requireSignedAmzHeaders(bad, again);
              await v.verify(bad, again);
            },
            (err: unknown) => err instanceof KmsError && err.code === 'InvalidSignatureException',
            `${r.mutation} was accepted`,
          );
        }
      }),
      { numRuns: 400 },
    );
  });
});

type Verifier = { verify(req: SignedRequest, p: ParsedAuthorization): Promise<void> };

/** One change to a correctly signed request; `p` set when the parsed Authorization is reused. */
function mutate(
  req: SignedRequest,
  p: ParsedAuthorization,
  kind: string,
  pick: number,
): { req: SignedRequest; p?: ParsedAuthorization; verifier?: Verifier[] } {
  const headers = { ...(req.headers as Record<string, string>) };
  const out = { ...req, headers };
  switch (kind) {
    case 'body': {
      const body = Buffer.from(req.body);
      if (body.length === 0) return { req: { ...out, body: Buffer.from([pick % 256]) } };
      const i = pick % body.length;
      body[i] = (body[i] as number) ^ (1 << (pick % 8));
      return { req: { ...out, body } };
    }
    case 'header': {
      const names = p.signedHeaders.filter((n) => n !== 'x-amz-date');
      const name = names[pick % names.length] as string;
      headers[name] = `${headers[name] ?? ''}Q`;
      return { req: out };
    }
    case 'target':
      headers['x-amz-target'] = 'TrentService.Decrypt';
      return { req: out };
    case 'method':
      return { req: { ...out, method: 'PUT' } };
    case 'path': {
      // Lengthen the last segment: a prefix such as `/x` can vanish in normalization
      // (`/x/..` and `/..` both become `/`), and an equal canonical path is rightly accepted.
      const q = req.path.indexOf('?');
      const [pathPart, rest] = q < 0 ? [req.path, ''] : [req.path.slice(0, q), req.path.slice(q)];
      return { req: { ...out, path: `${pathPart}z${rest}` } };
    }
    case 'query':
      return { req: { ...out, path: `${req.path}${req.path.includes('?') ? '&' : '?'}q=${pick}` } };
    case 'date': {
      const d = new Date(p.signingDate.getTime() + 1000 * (1 + (pick % 300)));
      headers['x-amz-date'] = d
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
      headers.authorization = (headers.authorization as string).replace(
        /\/\d{8}\//,
        `/${(headers['x-amz-date'] as string).slice(0, 8)}/`,
      );
      return { req: out };
    }
    case 'region':
      headers.authorization = (headers.authorization as string).replace(
        '/us-east-1/',
        '/us-west-2/',
      );
      return { req: out };
    case 'signature': {
      const sig = p.signature;
      const i = pick % sig.length;
      const c = sig[i] === '0' ? '1' : '0';
      return { req: out, p: { ...p, signature: sig.slice(0, i) + c + sig.slice(i + 1) } };
    }
    case 'unsigned-amz-header':
      headers['x-amz-security-token'] = 'forged';
      return { req: out };
    default: // another credential's secret
      return {
        req: out,
        p,
        verifier: [new SigV4Verifier(ID, `${SECRET}x`), new SmithySigV4Verifier(ID, `${SECRET}x`)],
      };
  }
}
