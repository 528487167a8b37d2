/**
 * Every x-amz-* header a request carries must be signed (KMS, STS and the admin API): a
 * request signed without X-Amz-Target cannot be replayed with another target. Admin
 * operation names are looked up as own properties only. The SDK and the AWS CLI, which
 * sign all their x-amz-* headers, keep working (sdk-*.test.ts, aws-cli.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

interface Answer {
  status: number;
  text: string;
  json: Record<string, unknown>;
}

/** Sign `signed` headers (plus host and x-amz-date), add `added` after signing, POST it. */
async function post(
  signed: Record<string, string>,
  body: string,
  added: Record<string, string> = {},
  service = 'kms',
): Promise<Answer> {
  const url = new URL(server.url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    region: TEST_REGION,
    service,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const request = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: { host: url.host, ...signed },
      body,
    }),
  );
  const headers: Record<string, string> = { ...added };
  for (const [k, v] of Object.entries(request.headers)) if (k !== 'host') headers[k] = String(v);
  const res = await fetch(server.url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // STS answers XML
  }
  return { status: res.status, text, json };
}

const JSON_TYPE = { 'content-type': 'application/x-amz-json-1.1' };

async function keyCount(): Promise<number> {
  return (await server.client.send(new ListKeysCommand({ Limit: 1000 }))).Keys?.length ?? 0;
}

describe('every x-amz-* header must be signed', () => {
  it('control: the same request with X-Amz-Target signed is served', async () => {
    const r = await post({ ...JSON_TYPE, 'x-amz-target': 'TrentService.ListKeys' }, '{}');
    assert.equal(r.status, 200, r.text);
  });

  it('a request signed without X-Amz-Target, target added later, is refused and creates nothing', async () => {
    const before = await keyCount();
    const r = await post(JSON_TYPE, '{}', { 'x-amz-target': 'TrentService.CreateKey' });
    assert.equal(r.status, 400);
    assert.equal(r.json['__type'], 'InvalidSignatureException');
    assert.match(String(r.json['message']), /'x-amz-target' must be a 'SignedHeader'/);
    assert.equal(await keyCount(), before, 'no key was created');
  });

  it('an unsigned x-amz-* header of any name is refused (InvalidSignatureException)', async () => {
    const r = await post({ ...JSON_TYPE, 'x-amz-target': 'TrentService.ListKeys' }, '{}', {
      'X-Amz-Meta-Anything': 'x',
    });
    assert.equal(r.status, 400);
    assert.equal(r.json['__type'], 'InvalidSignatureException');
    assert.match(String(r.json['message']), /'x-amz-meta-anything'/);
  });

  it('an unsigned x-amz-security-token is refused before the token is judged', async () => {
    const r = await post({ ...JSON_TYPE, 'x-amz-target': 'TrentService.ListKeys' }, '{}', {
      'x-amz-security-token': 'replayed-token',
    });
    assert.equal(r.json['__type'], 'InvalidSignatureException');
  });

  it('signed x-amz-user-agent and amz-sdk-* headers (as the SDKs send them) are fine', async () => {
    const r = await post(
      {
        ...JSON_TYPE,
        'x-amz-target': 'TrentService.ListKeys',
        'x-amz-user-agent': 'aws-sdk-js/3',
        'amz-sdk-invocation-id': '0b1c',
        'amz-sdk-request': 'attempt=1; max=3',
      },
      '{}',
      { 'x-amzn-trace-id': 'Root=1-abc' },
    );
    assert.equal(r.status, 200, r.text);
  });

  it('STS: an unsigned x-amz-* header gets SignatureDoesNotMatch; signed, GetCallerIdentity works', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    const body = 'Action=GetCallerIdentity&Version=2011-06-15';
    const ok = await post(form, body, {}, 'sts');
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /<Account>111122223333<\/Account>/);
    const bad = await post(form, body, { 'x-amz-extra': '1' }, 'sts');
    assert.equal(bad.status, 403);
    assert.match(bad.text, /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  it('admin API: a root call signed without its X-Amz-Target is refused', async () => {
    const r = await post(JSON_TYPE, '{"AccountId":"111122223333","UserName":"mallory"}', {
      'x-amz-target': 'KeyholdAdmin.CreateUser',
    });
    assert.equal(r.json['__type'], 'SignatureDoesNotMatch');
    const users = await post(
      { ...JSON_TYPE, 'x-amz-target': 'KeyholdAdmin.ListUsers' },
      '{"AccountId":"111122223333"}',
    );
    assert.doesNotMatch(users.text, /mallory/);
  });

  it('the AWS CLI signs every x-amz-* header it sends (a call still succeeds)', async () => {
    // Asynchronously: the server runs in this process.
    const res = await promisify(execFile)(
      '/usr/bin/aws',
      ['kms', 'list-keys', '--endpoint-url', server.url, '--output', 'json'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
          AWS_DEFAULT_REGION: TEST_REGION,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.ok(Array.isArray((JSON.parse(res.stdout) as { Keys: unknown }).Keys));
  });
});

describe('admin operation names are own properties only', () => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
    it(`KeyholdAdmin.${name} → 400 InvalidAction (not a 500)`, async () => {
      const r = await post({ ...JSON_TYPE, 'x-amz-target': `KeyholdAdmin.${name}` }, '{}');
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json['__type'], 'InvalidAction');
      assert.equal(r.json['message'], `Unknown admin operation ${name}`);
    });
  }

  it('control: a real admin operation is still found', async () => {
    const r = await post(
      { ...JSON_TYPE, 'x-amz-target': 'KeyholdAdmin.ListUsers' },
      '{"AccountId":"111122223333"}',
    );
    assert.equal(r.status, 200, r.text);
  });

  for (const name of ['constructor', '__proto__', 'toString']) {
    it(`TrentService.${name} → 400 UnknownOperationException`, async () => {
      const r = await post({ ...JSON_TYPE, 'x-amz-target': `TrentService.${name}` }, '{}');
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json['__type'], 'UnknownOperationException');
    });
  }
});
