/**
 * What finishes a replica's creation, on a real SQLite store: only a multi-Region key still
 * Creating whose membership is written moves, to Enabled (PendingImport without material);
 * the job picks only replicas past the delay.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { finishDueReplicas, finishReplica } from '../../src/kms/jobs/replica-creation.js';
import type { KeyRecord } from '../../src/storage/repository.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';

const ACCOUNT = '111122223333';
const WEST = 'us-west-2';
let dir: string;
let s: SqliteStorage;
let n = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyhold-replica-unit-'));
  s = new SqliteStorage(join(dir, 'keyhold.db'));
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function replica(over: Partial<KeyRecord> = {}, member = true): Promise<KeyRecord> {
  const keyId = `mrk-${(++n).toString(16).padStart(32, '0')}`;
  const key: KeyRecord = {
    region: WEST,
    keyId,
    accountId: ACCOUNT,
    arn: `arn:aws:kms:${WEST}:${ACCOUNT}:key/${keyId}`,
    description: '',
    keyState: 'Creating',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    multiRegion: true,
    policy: '{}',
    creationDate: new Date(10_000),
    currentVersionId: 'v1',
    revision: 0,
    ...over,
  };
  await s.createKey(key, undefined, []);
  if (member) {
    await s.multiRegion.addMember({
      accountId: ACCOUNT,
      keyId,
      region: 'us-east-1',
      role: 'PRIMARY',
    });
    await s.multiRegion.addMember({ accountId: ACCOUNT, keyId, region: WEST, role: 'REPLICA' });
  }
  return key;
}

const state = async (k: KeyRecord) => (await s.getKey(k.region, k.keyId))?.keyState;

it('a linked Creating replica becomes Enabled; one without material PendingImport', async () => {
  const a = await replica();
  assert.equal(await finishReplica(s, WEST, a.keyId), true);
  assert.equal(await state(a), 'Enabled');
  // Only once: a second call finds it no longer Creating.
  assert.equal(await finishReplica(s, WEST, a.keyId), false);
  const b = await replica({ origin: 'EXTERNAL', currentVersionId: undefined });
  assert.equal(await finishReplica(s, WEST, b.keyId), true);
  assert.equal(await state(b), 'PendingImport');
});

it('leaves alone: no membership row, not multi-Region, not Creating, unknown', async () => {
  const unlinked = await replica({}, false);
  assert.equal(await finishReplica(s, WEST, unlinked.keyId), false);
  assert.equal(await state(unlinked), 'Creating');
  const single = await replica({ multiRegion: false }, false);
  assert.equal(await finishReplica(s, WEST, single.keyId), false);
  assert.equal(await state(single), 'Creating');
  const deleting = await replica({ keyState: 'PendingDeletion', deletionDate: new Date(99_000) });
  assert.equal(await finishReplica(s, WEST, deleting.keyId), false);
  assert.equal(await state(deleting), 'PendingDeletion');
  assert.equal(await finishReplica(s, WEST, 'mrk-00000000000000000000000000000fff'), false);
});

it('the job finishes only replicas Creating for longer than the delay', async () => {
  const old = await replica({ creationDate: new Date(20_000) });
  const fresh = await replica({ creationDate: new Date(29_500) });
  const clock = { now: () => new Date(30_000) };
  await finishDueReplicas({ storage: s, clock, replicaCreationMs: 1_000 });
  assert.equal(await state(old), 'Enabled');
  assert.equal(await state(fresh), 'Creating');
  await finishDueReplicas({
    storage: s,
    clock: { now: () => new Date(30_500) },
    replicaCreationMs: 1_000,
  });
  assert.equal(await state(fresh), 'Enabled');
});
