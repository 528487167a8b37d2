/**
 * The storage conformance suite: one set of tests every adapter runs (SQLite
 * and PostgreSQL). Each test gets a fresh, empty store from the factory.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  ConcurrentUpdateError,
  DuplicateKeyError,
  type KeyRecord,
  type KeyVersionRecord,
  type Storage,
} from '../../../src/storage/repository.js';
import type { GrantRecord } from '../../../src/storage/grant-repository.js';
import type { CustomKeyStoreRecord } from '../../../src/keystores/types.js';
import type {
  RotationRecord,
  RotationSettingsRecord,
  RotationType,
} from '../../../src/storage/rotation-repository.js';

export interface StorageFactory {
  open(): Promise<Storage>;
  /** Close and reopen the same store (durability). */
  reopen(s: Storage): Promise<Storage>;
}

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';

function newKey(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const keyId = randomUUID();
  return {
    region: REGION,
    keyId,
    accountId: ACCOUNT,
    arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`,
    description: 'd',
    keyState: 'Enabled',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    multiRegion: false,
    policy: '{}',
    creationDate: new Date(1_700_000_000_123),
    currentVersionId: randomBytes(32).toString('hex'),
    revision: 0,
    ...overrides,
  };
}

function versionOf(k: KeyRecord, domainKeyId = 'dk-1'): KeyVersionRecord {
  return {
    region: k.region,
    keyId: k.keyId,
    versionId: k.currentVersionId as string,
    domainKeyId,
    ekt: randomBytes(60),
    createdAt: k.creationDate,
  };
}

function newStore(overrides: Partial<CustomKeyStoreRecord> = {}): CustomKeyStoreRecord {
  const id = `cks-${randomBytes(9).toString('hex').slice(0, 17)}`;
  return {
    region: REGION,
    accountId: ACCOUNT,
    customKeyStoreId: id,
    name: `store-${id}`,
    type: 'AWS_CLOUDHSM',
    connectionState: 'DISCONNECTED',
    creationDate: new Date(1_700_000_000_456),
    cloudHsm: { clusterId: 'cluster-abcdefghijk', trustAnchorCertificate: 'PEM' },
    sealedSecret: randomBytes(48),
    revision: 0,
    ...overrides,
  };
}

/** Records compared without their undefined members (adapters may omit or null them). */
function defined<T extends object>(r: T | undefined): Partial<T> | undefined {
  if (r === undefined) return undefined;
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function storageConformance(name: string, factory: StorageFactory): void {
  const withStore = (fn: (s: Storage) => Promise<void>) => async () => {
    const s = await factory.open();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };

  describe(`storage conformance: ${name}`, () => {
    it(
      'creates a key with its version and tags, and reads it back exactly',
      withStore(async (s) => {
        const k = newKey({
          deletionDate: new Date(1_800_000_000_000),
          pendingDeletionWindowInDays: 7,
        });
        const v = versionOf(k);
        await s.createKey(k, v, [
          { tagKey: 'b', tagValue: '2' },
          { tagKey: 'a', tagValue: '1' },
        ]);
        assert.deepEqual(await s.getKey(REGION, k.keyId), k);
        assert.deepEqual(await s.getKeyVersion(REGION, k.keyId, v.versionId), v);
        assert.deepEqual(await s.listTags(REGION, k.keyId), [
          { tagKey: 'a', tagValue: '1' },
          { tagKey: 'b', tagValue: '2' },
        ]);
        assert.equal(await s.getKey('eu-west-1', k.keyId), undefined);
      }),
    );

    it(
      'lists keys of one account in key id order, paged with an exclusive cursor',
      withStore(async (s) => {
        const keys = [newKey(), newKey(), newKey(), newKey({ accountId: '444455556666' })];
        for (const k of keys) await s.createKey(k, versionOf(k), []);
        const mine = keys
          .filter((k) => k.accountId === ACCOUNT)
          .map((k) => k.keyId)
          .sort();
        const first = await s.listKeys(REGION, ACCOUNT, { limit: 2 });
        assert.deepEqual(
          first.map((k) => k.keyId),
          mine.slice(0, 2),
        );
        const rest = await s.listKeys(REGION, ACCOUNT, { limit: 10, after: first[1]?.keyId });
        assert.deepEqual(
          rest.map((k) => k.keyId),
          mine.slice(2),
        );
      }),
    );

    it(
      'updates with optimistic concurrency: a stale revision is refused',
      withStore(async (s) => {
        const k = newKey();
        await s.createKey(k, versionOf(k), []);
        const updated = await s.updateKey({ ...k, keyState: 'Disabled', description: 'x' });
        assert.equal(updated.revision, 1);
        assert.equal((await s.getKey(REGION, k.keyId))?.keyState, 'Disabled');
        await assert.rejects(s.updateKey({ ...k, keyState: 'Enabled' }), ConcurrentUpdateError);
        assert.equal((await s.getKey(REGION, k.keyId))?.keyState, 'Disabled');
      }),
    );

    it(
      'finds keys due for deletion and deletes a key with everything it owns',
      withStore(async (s) => {
        const due = newKey({ keyState: 'PendingDeletion', deletionDate: new Date(1000) });
        const later = newKey({ keyState: 'PendingDeletion', deletionDate: new Date(5000) });
        for (const k of [due, later])
          await s.createKey(k, versionOf(k), [{ tagKey: 't', tagValue: 'v' }]);
        await s.createAlias({
          region: REGION,
          accountId: ACCOUNT,
          aliasName: 'alias/due',
          targetKeyId: due.keyId,
          creationDate: new Date(),
          lastUpdatedDate: new Date(),
        });
        assert.deepEqual(
          (await s.listKeysDueForDeletion(new Date(2000), 10)).map((k) => k.keyId),
          [due.keyId],
        );
        await s.deleteKey(REGION, due.keyId);
        assert.equal(await s.getKey(REGION, due.keyId), undefined);
        assert.deepEqual(await s.listKeyVersions(REGION, due.keyId), []);
        assert.deepEqual(await s.listTags(REGION, due.keyId), []);
        assert.equal(await s.getAlias(REGION, ACCOUNT, 'alias/due'), undefined);
        assert.ok(await s.getKey(REGION, later.keyId));
      }),
    );

    it(
      'finds keys still Creating that were created at or before a time',
      withStore(async (s) => {
        const old = newKey({ keyState: 'Creating', creationDate: new Date(1000) });
        const fresh = newKey({ keyState: 'Creating', creationDate: new Date(5000) });
        const enabled = newKey({ creationDate: new Date(1000) });
        for (const k of [old, fresh, enabled]) await s.createKey(k, versionOf(k), []);
        assert.deepEqual(
          (await s.listKeysCreatingSince(new Date(2000), 10)).map((k) => k.keyId),
          [old.keyId],
        );
        assert.equal((await s.listKeysCreatingSince(new Date(9000), 10)).length, 2);
        assert.equal((await s.listKeysCreatingSince(new Date(9000), 1)).length, 1);
      }),
    );

    it(
      'keeps alias names unique per account and Region',
      withStore(async (s) => {
        const k = newKey();
        await s.createKey(k, versionOf(k), []);
        const a = {
          region: REGION,
          accountId: ACCOUNT,
          aliasName: 'alias/one',
          targetKeyId: k.keyId,
          creationDate: new Date(1000),
          lastUpdatedDate: new Date(1000),
        };
        await s.createAlias(a);
        await assert.rejects(s.createAlias({ ...a, targetKeyId: 'other' }), DuplicateKeyError);
        await s.createAlias({ ...a, accountId: '444455556666' });
        await s.createAlias({ ...a, region: 'eu-west-1' });
        assert.deepEqual(await s.getAlias(REGION, ACCOUNT, 'alias/one'), a);
        assert.equal(await s.countAliasesForKey(REGION, ACCOUNT, k.keyId), 1);
      }),
    );

    it(
      'updates, lists (paged, filtered) and deletes aliases',
      withStore(async (s) => {
        const base = {
          region: REGION,
          accountId: ACCOUNT,
          creationDate: new Date(1000),
          lastUpdatedDate: new Date(1000),
        };
        for (const n of ['c', 'a', 'b'])
          await s.createAlias({
            ...base,
            aliasName: `alias/${n}`,
            targetKeyId: n === 'b' ? 'k2' : 'k1',
          });
        assert.deepEqual(
          (await s.listAliases(REGION, ACCOUNT, { limit: 2 })).map((a) => a.aliasName),
          ['alias/a', 'alias/b'],
        );
        assert.deepEqual(
          (await s.listAliases(REGION, ACCOUNT, { limit: 5, after: 'alias/b' })).map(
            (a) => a.aliasName,
          ),
          ['alias/c'],
        );
        assert.deepEqual(
          (await s.listAliases(REGION, ACCOUNT, { limit: 5 }, 'k1')).map((a) => a.aliasName),
          ['alias/a', 'alias/c'],
        );
        assert.equal(
          await s.updateAlias({
            ...base,
            aliasName: 'alias/a',
            targetKeyId: 'k2',
            lastUpdatedDate: new Date(2000),
          }),
          true,
        );
        assert.equal((await s.getAlias(REGION, ACCOUNT, 'alias/a'))?.targetKeyId, 'k2');
        assert.equal(
          await s.updateAlias({ ...base, aliasName: 'alias/none', targetKeyId: 'k2' }),
          false,
        );
        assert.equal(await s.deleteAlias(REGION, ACCOUNT, 'alias/a'), true);
        assert.equal(await s.deleteAlias(REGION, ACCOUNT, 'alias/a'), false);
      }),
    );

    it(
      'upserts and deletes tags',
      withStore(async (s) => {
        const k = newKey();
        await s.createKey(k, versionOf(k), [{ tagKey: 'a', tagValue: '1' }]);
        await s.putTags(REGION, k.keyId, [
          { tagKey: 'a', tagValue: '2' },
          { tagKey: 'b', tagValue: '3' },
        ]);
        assert.deepEqual(await s.listTags(REGION, k.keyId), [
          { tagKey: 'a', tagValue: '2' },
          { tagKey: 'b', tagValue: '3' },
        ]);
        await s.deleteTags(REGION, k.keyId, ['a', 'missing']);
        assert.deepEqual(await s.listTags(REGION, k.keyId), [{ tagKey: 'b', tagValue: '3' }]);
      }),
    );

    it(
      'keeps exactly one active domain key and rewraps EKTs by domain key',
      withStore(async (s) => {
        await s.addActiveDomainKey({
          id: 'dk-1',
          wrapped: randomBytes(60),
          createdAt: new Date(1000),
          active: true,
        });
        await s.addActiveDomainKey({
          id: 'dk-2',
          wrapped: randomBytes(60),
          createdAt: new Date(2000),
          active: true,
        });
        const dks = await s.listDomainKeys();
        assert.deepEqual(
          dks.map((d) => [d.id, d.active]),
          [
            ['dk-1', false],
            ['dk-2', true],
          ],
        );
        const k = newKey();
        const v = versionOf(k, 'dk-1');
        await s.createKey(k, v, []);
        assert.equal((await s.listVersionsByDomainKey('dk-1', 10)).length, 1);
        const moved = { ...v, domainKeyId: 'dk-2', ekt: randomBytes(60) };
        assert.equal(await s.replaceEkt(moved, 'dk-3'), false, 'only from the expected domain key');
        assert.equal(await s.replaceEkt(moved, 'dk-1'), true);
        assert.deepEqual(await s.getKeyVersion(REGION, k.keyId, v.versionId), moved);
        assert.equal((await s.listVersionsByDomainKey('dk-1', 10)).length, 0);
        await s.deleteDomainKey('dk-2');
        assert.equal(
          (await s.listDomainKeys()).length,
          2,
          'the active domain key is never deleted',
        );
        await s.deleteDomainKey('dk-1');
        assert.deepEqual(
          (await s.listDomainKeys()).map((d) => d.id),
          ['dk-2'],
        );
      }),
    );

    it(
      'stores access keys with sealed secrets',
      withStore(async (s) => {
        const rec = {
          accessKeyId: 'AKIAAAAAAAAAAAAAAAAA',
          accountId: ACCOUNT,
          principalArn: `arn:aws:iam::${ACCOUNT}:root`,
          sealedSecret: randomBytes(48),
          createdAt: new Date(1000),
        };
        await s.putAccessKey(rec);
        assert.deepEqual(await s.getAccessKey(rec.accessKeyId), rec);
        assert.deepEqual(await s.listAccessKeys(ACCOUNT), [rec]);
        assert.equal(await s.getAccessKey('AKIANOPE'), undefined);
        // A second put replaces account, principal and secret but keeps the creation time.
        const user = `arn:aws:iam::${ACCOUNT}:user/u`;
        const moved = { ...rec, principalArn: user, sealedSecret: randomBytes(48) };
        await s.putAccessKey({ ...moved, createdAt: new Date(9000) });
        assert.deepEqual(await s.getAccessKey(rec.accessKeyId), moved);
        const other = { ...rec, accessKeyId: 'AKIABBBBBBBBBBBBBBBB', principalArn: user };
        await s.putAccessKey(other);
        assert.deepEqual(await s.iam.listAccessKeysForPrincipal(user), [moved, other]);
        assert.deepEqual(await s.iam.listAccessKeysForPrincipal(rec.principalArn), []);
        assert.equal(await s.iam.deleteAccessKey(rec.accessKeyId), true);
        assert.equal(await s.iam.deleteAccessKey(rec.accessKeyId), false);
        assert.deepEqual(await s.listAccessKeys(ACCOUNT), [other]);
      }),
    );

    it('keeps everything across a close and reopen', async () => {
      let s = await factory.open();
      const k = newKey();
      await s.createKey(k, versionOf(k), [{ tagKey: 'a', tagValue: '1' }]);
      s = await factory.reopen(s);
      try {
        assert.deepEqual(await s.getKey(REGION, k.keyId), k);
        assert.equal((await s.listTags(REGION, k.keyId)).length, 1);
      } finally {
        await s.close();
      }
    });

    // ---- grants ----

    const grantOf = (k: KeyRecord, overrides: Partial<GrantRecord> = {}): GrantRecord => ({
      region: k.region,
      keyId: k.keyId,
      grantId: randomBytes(32).toString('hex'),
      accountId: ACCOUNT,
      issuingPrincipal: `arn:aws:iam::${ACCOUNT}:root`,
      granteePrincipal: `arn:aws:iam::${ACCOUNT}:role/app`,
      operations: ['Encrypt', 'Decrypt'],
      creationDate: new Date(1_700_000_000_456),
      fingerprint: randomBytes(32).toString('hex'),
      ...overrides,
    });

    it(
      "grants: listGrantsForGrantee finds a caller's grants by ARN, role ARN and unique id only",
      withStore(async (s) => {
        const k = newKey();
        const other = newKey();
        await s.createKey(k, versionOf(k), []);
        await s.createKey(other, versionOf(other), []);
        const user = `arn:aws:iam::${ACCOUNT}:user/alice`;
        const role = `arn:aws:iam::${ACCOUNT}:role/app`;
        const byArn = grantOf(k, { granteePrincipal: user });
        const byRole = grantOf(k, { granteePrincipal: role });
        // Bound to the caller's id under an ARN the caller no longer has: still a candidate.
        const byId = grantOf(k, {
          granteePrincipal: `arn:aws:iam::${ACCOUNT}:user/renamed`,
          granteePrincipalId: 'AIDAALICE',
        });
        // Found by ARN and by id: returned once.
        const both = grantOf(k, { granteePrincipal: user, granteePrincipalId: 'AIDAALICE' });
        const someoneElse = grantOf(k, {
          granteePrincipal: `arn:aws:iam::${ACCOUNT}:user/bob`,
          granteePrincipalId: 'AIDABOB',
        });
        const otherKey = grantOf(other, { granteePrincipal: user });
        for (const g of [byArn, byRole, byId, both, someoneElse, otherKey])
          await s.grants.createGrant(g, randomBytes(32));
        const ids = async (arns: string[], principalId?: string) =>
          (await s.grants.listGrantsForGrantee(REGION, k.keyId, { arns, principalId }))
            .map((g) => g.grantId)
            .sort();
        const sorted = (...gs: GrantRecord[]) => gs.map((g) => g.grantId).sort();
        assert.deepEqual(await ids([user], 'AIDAALICE'), sorted(byArn, byId, both));
        assert.deepEqual(await ids([user, role], 'AIDAALICE'), sorted(byArn, byRole, byId, both));
        assert.deepEqual(await ids([role]), sorted(byRole));
        assert.deepEqual(await ids([`arn:aws:iam::${ACCOUNT}:user/nobody`], 'AIDANOBODY'), []);
        const full = await s.grants.listGrantsForGrantee(REGION, k.keyId, {
          arns: [user],
          principalId: 'AIDAALICE',
        });
        assert.deepEqual(
          full.find((g) => g.grantId === both.grantId),
          both,
        );
      }),
    );

    it(
      'grants: create, read back exactly, find by token hash, list, count and delete',
      withStore(async (s) => {
        const k = newKey();
        await s.createKey(k, versionOf(k), []);
        const g = grantOf(k, {
          name: 'n1',
          retiringPrincipal: `arn:aws:iam::${ACCOUNT}:user/ops`,
          constraints: { encryptionContextSubset: { a: '1' } },
        });
        const plain = grantOf(k);
        const t1 = randomBytes(32);
        assert.deepEqual(await s.grants.createGrant(g, t1), { grant: g, created: true });
        await s.grants.createGrant(plain, randomBytes(32));
        assert.deepEqual(await s.grants.getGrant(REGION, k.keyId, g.grantId), g);
        assert.deepEqual(await s.grants.getGrant(REGION, k.keyId, plain.grantId), plain);
        assert.deepEqual(await s.grants.getGrantByTokenHash(t1), g);
        assert.equal(await s.grants.getGrantByTokenHash(randomBytes(32)), undefined);
        assert.equal(await s.grants.countGrantsForKey(REGION, k.keyId), 2);
        const sorted = [g, plain].sort((a, b) => (a.grantId < b.grantId ? -1 : 1));
        assert.deepEqual(
          (await s.grants.listGrantsForKey(REGION, k.keyId)).sort((a, b) =>
            a.grantId < b.grantId ? -1 : 1,
          ),
          sorted,
        );
        assert.deepEqual(await s.grants.listGrants(REGION, k.keyId, { limit: 10 }), sorted);
        const first = await s.grants.listGrants(REGION, k.keyId, { limit: 1 });
        assert.deepEqual(first, [sorted[0]]);
        assert.deepEqual(
          await s.grants.listGrants(REGION, k.keyId, { limit: 10, after: sorted[0]?.grantId }),
          [sorted[1]],
        );
        assert.deepEqual(
          await s.grants.listGrants(REGION, k.keyId, { limit: 10 }, { grantId: g.grantId }),
          [g],
        );
        assert.deepEqual(
          await s.grants.listGrants(
            REGION,
            k.keyId,
            { limit: 10 },
            { granteePrincipal: `arn:aws:iam::${ACCOUNT}:role/other` },
          ),
          [],
        );
        assert.deepEqual(
          await s.grants.listRetirableGrants(REGION, `arn:aws:iam::${ACCOUNT}:user/ops`, {
            limit: 10,
          }),
          [g],
        );
        assert.equal(await s.grants.deleteGrant(REGION, k.keyId, g.grantId), true);
        assert.equal(await s.grants.deleteGrant(REGION, k.keyId, g.grantId), false);
        assert.equal(await s.grants.getGrant(REGION, k.keyId, g.grantId), undefined);
        assert.equal(await s.grants.getGrantByTokenHash(t1), undefined);
        assert.equal(await s.grants.countGrantsForKey(REGION, k.keyId), 1);
      }),
    );

    it(
      'grants: a named grant with the same fingerprint is returned, not duplicated',
      withStore(async (s) => {
        const k = newKey();
        const other = newKey();
        await s.createKey(k, versionOf(k), []);
        await s.createKey(other, versionOf(other), []);
        const g = grantOf(k, { name: 'retry-me', fingerprint: 'fp' });
        const t1 = randomBytes(32);
        const t2 = randomBytes(32);
        await s.grants.createGrant(g, t1);
        const again = await s.grants.createGrant({ ...g, grantId: 'f'.repeat(64) }, t2);
        assert.deepEqual(again, { grant: g, created: false });
        // Both tokens name the one grant.
        assert.equal((await s.grants.getGrantByTokenHash(t2))?.grantId, g.grantId);
        assert.equal(await s.grants.countGrantsForKey(REGION, k.keyId), 1);
        // Same fingerprint on another key, or without a name: new grants.
        const onOther = grantOf(other, { name: 'retry-me', fingerprint: 'fp' });
        assert.equal((await s.grants.createGrant(onOther, randomBytes(32))).created, true);
        const unnamed = grantOf(k, { fingerprint: 'fp' });
        assert.equal((await s.grants.createGrant(unnamed, randomBytes(32))).created, true);
        assert.equal(
          (await s.grants.createGrant({ ...unnamed, grantId: 'e'.repeat(64) }, randomBytes(32)))
            .created,
          true,
        );
        assert.equal(await s.grants.countGrantsForKey(REGION, k.keyId), 3);
      }),
    );

    it(
      'grants: deleting a key deletes its grants and their tokens',
      withStore(async (s) => {
        const k = newKey();
        const keep = newKey();
        await s.createKey(k, versionOf(k), []);
        await s.createKey(keep, versionOf(keep), []);
        const t = randomBytes(32);
        const g = grantOf(k);
        await s.grants.createGrant(g, t);
        const kept = grantOf(keep);
        await s.grants.createGrant(kept, randomBytes(32));
        await s.deleteKey(REGION, k.keyId);
        assert.equal(await s.grants.getGrant(REGION, k.keyId, g.grantId), undefined);
        assert.equal(await s.grants.getGrantByTokenHash(t), undefined);
        assert.equal(await s.grants.countGrantsForKey(REGION, k.keyId), 0);
        assert.deepEqual(await s.grants.getGrant(REGION, keep.keyId, kept.grantId), kept);
      }),
    );

    // ---- rotation ----

    const newVersion = (k: KeyRecord, createdAt: Date): KeyVersionRecord => ({
      region: k.region,
      keyId: k.keyId,
      versionId: randomBytes(32).toString('hex'),
      domainKeyId: 'dk-1',
      ekt: randomBytes(60),
      createdAt,
    });
    const rotationOf = (v: KeyVersionRecord, type: RotationType): RotationRecord => ({
      region: v.region,
      keyId: v.keyId,
      versionId: v.versionId,
      rotationDate: v.createdAt,
      rotationType: type,
    });

    it(
      'rotation: settings round trip, and only due settings of Enabled keys are listed',
      withStore(async (s) => {
        const k = newKey();
        const off = newKey();
        const disabled = newKey({ keyState: 'Disabled' });
        for (const key of [k, off, disabled]) await s.createKey(key, versionOf(key), []);
        assert.equal(await s.rotation.getRotationSettings(REGION, k.keyId), undefined);
        const on: RotationSettingsRecord = {
          region: REGION,
          keyId: k.keyId,
          enabled: true,
          rotationPeriodInDays: 90,
          nextRotationDate: new Date(1_700_000_000_000),
        };
        await s.rotation.putRotationSettings(on);
        assert.deepEqual(await s.rotation.getRotationSettings(REGION, k.keyId), on);
        const offSettings = {
          region: REGION,
          keyId: off.keyId,
          enabled: false,
          rotationPeriodInDays: 365,
        };
        await s.rotation.putRotationSettings(offSettings);
        assert.deepEqual(await s.rotation.getRotationSettings(REGION, off.keyId), offSettings);
        await s.rotation.putRotationSettings({ ...on, keyId: disabled.keyId });
        assert.deepEqual(await s.rotation.listDueRotations(new Date(1_700_000_000_000), 10), [on]);
        assert.deepEqual(await s.rotation.listDueRotations(new Date(1_699_999_999_999), 10), []);
        await s.rotation.putRotationSettings({
          ...on,
          enabled: false,
          nextRotationDate: undefined,
        });
        assert.deepEqual(await s.rotation.listDueRotations(new Date(1_800_000_000_000), 10), []);
      }),
    );

    it(
      'rotation: rotateKey adds the version, makes it current and records the rotation, atomically',
      withStore(async (s) => {
        const k = newKey();
        await s.createKey(k, versionOf(k), []);
        const v = newVersion(k, new Date(1_700_000_100_000));
        const result = await s.rotation.rotateKey({
          key: k,
          version: v,
          rotation: rotationOf(v, 'ON_DEMAND'),
          maxOnDemand: 1,
        });
        const rotated = { ...k, currentVersionId: v.versionId, revision: 1 };
        assert.deepEqual(result, { kind: 'rotated', key: rotated });
        assert.deepEqual(await s.getKey(REGION, k.keyId), rotated);
        assert.deepEqual(await s.getKeyVersion(REGION, k.keyId, v.versionId), v);
        assert.deepEqual(await s.rotation.listRotations(REGION, k.keyId), [
          rotationOf(v, 'ON_DEMAND'),
        ]);
        assert.equal(await s.rotation.countRotations(REGION, k.keyId, 'ON_DEMAND'), 1);
        assert.equal(await s.rotation.countRotations(REGION, k.keyId, 'AUTOMATIC'), 0);

        // The on-demand limit and a stale revision write nothing.
        const w = newVersion(k, new Date(1_700_000_200_000));
        const again = { key: rotated, version: w, rotation: rotationOf(w, 'ON_DEMAND' as const) };
        assert.deepEqual(await s.rotation.rotateKey({ ...again, maxOnDemand: 1 }), {
          kind: 'limit-exceeded',
        });
        await assert.rejects(s.rotation.rotateKey({ ...again, key: k }), ConcurrentUpdateError);
        assert.equal(await s.getKeyVersion(REGION, k.keyId, w.versionId), undefined);
        assert.equal((await s.rotation.listRotations(REGION, k.keyId)).length, 1);
        assert.deepEqual(await s.getKey(REGION, k.keyId), rotated);
      }),
    );

    it(
      'rotation: a scheduled rotation happens only if the due date is unchanged (exactly once)',
      withStore(async (s) => {
        const k = newKey();
        await s.createKey(k, versionOf(k), []);
        const due = new Date(1_700_000_000_000);
        const next = new Date(1_700_000_000_000 + 90 * 86_400_000);
        await s.rotation.putRotationSettings({
          region: REGION,
          keyId: k.keyId,
          enabled: true,
          rotationPeriodInDays: 90,
          nextRotationDate: due,
        });
        const v = newVersion(k, due);
        const first = await s.rotation.rotateKey({
          key: k,
          version: v,
          rotation: rotationOf(v, 'AUTOMATIC'),
          schedule: { expected: due, next },
        });
        assert.equal(first.kind, 'rotated');
        assert.deepEqual(
          (await s.rotation.getRotationSettings(REGION, k.keyId))?.nextRotationDate,
          next,
        );
        // A second run that read the old due date (and the new key) does nothing.
        const key = await s.getKey(REGION, k.keyId);
        assert.ok(key);
        const w = newVersion(k, due);
        assert.deepEqual(
          await s.rotation.rotateKey({
            key,
            version: w,
            rotation: rotationOf(w, 'AUTOMATIC'),
            schedule: { expected: due, next },
          }),
          { kind: 'schedule-changed' },
        );
        assert.equal(await s.getKeyVersion(REGION, k.keyId, w.versionId), undefined);
        // A stale key revision rolls the schedule move back.
        await assert.rejects(
          s.rotation.rotateKey({
            key: k,
            version: w,
            rotation: rotationOf(w, 'AUTOMATIC'),
            schedule: { expected: next, next: new Date(next.getTime() + 1) },
          }),
          ConcurrentUpdateError,
        );
        assert.deepEqual(
          (await s.rotation.getRotationSettings(REGION, k.keyId))?.nextRotationDate,
          next,
        );
        assert.deepEqual(await s.rotation.listRotations(REGION, k.keyId), [
          rotationOf(v, 'AUTOMATIC'),
        ]);
      }),
    );

    it(
      'rotation: history is listed oldest first, and goes with the key',
      withStore(async (s) => {
        const k = newKey();
        await s.createKey(k, versionOf(k), []);
        let key = k;
        const made: RotationRecord[] = [];
        for (const [ms, type] of [
          [1_700_000_300_000, 'ON_DEMAND'],
          [1_700_000_100_000, 'AUTOMATIC'],
          [1_700_000_200_000, 'ON_DEMAND'],
        ] as const) {
          const v = newVersion(key, new Date(ms));
          const r = await s.rotation.rotateKey({ key, version: v, rotation: rotationOf(v, type) });
          assert.equal(r.kind, 'rotated');
          if (r.kind === 'rotated') key = r.key;
          made.push(rotationOf(v, type));
        }
        made.sort((a, b) => a.rotationDate.getTime() - b.rotationDate.getTime());
        assert.deepEqual(await s.rotation.listRotations(REGION, k.keyId), made);
        assert.equal((await s.listKeyVersions(REGION, k.keyId)).length, 4);
        await s.rotation.putRotationSettings({
          region: REGION,
          keyId: k.keyId,
          enabled: false,
          rotationPeriodInDays: 365,
        });
        await s.deleteKey(REGION, k.keyId);
        assert.deepEqual(await s.rotation.listRotations(REGION, k.keyId), []);
        assert.equal(await s.rotation.getRotationSettings(REGION, k.keyId), undefined);
      }),
    );
    // ---- imported key materials ----

    it(
      'imports: materials per key — first import, one pending rotation, rotation to it, deletion, expiry',
      withStore(async (s) => {
        const k = newKey({
          origin: 'EXTERNAL',
          keyState: 'PendingImport',
          currentVersionId: undefined,
        });
        await s.createKey(k, undefined, []);
        const token = (id: string) =>
          s.imports.putImportToken({
            tokenId: id,
            region: REGION,
            keyId: k.keyId,
            wrappingAlgorithm: 'RSAES_OAEP_SHA_256',
            wrappingKeySpec: 'RSA_2048',
            sealedPrivateKey: randomBytes(40),
            validTo: new Date(1_800_000_000_000),
          });
        const first = newVersion(k, new Date(1_700_000_100_000));
        const material = (v: KeyVersionRecord, pendingRotation: boolean) => ({
          region: REGION,
          keyId: k.keyId,
          materialId: v.versionId,
          pendingRotation,
          imported: true,
          expirationModel: 'KEY_MATERIAL_EXPIRES' as const,
          validTo: new Date(1_700_500_000_000),
          description: 'first:material',
          associatedAt: v.createdAt,
        });
        await token('t1');
        const m1 = material(first, false);
        const r1 = await s.imports.completeImport({
          key: k,
          tokenId: 't1',
          version: first,
          currentVersionId: first.versionId,
          keyState: 'Enabled',
          material: m1,
        });
        const k1 = {
          ...k,
          keyState: 'Enabled' as const,
          currentVersionId: first.versionId,
          revision: 1,
        };
        assert.deepEqual(r1, { kind: 'imported', key: k1 });
        // The token is single use.
        assert.deepEqual(
          await s.imports.completeImport({
            key: k1,
            tokenId: 't1',
            version: first,
            currentVersionId: first.versionId,
            keyState: 'Enabled',
            material: m1,
          }),
          { kind: 'token-used' },
        );

        const second = newVersion(k, new Date(1_700_000_200_000));
        const m2 = { ...material(second, true), description: undefined };
        await token('t2');
        const r2 = await s.imports.completeImport({
          key: k1,
          tokenId: 't2',
          version: second,
          currentVersionId: first.versionId,
          keyState: 'Enabled',
          material: m2,
        });
        const k2 = { ...k1, revision: 2 };
        assert.deepEqual(r2, { kind: 'imported', key: k2 });
        assert.deepEqual(
          (await s.imports.listImportedMaterials(REGION, k.keyId)).map(defined),
          [m1, m2].map(defined),
        );

        // Rotation to the pending material: current, no longer pending, one ON_DEMAND rotation.
        const rotation = {
          region: REGION,
          keyId: k.keyId,
          versionId: second.versionId,
          rotationDate: new Date(1_700_000_300_000),
          rotationType: 'ON_DEMAND' as const,
        };
        assert.deepEqual(
          await s.imports.rotateToImportedMaterial({
            key: k2,
            materialId: second.versionId,
            rotation,
            maxOnDemand: 0,
          }),
          { kind: 'limit-exceeded' },
        );
        await assert.rejects(
          s.imports.rotateToImportedMaterial({
            key: k1,
            materialId: second.versionId,
            rotation,
            maxOnDemand: 25,
          }),
          ConcurrentUpdateError,
        );
        const r3 = await s.imports.rotateToImportedMaterial({
          key: k2,
          materialId: second.versionId,
          rotation,
          maxOnDemand: 25,
        });
        const k3 = { ...k2, currentVersionId: second.versionId, revision: 3 };
        assert.deepEqual(r3, { kind: 'rotated', key: k3 });
        assert.deepEqual(await s.rotation.listRotations(REGION, k.keyId), [rotation]);
        assert.equal(
          (await s.imports.listImportedMaterials(REGION, k.keyId))[1]?.pendingRotation,
          false,
        );

        // Expiry lists materials; deleting the first keeps it listed, not imported, EKT gone.
        assert.deepEqual(
          (await s.imports.listExpiredImports(new Date(1_700_500_000_000), 10))
            .map((m) => m.materialId)
            .sort(),
          [first.versionId, second.versionId].sort(),
        );
        const k4 = await s.imports.deleteImportedMaterial({
          key: k3,
          materialId: first.versionId,
          keyState: 'PendingImport',
          forget: false,
        });
        assert.deepEqual(k4, { ...k3, keyState: 'PendingImport', revision: 4 });
        assert.deepEqual(await s.getKey(REGION, k.keyId), k4);
        assert.equal(await s.getKeyVersion(REGION, k.keyId, first.versionId), undefined);
        assert.deepEqual(await s.getKeyVersion(REGION, k.keyId, second.versionId), second);
        const after = await s.imports.listImportedMaterials(REGION, k.keyId);
        assert.deepEqual(
          defined(after[0]),
          defined({ ...m1, imported: false, expirationModel: undefined, validTo: undefined }),
        );
        // Forgetting removes the row.
        await s.imports.deleteImportedMaterial({
          key: k4,
          materialId: second.versionId,
          keyState: 'PendingImport',
          forget: true,
        });
        assert.equal((await s.imports.listImportedMaterials(REGION, k.keyId)).length, 1);
        assert.deepEqual(await s.imports.listExpiredImports(new Date(1_900_000_000_000), 10), []);
        // Deleting the key deletes its materials.
        await s.deleteKey(REGION, k.keyId);
        assert.deepEqual(await s.imports.listImportedMaterials(REGION, k.keyId), []);
      }),
    );

    // ---- custom key stores ----

    it(
      'multi-Region members: unique per Region, primary first, swapPrimary atomic, gone with the key',
      withStore(async (s) => {
        const keyId = `mrk-${randomBytes(16).toString('hex')}`;
        const primary = newKey({ keyId, multiRegion: true });
        await s.createKey(primary, versionOf(primary), []);
        const member = (region: string, role: 'PRIMARY' | 'REPLICA') => ({
          accountId: ACCOUNT,
          keyId,
          region,
          role,
        });
        await s.multiRegion.addMember(member('us-west-2', 'REPLICA'));
        await s.multiRegion.addMember(member(REGION, 'PRIMARY'));
        await s.multiRegion.addMember(member('eu-west-1', 'REPLICA'));
        await assert.rejects(
          s.multiRegion.addMember(member('eu-west-1', 'PRIMARY')),
          DuplicateKeyError,
        );
        const regions = async () =>
          (await s.multiRegion.listMembers(ACCOUNT, keyId)).map((m) => `${m.region}:${m.role}`);
        assert.deepEqual(await regions(), [
          `${REGION}:PRIMARY`,
          'eu-west-1:REPLICA',
          'us-west-2:REPLICA',
        ]);
        assert.equal(
          await s.multiRegion.swapPrimary(ACCOUNT, keyId, 'eu-west-1', 'us-west-2'),
          false,
          'the primary is not where the caller expected',
        );
        await assert.rejects(
          s.multiRegion.swapPrimary(ACCOUNT, keyId, REGION, 'ap-south-1'),
          /no replica/,
        );
        assert.deepEqual(
          await regions(),
          [`${REGION}:PRIMARY`, 'eu-west-1:REPLICA', 'us-west-2:REPLICA'],
          'a failed swap demoted nothing',
        );
        assert.equal(await s.multiRegion.swapPrimary(ACCOUNT, keyId, REGION, 'us-west-2'), true);
        assert.deepEqual(await regions(), [
          'us-west-2:PRIMARY',
          'eu-west-1:REPLICA',
          `${REGION}:REPLICA`,
        ]);
        await s.deleteKey(REGION, keyId);
        assert.deepEqual(await regions(), ['us-west-2:PRIMARY', 'eu-west-1:REPLICA']);
      }),
    );

    it(
      'custom key stores: create, read by id and name, unique names per account and Region',
      withStore(async (s) => {
        const repo = s.customKeyStores;
        const a = newStore();
        const x = newStore({
          type: 'EXTERNAL_KEY_STORE',
          cloudHsm: undefined,
          xks: {
            connectivity: 'VPC_ENDPOINT_SERVICE',
            uriEndpoint: 'https://xks.example.com',
            uriPath: '/kms/xks/v1',
            vpcEndpointServiceName: 'com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0',
            vpcEndpointServiceOwner: '111122223333',
            accessKeyId: 'ABCDEFGHIJKLMNOPQRST',
          },
          connectionState: 'FAILED',
          connectionErrorCode: 'XKS_PROXY_TIMED_OUT',
          sealedPendingSecret: randomBytes(40),
        });
        await repo.createStore(a);
        await repo.createStore(x);
        assert.deepEqual(defined(await repo.getStore(REGION, a.customKeyStoreId)), defined(a));
        assert.deepEqual(defined(await repo.getStore(REGION, x.customKeyStoreId)), defined(x));
        assert.deepEqual(defined(await repo.getStoreByName(REGION, ACCOUNT, x.name)), defined(x));
        assert.equal(await repo.getStore('eu-west-1', a.customKeyStoreId), undefined);
        assert.equal(await repo.getStoreByName(REGION, '444455556666', a.name), undefined);
        await assert.rejects(repo.createStore(newStore({ name: a.name })), DuplicateKeyError);
        // The same name in another account or Region is fine.
        await repo.createStore(newStore({ name: a.name, accountId: '444455556666' }));
        await repo.createStore(newStore({ name: a.name, region: 'eu-west-1' }));
        assert.equal(await repo.countStores(REGION, ACCOUNT), 2);
        assert.equal((await repo.listAllStores()).length, 4);
      }),
    );

    it(
      'custom key stores: list in id order with an exclusive cursor; update is revision-checked; delete',
      withStore(async (s) => {
        const repo = s.customKeyStores;
        const stores = [newStore(), newStore(), newStore()];
        for (const st of stores) await repo.createStore(st);
        const ids = stores.map((st) => st.customKeyStoreId).sort();
        const first = await repo.listStores(REGION, ACCOUNT, { limit: 2 });
        assert.deepEqual(
          first.map((st) => st.customKeyStoreId),
          ids.slice(0, 2),
        );
        const rest = await repo.listStores(REGION, ACCOUNT, { limit: 5, after: ids[1] });
        assert.deepEqual(
          rest.map((st) => st.customKeyStoreId),
          ids.slice(2),
        );
        const st = stores[0] as CustomKeyStoreRecord;
        const updated = await repo.updateStore({
          ...st,
          name: 'renamed',
          connectionState: 'FAILED',
          connectionErrorCode: 'INVALID_CREDENTIALS',
          sealedPendingSecret: randomBytes(20),
        });
        assert.equal(updated.revision, 1);
        assert.deepEqual(
          defined(await repo.getStore(REGION, st.customKeyStoreId)),
          defined(updated),
        );
        await assert.rejects(repo.updateStore({ ...st, name: 'stale' }), ConcurrentUpdateError);
        await assert.rejects(
          repo.updateStore({ ...(stores[1] as CustomKeyStoreRecord), name: 'renamed' }),
          DuplicateKeyError,
        );
        const cleared = await repo.updateStore({
          ...updated,
          connectionState: 'DISCONNECTED',
          connectionErrorCode: undefined,
          sealedPendingSecret: undefined,
        });
        const back = await repo.getStore(REGION, st.customKeyStoreId);
        assert.equal(back?.connectionErrorCode ?? undefined, undefined);
        assert.equal(back?.sealedPendingSecret ?? undefined, undefined);
        assert.equal(back?.revision, cleared.revision);
        assert.equal(await repo.deleteStore(REGION, st.customKeyStoreId), true);
        assert.equal(await repo.deleteStore(REGION, st.customKeyStoreId), false);
        assert.equal(await repo.getStore(REGION, st.customKeyStoreId), undefined);
      }),
    );

    it(
      'custom key store key bindings: only existing keys count, and a binding goes with its key',
      withStore(async (s) => {
        const repo = s.customKeyStores;
        const st = newStore();
        await repo.createStore(st);
        const k1 = newKey({ origin: 'AWS_CLOUDHSM' });
        const k2 = newKey({ origin: 'EXTERNAL_KEY_STORE' });
        const orphan = newKey();
        const bind = (k: KeyRecord, backing: string) => ({
          region: REGION,
          keyId: k.keyId,
          customKeyStoreId: st.customKeyStoreId,
          backingKeyId: backing,
          createdAt: new Date(1_700_000_000_789),
        });
        for (const [k, b] of [
          [k1, 'b1'],
          [k2, 'xks-key-1'],
          [orphan, 'b3'],
        ] as const)
          await repo.putKeyBinding(bind(k, b));
        await s.createKey(k1, undefined, []);
        await s.createKey(k2, versionOf(k2), []);
        assert.deepEqual(await repo.getKeyBinding(REGION, k1.keyId), bind(k1, 'b1'));
        assert.equal(await repo.countKeysInStore(REGION, st.customKeyStoreId), 2);
        assert.deepEqual(await repo.findKeyBindings(REGION, st.customKeyStoreId, 'xks-key-1'), [
          bind(k2, 'xks-key-1'),
        ]);
        assert.equal((await repo.findKeyBindings(REGION, st.customKeyStoreId)).length, 3);
        await s.deleteKey(REGION, k1.keyId);
        assert.equal(await repo.getKeyBinding(REGION, k1.keyId), undefined);
        assert.equal(await repo.countKeysInStore(REGION, st.customKeyStoreId), 1);
        await repo.deleteKeyBinding(REGION, orphan.keyId);
        assert.equal(await repo.getKeyBinding(REGION, orphan.keyId), undefined);
      }),
    );

    it(
      'custom key stores: unique names, revision-checked updates, bindings that go with the key',
      withStore(async (s) => {
        const store = {
          region: REGION,
          accountId: ACCOUNT,
          customKeyStoreId: 'cks-1234567890abcdef0',
          name: 'store-a',
          type: 'EXTERNAL_KEY_STORE' as const,
          connectionState: 'DISCONNECTED' as const,
          creationDate: new Date(1_700_000_000_000),
          sealedSecret: randomBytes(48),
          revision: 0,
        };
        await s.customKeyStores.createStore(store);
        await assert.rejects(
          s.customKeyStores.createStore({ ...store, customKeyStoreId: 'cks-other' }),
          DuplicateKeyError,
          'the name is unique in the account and Region',
        );
        const got = await s.customKeyStores.getStore(REGION, store.customKeyStoreId);
        assert.equal(got?.name, 'store-a');
        assert.deepEqual(got?.sealedSecret, store.sealedSecret);
        assert.equal(
          (await s.customKeyStores.getStoreByName(REGION, ACCOUNT, 'store-a'))?.customKeyStoreId,
          store.customKeyStoreId,
        );
        const next = await s.customKeyStores.updateStore({
          ...store,
          connectionState: 'FAILED',
          connectionErrorCode: 'NETWORK_ERRORS',
        });
        assert.equal(next.revision, 1);
        await assert.rejects(
          s.customKeyStores.updateStore({ ...store, connectionState: 'CONNECTED' }),
          ConcurrentUpdateError,
        );
        const again = await s.customKeyStores.getStore(REGION, store.customKeyStoreId);
        assert.equal(again?.connectionState, 'FAILED');
        assert.equal(again?.connectionErrorCode, 'NETWORK_ERRORS');
        assert.equal(await s.customKeyStores.countStores(REGION, ACCOUNT), 1);
        assert.equal(
          (await s.customKeyStores.listStores(REGION, ACCOUNT, { limit: 10 })).length,
          1,
        );

        const k = newKey();
        const binding = {
          region: REGION,
          keyId: k.keyId,
          customKeyStoreId: store.customKeyStoreId,
          backingKeyId: 'xks-key-1',
          createdAt: new Date(1_700_000_000_000),
        };
        await s.customKeyStores.putKeyBinding(binding);
        assert.equal(
          await s.customKeyStores.countKeysInStore(REGION, store.customKeyStoreId),
          0,
          'a binding whose key does not exist (yet) does not count',
        );
        await s.createKey(k, versionOf(k), []);
        assert.equal(await s.customKeyStores.countKeysInStore(REGION, store.customKeyStoreId), 1);
        assert.deepEqual(await s.customKeyStores.getKeyBinding(REGION, k.keyId), binding);
        assert.equal(
          (await s.customKeyStores.findKeyBindings(REGION, store.customKeyStoreId, 'xks-key-1'))
            .length,
          1,
        );
        assert.equal(
          (await s.customKeyStores.findKeyBindings(REGION, store.customKeyStoreId, 'other')).length,
          0,
        );
        await s.deleteKey(REGION, k.keyId);
        assert.equal(await s.customKeyStores.getKeyBinding(REGION, k.keyId), undefined);
        assert.equal(await s.customKeyStores.deleteStore(REGION, store.customKeyStoreId), true);
        assert.equal(await s.customKeyStores.deleteStore(REGION, store.customKeyStoreId), false);
      }),
    );
  });
}
