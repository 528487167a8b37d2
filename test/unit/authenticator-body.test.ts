/**
 * The header checks run once, before the body is read (`checkHeaders`); `verifySignature`
 * finishes them once the body is there, and still judges what can change while the body
 * arrives: a credential deleted meanwhile, the clock skew. Real SQLite, real HSM, SigV4
 * signed by @smithy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Authenticator } from '../../src/auth/authenticator.js';
import { KmsError } from '../../src/errors/aws-errors.js';
import { SecretBytes } from '../../src/hsm/secret-bytes.js';
import { SoftwareHsm } from '../../src/hsm/software-hsm.js';
import { DomainKeys } from '../../src/kms/crypto/domain-keys.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';

const ID = 'AKIABODYTEST00000001';
const SECRET = 'bodyTestSecret0123456789abcdefghijklmnop';
const ROOT = 'arn:aws:iam::111122223333:root';

let dir: string;
let storage: SqliteStorage;
let auth: Authenticator;
let offsetMs = 0;

async function signed(body = '{}') {
  const signer = new SignatureV4({
    service: 'kms',
    region: 'us-east-1',
    credentials: { accessKeyId: ID, secretAccessKey: SECRET },
    sha256: Hash.bind(null, 'sha256'),
  });
  const req = await signer.sign(
    new HttpRequest({
      method: 'POST',
      hostname: 'localhost',
      path: '/',
      headers: {
        host: 'localhost',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'TrentService.ListKeys',
      },
      body,
    }),
  );
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return { method: 'POST', host: 'localhost', path: '/', headers, body: Buffer.from(body) };
}

const kmsCode = (code: string) => (e: unknown) => e instanceof KmsError && e.code === code;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyhold-authbody-'));
  storage = new SqliteStorage(join(dir, 'keyhold.db'));
  const hsm = new SoftwareHsm(
    new SecretBytes(Buffer.alloc(32, 3)),
    new SecretBytes(Buffer.alloc(32, 4)),
  );
  await DomainKeys.open(storage, hsm, new Date());
  auth = new Authenticator(
    storage,
    hsm,
    {
      regions: ['us-east-1'],
      maxSkewSeconds: 300,
      now: () => new Date(Date.now() + offsetMs),
    },
    storage.iam,
  );
});

after(async () => {
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('checkHeaders then verifySignature authenticates; a body other than the signed one is refused', async () => {
  await auth.putAccessKey(ID, SECRET, ROOT, new Date());
  const req = await signed();
  const checked = await auth.checkHeaders(req);
  assert.equal(checked.principal.arn, ROOT);
  const caller = await auth.verifySignature(checked, req);
  assert.equal(caller.principal.arn, ROOT);
  assert.equal(caller.region, 'us-east-1');
  await assert.rejects(
    auth.verifySignature(checked, { ...req, body: Buffer.from('{"Limit":1}') }),
    kmsCode('InvalidSignatureException'),
  );
});

it('a key deleted while the body arrives is refused after the body', async () => {
  await auth.putAccessKey(ID, SECRET, ROOT, new Date());
  const req = await signed();
  const checked = await auth.checkHeaders(req);
  assert.equal(await storage.iam.deleteAccessKey(ID), true);
  auth.forget(ID);
  await assert.rejects(auth.verifySignature(checked, req), kmsCode('UnrecognizedClientException'));
});

it('a signature that expires while the body arrives is refused after the body', async () => {
  await auth.putAccessKey(ID, SECRET, ROOT, new Date());
  const req = await signed();
  const checked = await auth.checkHeaders(req);
  offsetMs = 301_000;
  try {
    await assert.rejects(
      auth.verifySignature(checked, req),
      (e: unknown) =>
        kmsCode('InvalidSignatureException')(e) &&
        /Signature expired/.test(String((e as Error).message)),
    );
  } finally {
    offsetMs = 0;
  }
});
