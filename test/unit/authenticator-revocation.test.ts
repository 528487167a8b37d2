/**
 * The authenticator never trusts its credential cache alone: on PostgreSQL, while the
 * LISTEN connection is down (deletions made elsewhere may be missed), every request's
 * credential is confirmed against the database. Real PostgreSQL, real HSM, real SigV4.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Authenticator } from '../../src/auth/authenticator.js';
import { DomainKeys } from '../../src/kms/crypto/domain-keys.js';
import { derivePurposeKey, loadRootKey } from '../../src/hsm/root-key.js';
import { SoftwareHsm } from '../../src/hsm/software-hsm.js';
import { KmsError } from '../../src/errors/aws-errors.js';
import { PgInvalidationListener } from '../../src/storage/postgres/pg-notify.js';
import { PostgresStorage } from '../../src/storage/postgres/pg-storage.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const ID = 'AKIAREVOKETEST000001';
const SECRET = 'revokeTestSecret0123456789abcdefghijklmn';
const ROOT = 'arn:aws:iam::111122223333:root';

let db: TestDatabase;
let pg: PostgresStorage;
let listener: PgInvalidationListener;
let auth: Authenticator;

async function signed() {
  const signer = new SignatureV4({
    service: 'kms',
    region: 'us-east-1',
    credentials: { accessKeyId: ID, secretAccessKey: SECRET },
    sha256: Hash.bind(null, 'sha256'),
  });
  const body = '{}';
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

before(async () => {
  db = await createTestDatabase();
  pg = await PostgresStorage.open(db.url);
  const root = loadRootKey({ dataDir: mkdtempSync(join(tmpdir(), 'keyhold-authrev-')) });
  const hsm = new SoftwareHsm(
    derivePurposeKey(root.key, 'domain-key-wrap'),
    derivePurposeKey(root.key, 'secret-seal'),
  );
  await DomainKeys.open(pg, hsm, new Date());
  listener = new PgInvalidationListener(pg.db);
  await listener.start();
  auth = new Authenticator(
    pg,
    hsm,
    { regions: ['us-east-1'], maxSkewSeconds: 300, now: () => new Date(), invalidations: listener },
    pg.iam,
  );
  await auth.putAccessKey(ID, SECRET, ROOT, new Date());
});

after(async () => {
  await listener?.close();
  await pg?.close();
  await db?.drop();
});

it('while the LISTEN connection is down, a key deleted meanwhile is refused on its next use', async () => {
  const ok = await auth.authenticate(await signed());
  assert.equal(ok.principal.arn, ROOT);
  // Cached now. The listener goes away; the deletion's NOTIFY reaches nobody.
  await listener.close();
  assert.equal(listener.live, false);
  assert.equal(await pg.iam.deleteAccessKey(ID), true);
  await assert.rejects(
    auth.authenticate(await signed()),
    (e: unknown) =>
      e instanceof KmsError &&
      e.code === 'UnrecognizedClientException' &&
      e.message === 'The security token included in the request is invalid.',
  );
});
