/**
 * Both adapters store principal bindings (user/role ARN → unique id) with key policies,
 * grants and trust policies, and read them back exactly: absent when there are none,
 * replaced by an update, kept by an update that does not change them.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PostgresStorage } from '../../../src/storage/postgres/pg-storage.js';
import type { KeyRecord, Storage } from '../../../src/storage/repository.js';
import type { GrantRecord } from '../../../src/storage/grant-repository.js';
import type { IamRoleRecord } from '../../../src/storage/iam-repository.js';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

const ACCT = '111122223333';
const ALICE = `arn:aws:iam::${ACCT}:user/alice`;
const ALICE_ID = 'AIDAALICE000000000001';
const BOB = `arn:aws:iam::${ACCT}:user/bob`;
const BOB_ID = 'AIDABOB00000000000001';

const key = (over: Partial<KeyRecord> = {}): KeyRecord => {
  const keyId = randomUUID();
  return {
    region: 'us-east-1',
    keyId,
    accountId: ACCT,
    arn: `arn:aws:kms:us-east-1:${ACCT}:key/${keyId}`,
    description: '',
    keyState: 'Enabled',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    multiRegion: false,
    policy: '{}',
    creationDate: new Date(1_700_000_000_000),
    revision: 0,
    ...over,
  };
};

function suite(name: string, open: () => Promise<Storage>): void {
  describe(`principal bindings in storage: ${name}`, () => {
    it('key policies: bindings round-trip, are replaced by updateKey, absent when none', async () => {
      const s = await open();
      try {
        const k = key({ policyPrincipals: { [ALICE]: ALICE_ID } });
        await s.createKey(k, undefined, []);
        assert.deepEqual(await s.getKey(k.region, k.keyId), k);
        const next = await s.updateKey({ ...k, policyPrincipals: { [BOB]: BOB_ID } });
        assert.deepEqual((await s.getKey(k.region, k.keyId))?.policyPrincipals, { [BOB]: BOB_ID });
        await s.updateKey({ ...next, keyState: 'Disabled' });
        assert.deepEqual((await s.getKey(k.region, k.keyId))?.policyPrincipals, { [BOB]: BOB_ID });
        const plain = key();
        await s.createKey(plain, undefined, []);
        assert.equal(
          'policyPrincipals' in ((await s.getKey(plain.region, plain.keyId)) ?? {}),
          false,
        );
      } finally {
        await s.close();
      }
    });

    it('grants: grantee and retiring unique ids round-trip; absent when unbound', async () => {
      const s = await open();
      try {
        const k = key();
        await s.createKey(k, undefined, []);
        const g: GrantRecord = {
          region: k.region,
          keyId: k.keyId,
          grantId: randomBytes(32).toString('hex'),
          accountId: ACCT,
          issuingPrincipal: `arn:aws:iam::${ACCT}:root`,
          granteePrincipal: ALICE,
          retiringPrincipal: BOB,
          granteePrincipalId: ALICE_ID,
          retiringPrincipalId: BOB_ID,
          operations: ['Encrypt'],
          creationDate: new Date(1_700_000_000_000),
          fingerprint: randomBytes(8).toString('hex'),
        };
        await s.grants.createGrant(g, randomBytes(32));
        assert.deepEqual(await s.grants.getGrant(k.region, k.keyId, g.grantId), g);
        const unbound = { ...g, grantId: randomBytes(32).toString('hex') };
        delete unbound.granteePrincipalId;
        delete unbound.retiringPrincipalId;
        await s.grants.createGrant(unbound, randomBytes(32));
        assert.deepEqual(await s.grants.getGrant(k.region, k.keyId, unbound.grantId), unbound);
      } finally {
        await s.close();
      }
    });

    it('trust policies: bindings round-trip through createRole, updateRole and listRoles', async () => {
      const s = await open();
      try {
        await s.iam.putAccount({ accountId: ACCT, createdAt: new Date(1) });
        const role: IamRoleRecord = {
          accountId: ACCT,
          name: 'app',
          path: '/',
          arn: `arn:aws:iam::${ACCT}:role/app`,
          roleId: 'AROAAPP00000000000001',
          trustPolicy: '{}',
          trustPolicyPrincipals: { [ALICE]: ALICE_ID },
          maxSessionDuration: 3600,
          description: '',
          createdAt: new Date(1_700_000_000_000),
        };
        await s.iam.createRole(role);
        assert.deepEqual(await s.iam.getRole(role.arn), role);
        await s.iam.updateRole({ ...role, trustPolicyPrincipals: { [BOB]: BOB_ID } });
        assert.deepEqual((await s.iam.listRoles(ACCT))[0]?.trustPolicyPrincipals, {
          [BOB]: BOB_ID,
        });
        const user = {
          accountId: ACCT,
          name: 'alice',
          path: '/',
          arn: ALICE,
          userId: ALICE_ID,
          createdAt: new Date(1_700_000_000_000),
        };
        await s.iam.createUser(user);
        assert.deepEqual(await s.iam.getUser(ALICE), user);
      } finally {
        await s.close();
      }
    });
  });
}

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

suite(
  'sqlite',
  async () => new SqliteStorage(join(mkdtempSync(join(tmpdir(), 'keyhold-bind-')), 'keyhold.db')),
);
suite('postgres', () =>
  PostgresStorage.open(db.url, { schema: `s_${randomBytes(5).toString('hex')}`, max: 2 }),
);
