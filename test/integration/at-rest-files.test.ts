/**
 * Keys at rest, as the files on disk show them: database files 0600 and the data dir 0700
 * whatever the umask; the root passphrase's length minimum at `keyhold serve`; an old
 * passphrase deployment (root key = scrypt N=2^15 of root.salt) keeps working and is
 * upgraded to the wrapped form on start, on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import pg from 'pg';
import { LEGACY_ROOT_KDF } from '../../src/hsm/root-passphrase.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { startTestServer } from '../helpers/server.js';

const MAIN = 'dist/src/cli/main.js';
const PASS = 'an old deployment passphrase';
const mode = (p: string) => statSync(p).mode & 0o777;
const tempDir = () => mkdtempSync(join(tmpdir(), 'keyhold-files-'));

/** A data dir whose root key is what an old passphrase deployment derived from its salt. */
function legacyRootKeyFile(dir: string): string {
  const salt = Buffer.alloc(32, 3).toString('hex');
  const root = scryptSync(PASS, Buffer.from(salt, 'hex'), 32, {
    ...LEGACY_ROOT_KDF,
    maxmem: 64 << 20,
  });
  writeFileSync(join(dir, 'root.key'), root.toString('base64') + '\n', { mode: 0o600 });
  return salt;
}

async function encryptOne(s: Awaited<ReturnType<typeof startTestServer>>) {
  const key = await s.client.send(new CreateKeyCommand({}));
  const enc = await s.client.send(
    new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from('kept') }),
  );
  return enc.CiphertextBlob as Uint8Array;
}

async function decrypts(s: Awaited<ReturnType<typeof startTestServer>>, blob: Uint8Array) {
  const dec = await s.client.send(new DecryptCommand({ CiphertextBlob: blob }));
  return Buffer.from(dec.Plaintext as Uint8Array).toString();
}

describe('files at rest', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('creates the data dir 0700 and every database file 0600 under umask 000', async () => {
    const dir = join(tempDir(), 'data');
    dirs.push(dir);
    const old = process.umask(0);
    try {
      const s = await startTestServer({ dataDir: dir });
      try {
        await encryptOne(s); // writes both databases, so their -wal and -shm exist
        assert.equal(mode(dir), 0o700);
        for (const f of ['keyhold.db', 'audit.db', 'root.key']) {
          assert.equal(mode(join(dir, f)), 0o600, f);
        }
        for (const f of ['keyhold.db', 'audit.db']) {
          for (const side of ['-wal', '-shm']) {
            assert.ok(existsSync(join(dir, f + side)), `${f}${side} exists while serving`);
            assert.equal(mode(join(dir, f + side)), 0o600, f + side);
          }
        }
      } finally {
        await s.stop();
      }
    } finally {
      process.umask(old);
    }
  });

  it('tightens a data dir and database files left looser by an older start', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const s1 = await startTestServer({ dataDir: dir });
    const blob = await encryptOne(s1);
    await s1.stop();
    chmodSync(dir, 0o755);
    for (const f of ['keyhold.db', 'audit.db']) chmodSync(join(dir, f), 0o644);
    writeFileSync(join(dir, 'keyhold.db-wal'), '', { mode: 0o644 });
    chmodSync(join(dir, 'keyhold.db-wal'), 0o644);
    const s2 = await startTestServer({ dataDir: dir });
    try {
      assert.equal(mode(dir), 0o700);
      for (const f of ['keyhold.db', 'keyhold.db-wal', 'audit.db'])
        assert.equal(mode(join(dir, f)), 0o600, f);
      assert.equal(await decrypts(s2, blob), 'kept');
    } finally {
      await s2.stop();
    }
  });

  it('refuses to start, clearly, when the data dir is looser than 0700 and not ours to tighten', () => {
    // root owns the directory; the server runs as nobody, who may not chmod it.
    const dir = tempDir();
    dirs.push(dir);
    chmodSync(dir, 0o777);
    const res = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN, 'serve'],
      {
        env: { ...process.env, KEYHOLD_DATA_DIR: dir, KEYHOLD_PORT: '0' },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(res.status, 1, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(`keyhold: data directory ${dir} is mode 0777 and cannot be tightened to 0700`),
    );
    assert.equal(mode(dir), 0o777);
    assert.equal(existsSync(join(dir, 'keyhold.db')), false, 'nothing was created');
  });

  it('keyhold serve refuses a root passphrase shorter than 16 characters, creating nothing', () => {
    const dir = tempDir();
    dirs.push(dir);
    const res = spawnSync(process.execPath, [MAIN, 'serve'], {
      env: {
        ...process.env,
        KEYHOLD_DATA_DIR: dir,
        KEYHOLD_PORT: '0',
        KEYHOLD_ROOT_PASSPHRASE: 'a',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(res.status, 1);
    assert.match(
      res.stderr,
      /^keyhold: the root passphrase \(KEYHOLD_ROOT_PASSPHRASE\) must be at least 16 characters\n$/,
    );
    assert.equal(existsSync(join(dir, 'root.wrapped.json')), false);
    assert.equal(existsSync(join(dir, 'root.key')), false);
  });

  it('an old SQLite passphrase deployment opens, is upgraded on start, and its audit chain still verifies', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const salt = legacyRootKeyFile(dir);
    const s1 = await startTestServer({ dataDir: dir });
    const blob = await encryptOne(s1);
    await s1.stop();
    // Now it looks as an old deployment left it: the salt, no key file.
    unlinkSync(join(dir, 'root.key'));
    writeFileSync(join(dir, 'root.salt'), salt + '\n', { mode: 0o600 });
    const env = { KEYHOLD_ROOT_PASSPHRASE: PASS };
    const s2 = await startTestServer({ dataDir: dir, env });
    try {
      assert.equal(await decrypts(s2, blob), 'kept');
    } finally {
      await s2.stop();
    }
    assert.equal(existsSync(join(dir, 'root.salt')), false, 'the N=2^15 salt is gone');
    const rec = JSON.parse(readFileSync(join(dir, 'root.wrapped.json'), 'utf8')) as {
      kdf: { N: number };
    };
    assert.equal(rec.kdf.N, 2 ** 17);
    const s3 = await startTestServer({ dataDir: dir, env });
    try {
      assert.equal(await decrypts(s3, blob), 'kept');
    } finally {
      await s3.stop();
    }
    const verify = spawnSync(process.execPath, [MAIN, 'audit', 'verify', '--data-dir', dir], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    // A wrong passphrase is still refused after the upgrade.
    await assert.rejects(
      startTestServer({
        dataDir: dir,
        env: { KEYHOLD_ROOT_PASSPHRASE: 'not the passphrase at all' },
      }),
      /does not unwrap/,
    );
  });

  it('a deployment with a passphrase shorter than 16 characters changes it with keyhold root-key change-passphrase', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const SHORT = 'tenletters';
    // An old deployment: root key = scrypt N=2^15 of the salt under a short passphrase.
    const salt = Buffer.alloc(32, 4).toString('hex');
    const root = scryptSync(SHORT, Buffer.from(salt, 'hex'), 32, {
      ...LEGACY_ROOT_KDF,
      maxmem: 64 << 20,
    });
    writeFileSync(join(dir, 'root.key'), root.toString('base64') + '\n', { mode: 0o600 });
    const s1 = await startTestServer({ dataDir: dir });
    const blob = await encryptOne(s1);
    await s1.stop();
    unlinkSync(join(dir, 'root.key'));
    writeFileSync(join(dir, 'root.salt'), salt + '\n', { mode: 0o600 });
    await assert.rejects(
      startTestServer({ dataDir: dir, env: { KEYHOLD_ROOT_PASSPHRASE: SHORT } }),
      /at least 16 characters/,
    );
    const change = (current: string, next: string) =>
      spawnSync(process.execPath, [MAIN, 'root-key', 'change-passphrase', '--data-dir', dir], {
        env: {
          ...process.env,
          KEYHOLD_ROOT_PASSPHRASE: current,
          KEYHOLD_NEW_ROOT_PASSPHRASE: next,
        },
        encoding: 'utf8',
      });
    const NEW = 'a new and longer root passphrase';
    // A wrong current passphrase, or a new one that is too short, changes nothing.
    const wrong = change('elevenchars', NEW);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /^keyhold: the root key does not unwrap the stored domain keys/);
    const short = change(SHORT, 'still too short');
    assert.equal(short.status, 1);
    assert.match(short.stderr, /at least 16 characters/);
    assert.ok(existsSync(join(dir, 'root.salt')));
    assert.equal(existsSync(join(dir, 'root.wrapped.json')), false);
    const ok = change(SHORT, NEW);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /root key re-wrapped under the new passphrase/);
    assert.equal(existsSync(join(dir, 'root.salt')), false);
    const s2 = await startTestServer({ dataDir: dir, env: { KEYHOLD_ROOT_PASSPHRASE: NEW } });
    try {
      assert.equal(await decrypts(s2, blob), 'kept');
    } finally {
      await s2.stop();
    }
    // And again, from the wrapped form: the old new passphrase stops working.
    const NEWER = 'yet another long root passphrase';
    assert.equal(change(NEW, NEWER).status, 0);
    await assert.rejects(
      startTestServer({ dataDir: dir, env: { KEYHOLD_ROOT_PASSPHRASE: NEW } }),
      /does not unwrap/,
    );
    const s3 = await startTestServer({ dataDir: dir, env: { KEYHOLD_ROOT_PASSPHRASE: NEWER } });
    try {
      assert.equal(await decrypts(s3, blob), 'kept');
    } finally {
      await s3.stop();
    }
  });

  it('an old PostgreSQL passphrase deployment (kms_meta root_salt) is upgraded; a new node then opens it', async () => {
    const db = await createTestDatabase();
    const dir = tempDir();
    dirs.push(dir);
    try {
      const salt = legacyRootKeyFile(dir);
      const storage = { KEYHOLD_STORAGE_URL: db.url };
      const s1 = await startTestServer({ dataDir: dir, env: storage });
      const blob = await encryptOne(s1);
      await s1.stop();
      unlinkSync(join(dir, 'root.key'));
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query("INSERT INTO kms_meta (name, value) VALUES ('root_salt', $1)", [salt]);
        const env = { ...storage, KEYHOLD_ROOT_PASSPHRASE: PASS };
        const s2 = await startTestServer({ dataDir: dir, env });
        try {
          assert.equal(await decrypts(s2, blob), 'kept');
        } finally {
          await s2.stop();
        }
        const meta = await c.query<{ name: string; value: string }>(
          "SELECT name, value FROM kms_meta WHERE name LIKE 'root%' ORDER BY name",
        );
        assert.deepEqual(
          meta.rows.map((r) => r.name),
          ['root_key_wrapped'],
        );
        assert.equal(
          (JSON.parse(meta.rows[0]?.value ?? '{}') as { kdf: { N: number } }).kdf.N,
          2 ** 17,
        );
        // Another node with nothing but the passphrase.
        const other = tempDir();
        dirs.push(other);
        const s3 = await startTestServer({ dataDir: other, env });
        try {
          assert.equal(await decrypts(s3, blob), 'kept');
        } finally {
          await s3.stop();
        }
      } finally {
        await c.end();
      }
    } finally {
      await db.drop();
    }
  });
  it('keyhold root-key change-passphrase without a new passphrase upgrades an old PostgreSQL store in place', async () => {
    const db = await createTestDatabase();
    const dir = tempDir();
    dirs.push(dir);
    try {
      const salt = legacyRootKeyFile(dir);
      const storage = { KEYHOLD_STORAGE_URL: db.url };
      const s1 = await startTestServer({ dataDir: dir, env: storage });
      const blob = await encryptOne(s1);
      await s1.stop();
      unlinkSync(join(dir, 'root.key'));
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query("INSERT INTO kms_meta (name, value) VALUES ('root_salt', $1)", [salt]);
        const run = spawnSync(process.execPath, [MAIN, 'root-key', 'change-passphrase'], {
          env: { ...process.env, ...storage, KEYHOLD_ROOT_PASSPHRASE: PASS },
          encoding: 'utf8',
        });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /root key re-wrapped under the same passphrase \(kms_meta/);
        const meta = await c.query<{ name: string; value: string }>(
          "SELECT name, value FROM kms_meta WHERE name LIKE 'root%' ORDER BY name",
        );
        assert.deepEqual(
          meta.rows.map((r) => r.name),
          ['root_key_wrapped'],
        );
        const rec = JSON.parse(meta.rows[0]?.value ?? '{}') as { kdf: { N: number } };
        assert.equal(rec.kdf.N, 2 ** 17);
      } finally {
        await c.end();
      }
      const other = tempDir();
      dirs.push(other);
      const s2 = await startTestServer({
        dataDir: other,
        env: { ...storage, KEYHOLD_ROOT_PASSPHRASE: PASS },
      });
      try {
        assert.equal(await decrypts(s2, blob), 'kept');
      } finally {
        await s2.stop();
      }
    } finally {
      await db.drop();
    }
  });
});
