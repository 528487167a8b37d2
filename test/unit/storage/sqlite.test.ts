import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import Database from '../../../src/storage/sqlite/driver.js';
import { MIGRATIONS } from '../../../src/storage/sqlite/migrations.js';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';
import type { Storage } from '../../../src/storage/repository.js';
import { storageConformance } from './conformance.js';

const paths = new WeakMap<Storage, string>();

storageConformance('sqlite', {
  async open() {
    const path = join(mkdtempSync(join(tmpdir(), 'keyhold-sqlite-')), 'keyhold.db');
    const s = new SqliteStorage(path);
    paths.set(s, path);
    return s;
  },
  async reopen(s) {
    const path = paths.get(s) as string;
    await s.close();
    const again = new SqliteStorage(path);
    paths.set(again, path);
    return again;
  },
});

it('sqlite: runs in WAL mode with synchronous FULL and records the schema version', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'keyhold-sqlite-')), 'keyhold.db');
  const s = new SqliteStorage(path);
  assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(s.db.pragma('synchronous', { simple: true }), 2);
  assert.equal(s.db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)?.version);
  await s.close();
});

it('sqlite: opening an existing database applies no migration twice', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'keyhold-sqlite-')), 'keyhold.db');
  await new SqliteStorage(path).close();
  const db = new Database(path);
  const tables = db
    .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'")
    .get() as { n: number };
  db.close();
  const s = new SqliteStorage(path);
  const again = s.db
    .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'")
    .get() as { n: number };
  assert.equal(again.n, tables.n);
  await s.close();
});

it("sqlite: migration 10 keeps a key_imports row as the key's first, permanent material", async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'keyhold-sqlite-')), 'keyhold.db');
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 11)) {
    db.exec(m.sql);
    m.run?.(db);
  }
  db.pragma('user_version = 11');
  db.prepare(
    `INSERT INTO key_imports (region, key_id, material_id, imported, expiration_model, valid_to)
     VALUES ('us-east-1', 'k1', 'm1', 1, 'KEY_MATERIAL_EXPIRES', 1800000000000),
            ('us-east-1', 'k2', 'm2', 0, NULL, NULL)`,
  ).run();
  db.close();
  const s = new SqliteStorage(path);
  assert.deepEqual(await s.imports.listImportedMaterials('us-east-1', 'k1'), [
    {
      region: 'us-east-1',
      keyId: 'k1',
      materialId: 'm1',
      pendingRotation: false,
      imported: true,
      expirationModel: 'KEY_MATERIAL_EXPIRES',
      validTo: new Date(1_800_000_000_000),
      associatedAt: new Date(0),
    },
  ]);
  assert.equal((await s.imports.listImportedMaterials('us-east-1', 'k2'))[0]?.imported, false);
  await s.close();
});
