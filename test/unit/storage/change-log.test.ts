/**
 * The SQLite invalidation channel: two connections on one file (as two processes). A
 * change committed by one is delivered by the other's catchUp, in order, exactly once;
 * a reader that missed pruned rows forgets everything; nothing is read when nothing moved.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Invalidation } from '../../../src/storage/invalidation.js';
import { CHANGE_LOG_RETENTION_MS } from '../../../src/storage/sqlite/sqlite-change-log.js';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

const pair = () => {
  const path = join(mkdtempSync(join(tmpdir(), 'keyhold-changelog-')), 'keyhold.db');
  const a = new SqliteStorage(path);
  const b = new SqliteStorage(path);
  const seen: Invalidation[] = [];
  b.changes.subscribe((m) => seen.push(m));
  return { a, b, seen };
};

const now = new Date(1_700_000_000_000);

describe('sqlite change log', () => {
  it('a deletion committed on one connection reaches the other on its next catchUp, once', async () => {
    const { a, b, seen } = pair();
    await a.iam.putAccount({ accountId: '111122223333', createdAt: now });
    await a.iam.createRole({
      accountId: '111122223333',
      name: 'app',
      path: '/',
      arn: 'arn:aws:iam::111122223333:role/app',
      roleId: 'AROAAAAAAAAAAAAAAAAAA',
      trustPolicy: '{}',
      maxSessionDuration: 3600,
      description: '',
      createdAt: now,
    });
    await a.iam.putSession({
      accessKeyId: 'ASIAAAAAAAAAAAAAAAA1',
      accountId: '111122223333',
      sealedSecret: Buffer.alloc(8),
      tokenHash: Buffer.alloc(32),
      roleArn: 'arn:aws:iam::111122223333:role/app',
      roleId: 'AROAAAAAAAAAAAAAAAAAA',
      sessionName: 's',
      assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/app/s',
      expiration: new Date(now.getTime() + 3600_000),
      createdAt: now,
    });
    b.changes.catchUp();
    assert.deepEqual(seen, [{ kind: 'iam' }]);
    seen.length = 0;
    assert.equal(await a.iam.deleteRole('arn:aws:iam::111122223333:role/app'), true);
    b.changes.catchUp();
    assert.deepEqual(seen, [
      { kind: 'access-key', accessKeyId: 'ASIAAAAAAAAAAAAAAAA1' },
      { kind: 'iam' },
    ]);
    b.changes.catchUp();
    assert.equal(seen.length, 2, 'delivered once');
    await a.close();
    await b.close();
  });

  it('the writing connection sees its own changes too; an access key write is logged', async () => {
    const { a } = pair();
    const own: Invalidation[] = [];
    a.changes.subscribe((m) => own.push(m));
    await a.putAccessKey({
      accessKeyId: 'AKIAAAAAAAAAAAAAAAA1',
      accountId: '111122223333',
      principalArn: 'arn:aws:iam::111122223333:root',
      sealedSecret: Buffer.alloc(8),
      createdAt: now,
    });
    a.changes.catchUp();
    assert.deepEqual(own, [{ kind: 'access-key', accessKeyId: 'AKIAAAAAAAAAAAAAAAA1' }]);
    await a.close();
  });

  it('a reader that missed pruned rows is told to forget everything', async () => {
    const { a, b, seen } = pair();
    // Rows older than the retention, then enough appends to trigger a prune.
    const old = Date.now() - CHANGE_LOG_RETENTION_MS - 60_000;
    a.db.prepare('INSERT INTO change_log (payload, at) VALUES (?, ?)').run('ak:OLD', old);
    a.db.prepare('DELETE FROM change_log WHERE at < ?').run(Date.now() - CHANGE_LOG_RETENTION_MS);
    b.changes.catchUp();
    assert.deepEqual(seen, [{ kind: 'all' }]);
    seen.length = 0;
    await a.iam.deleteAccessKey('AKIANEW0000000000001');
    b.changes.catchUp();
    assert.deepEqual(seen, [{ kind: 'access-key', accessKeyId: 'AKIANEW0000000000001' }]);
    await a.close();
    await b.close();
  });

  it('changes of other tables that carry no message deliver nothing', async () => {
    const { a, b, seen } = pair();
    await a.putKeyLastUsage([
      {
        region: 'us-east-1',
        keyId: 'k',
        operation: 'Encrypt',
        usedAt: now,
        eventId: 'e',
        requestId: 'r',
      },
    ]);
    b.changes.catchUp();
    assert.deepEqual(seen, []);
    await a.close();
    await b.close();
  });
});
