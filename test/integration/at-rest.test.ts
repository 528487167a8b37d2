/**
 * Secrets at rest: plaintext data keys, plaintexts, HBKs, domain keys, the root key and
 * the access key secret never reach the data dir (SQLite main file, WAL, SHM, anything
 * else). After a run the test scans every byte of every file for every secret it saw, raw
 * and as base64 / hex. Also: the root key file's mode, a restart on the same data dir
 * keeps everything, and the `keyhold audit` CLI verifies, detects tampering and queries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from '../../src/storage/sqlite/driver.js';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  ListAliasesCommand,
  ListResourceTagsCommand,
  ReEncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { openGcm } from '../../src/hsm/aead.js';
import { derivePurposeKey, loadRootKey } from '../../src/hsm/root-key.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const CONTEXT = { app: 'at-rest', purpose: 'scan' };

interface Secret {
  label: string;
  bytes: Buffer;
}

interface Sealed {
  label: string;
  plaintext: Buffer;
  blob: Buffer;
  context?: Record<string, string>;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface AuditEventJson {
  eventSource: string;
  eventName: string;
  errorCode?: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  userIdentity: { type: string; arn?: string; accessKeyId?: string };
}

function bytes(v: Uint8Array | undefined, what: string): Buffer {
  assert.ok(v !== undefined, `${what} present`);
  return Buffer.from(v);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The encodings a secret could be written in. */
function forms(b: Buffer): Array<[string, Buffer]> {
  return [
    ['raw', b],
    ['base64', Buffer.from(b.toString('base64'), 'latin1')],
    ['base64url', Buffer.from(b.toString('base64url'), 'latin1')],
    ['hex', Buffer.from(b.toString('hex'), 'latin1')],
    ['HEX', Buffer.from(b.toString('hex').toUpperCase(), 'latin1')],
  ];
}

/** Every (file, secret, form) hit in the given files. */
function scan(files: string[], secrets: Secret[]): string[] {
  const hits: string[] = [];
  for (const f of files) {
    const content = readFileSync(f);
    for (const s of secrets) {
      for (const [form, needle] of forms(s.bytes)) {
        if (content.indexOf(needle) !== -1) hits.push(`${s.label} (${form}) in ${f}`);
      }
    }
  }
  return hits;
}

function runCli(args: string[]): Promise<CliResult> {
  const env = { ...process.env };
  delete env['KEYHOLD_ROOT_PASSPHRASE'];
  delete env['KEYHOLD_ROOT_PASSPHRASE_FILE'];
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, ...args], { env, timeout: 30_000 }, (err, so, se) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : Number.NaN;
      resolve({ code, stdout: String(so), stderr: String(se) });
    });
  });
}

function parseLines(stdout: string): AuditEventJson[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditEventJson);
}

describe('secrets at rest, restart and the audit CLI', () => {
  let dataDir: string;
  let keyArn = '';
  let keyId = '';
  let otherKeyId = '';
  /** Everything that must never be found in the data dir. */
  const secrets: Secret[] = [];
  /** Ciphertexts to decrypt again after the restart. */
  const sealed: Sealed[] = [];

  async function workload(server: TestServer): Promise<void> {
    const c: KMSClient = server.client;
    // seq 1 CreateKey, seq 2 CreateAlias, seq 3 GenerateDataKey (the tamper test uses seq 3).
    const k1 = await c.send(
      new CreateKeyCommand({
        Description: 'at-rest',
        Tags: [{ TagKey: 'team', TagValue: 'security' }],
      }),
    );
    keyArn = k1.KeyMetadata?.Arn ?? '';
    keyId = k1.KeyMetadata?.KeyId ?? '';
    await c.send(new CreateAliasCommand({ AliasName: 'alias/at-rest', TargetKeyId: keyId }));

    for (let i = 0; i < 40; i++) {
      const out = await c.send(
        new GenerateDataKeyCommand({
          KeyId: i % 2 === 0 ? keyId : 'alias/at-rest',
          KeySpec: 'AES_256',
          EncryptionContext: CONTEXT,
        }),
      );
      const pt = bytes(out.Plaintext, 'Plaintext');
      assert.equal(pt.length, 32);
      secrets.push({ label: `data key #${i}`, bytes: pt });
      sealed.push({
        label: `data key #${i}`,
        plaintext: pt,
        blob: bytes(out.CiphertextBlob, 'CiphertextBlob'),
        context: CONTEXT,
      });
    }
    for (let i = 0; i < 10; i++) {
      const out = await c.send(new GenerateDataKeyCommand({ KeyId: keyArn, NumberOfBytes: 64 }));
      const pt = bytes(out.Plaintext, 'Plaintext');
      secrets.push({ label: `64-byte data key #${i}`, bytes: pt });
      sealed.push({
        label: `64-byte data key #${i}`,
        plaintext: pt,
        blob: bytes(out.CiphertextBlob, 'blob'),
      });
    }

    const k2 = await c.send(new CreateKeyCommand({ Description: 'at-rest other' }));
    otherKeyId = k2.KeyMetadata?.KeyId ?? '';

    for (let i = 0; i < 20; i++) {
      const pt = randomBytes(64);
      secrets.push({ label: `plaintext #${i}`, bytes: pt });
      const enc = await c.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: pt, EncryptionContext: CONTEXT }),
      );
      const blob = bytes(enc.CiphertextBlob, 'CiphertextBlob');
      const dec = await c.send(
        new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: CONTEXT }),
      );
      assert.ok(bytes(dec.Plaintext, 'Plaintext').equals(pt));
      sealed.push({ label: `plaintext #${i}`, plaintext: pt, blob, context: CONTEXT });
      if (i < 5) {
        const re = await c.send(
          new ReEncryptCommand({
            CiphertextBlob: blob,
            SourceEncryptionContext: CONTEXT,
            DestinationKeyId: otherKeyId,
          }),
        );
        sealed.push({
          label: `re-encrypted plaintext #${i}`,
          plaintext: pt,
          blob: bytes(re.CiphertextBlob, 'CiphertextBlob'),
        });
      }
    }

    const wp = await c.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_256' }),
    );
    const wpBlob = bytes(wp.CiphertextBlob, 'CiphertextBlob');
    const wpPt = bytes(
      (await c.send(new DecryptCommand({ CiphertextBlob: wpBlob }))).Plaintext,
      'pt',
    );
    secrets.push({ label: 'data key without plaintext', bytes: wpPt });
    sealed.push({ label: 'data key without plaintext', plaintext: wpPt, blob: wpBlob });

    for (let i = 0; i < 3; i++) {
      const r = await c.send(new GenerateRandomCommand({ NumberOfBytes: 48 }));
      secrets.push({ label: `random #${i}`, bytes: bytes(r.Plaintext, 'Plaintext') });
    }

    // Error paths, each carrying a secret in the request.
    const first = sealed[0];
    assert.ok(first !== undefined);
    await expectAwsError(
      c.send(new DecryptCommand({ CiphertextBlob: first.blob, EncryptionContext: { app: 'x' } })),
      'InvalidCiphertextException',
    );
    const lost = randomBytes(64);
    secrets.push({ label: 'plaintext sent to a missing key', bytes: lost });
    const nf = await expectAwsError(
      c.send(
        new EncryptCommand({ KeyId: '11111111-2222-3333-4444-555555555555', Plaintext: lost }),
      ),
      'NotFoundException',
    );
    assert.ok(!nf.message.includes(lost.toString('base64')), 'error carries no plaintext');

    await c.send(new DisableKeyCommand({ KeyId: otherKeyId }));
    const toDisabled = randomBytes(64);
    secrets.push({ label: 'plaintext sent to a disabled key', bytes: toDisabled });
    await expectAwsError(
      c.send(new EncryptCommand({ KeyId: otherKeyId, Plaintext: toDisabled })),
      'DisabledException',
    );
    await c.send(new EnableKeyCommand({ KeyId: otherKeyId }));

    const unknown = server.clientWith('AKIAUNKNOWN000000000', TEST_SECRET_ACCESS_KEY);
    const wrongSecret = server.clientWith(TEST_ACCESS_KEY_ID, 'q'.repeat(40));
    try {
      const unauth = randomBytes(64);
      secrets.push({ label: 'plaintext from an unknown access key', bytes: unauth });
      await expectAwsError(
        unknown.send(new EncryptCommand({ KeyId: keyId, Plaintext: unauth })),
        'UnrecognizedClientException',
      );
      await expectAwsError(
        wrongSecret.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })),
        'InvalidSignatureException',
      );
    } finally {
      unknown.destroy();
      wrongSecret.destroy();
    }

    const noAuth = randomBytes(64);
    secrets.push({ label: 'plaintext in an unsigned request', bytes: noAuth });
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'TrentService.Encrypt',
      },
      body: JSON.stringify({ KeyId: keyId, Plaintext: noAuth.toString('base64') }),
    });
    assert.equal(res.status, 403);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['__type'], 'MissingAuthenticationTokenException');
  }

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyhold-at-rest-'));
    const server = await startTestServer({ dataDir });
    try {
      await workload(server);
    } finally {
      await server.stop();
    }
  });
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('no plaintext data key or plaintext appears anywhere in the data dir (incl. WAL/SHM)', () => {
    const files = listFiles(dataDir);
    assert.ok(
      files.some((f) => f.endsWith('keyhold.db')),
      `keyhold.db in ${files.join(', ')}`,
    );
    assert.ok(secrets.length >= 75, `collected ${secrets.length} secrets`);
    const hits = scan(files, secrets);
    assert.deepEqual(hits, [], hits.slice(0, 10).join('\n'));
  });

  it('the scan is able to find what it looks for (control)', () => {
    const files = listFiles(dataDir);
    const rootFile = files.find((f) => f.endsWith('root.key'));
    assert.ok(rootFile !== undefined);
    const root = Buffer.from(readFileSync(rootFile, 'utf8').trim(), 'base64');
    const hits = scan([rootFile], [{ label: 'root key', bytes: root }]);
    assert.ok(
      hits.some((h) => h.startsWith('root key (base64)')),
      hits.join('\n'),
    );
  });

  it('the root key file is mode 0600 and the data dir is private', () => {
    const mode = statSync(join(dataDir, 'root.key')).mode & 0o777;
    assert.equal(mode.toString(8), '600');
    assert.equal((statSync(dataDir).mode & 0o077).toString(8), '0', 'no group/other access');
  });

  it('the secret access key is not stored in keyhold.db (or its WAL/SHM), raw or base64', () => {
    const dbFiles = listFiles(dataDir).filter((f) => /keyhold\.db(-wal|-shm)?$/.test(f));
    assert.ok(dbFiles.length >= 1);
    const secret = Buffer.from(TEST_SECRET_ACCESS_KEY, 'utf8');
    const hits = scan(dbFiles, [{ label: 'secret access key', bytes: secret }]);
    assert.deepEqual(hits, []);
    // The access key *id* is stored (it is not secret): shows the scan would see the row.
    const id = Buffer.from(TEST_ACCESS_KEY_ID, 'utf8');
    assert.ok(
      dbFiles.some((f) => readFileSync(f).indexOf(id) !== -1),
      'access key id stored',
    );
  });

  it('the root key, purpose keys, domain keys and HBKs never appear in storage', async () => {
    const root = loadRootKey({ dataDir, create: false });
    const rootBytes = Buffer.from(root.key.bytes);
    const keyMaterial: Secret[] = [{ label: 'root key', bytes: rootBytes }];
    for (const purpose of ['domain-key-wrap', 'secret-seal', 'audit-chain'] as const) {
      keyMaterial.push({
        label: `purpose key ${purpose}`,
        bytes: Buffer.from(derivePurposeKey(root.key, purpose).bytes),
      });
    }
    const storage = new SqliteStorage(join(dataDir, 'keyhold.db'));
    try {
      // Unwrap every domain key the way hsm/domain-keys.ts does (no plaintext key leaves hsm/).
      const wrap = derivePurposeKey(root.key, 'domain-key-wrap');
      const domainKeys = new Map<string, Buffer>();
      for (const r of await storage.listDomainKeys()) {
        const aad = Buffer.from(`keyhold/domain-key/v1/${r.id}`, 'utf8');
        domainKeys.set(r.id, openGcm(wrap.bytes, r.wrapped, aad));
      }
      assert.ok(domainKeys.size >= 1, 'at least one domain key');
      for (const [id, dk] of domainKeys)
        keyMaterial.push({ label: `domain key ${id}`, bytes: Buffer.from(dk) });
      // Unwrap every HBK the way the software HSM does, to know what to look for.
      const rows = storage.db
        .prepare(
          `SELECT k.arn AS arn, v.version_id AS versionId, v.domain_key_id AS dkId, v.ekt AS ekt
             FROM key_versions v JOIN keys k ON k.region = v.region AND k.key_id = v.key_id`,
        )
        .all() as Array<{ arn: string; versionId: string; dkId: string; ekt: Buffer }>;
      assert.ok(rows.length >= 2, 'both keys have a backing key');
      for (const r of rows) {
        const dk = domainKeys.get(r.dkId);
        assert.ok(dk !== undefined, `domain key ${r.dkId} stored`);
        const aad = Buffer.from(`keyhold/ekt/v1/${r.dkId}/${r.arn}/${r.versionId}`, 'utf8');
        const hbk = openGcm(dk, r.ekt, aad);
        assert.equal(hbk.length, 32);
        keyMaterial.push({ label: `HBK ${r.arn}/${r.versionId}`, bytes: hbk });
      }
    } finally {
      await storage.close();
    }
    root.key.zeroize();
    const files = listFiles(dataDir).filter((f) => !f.endsWith('root.key'));
    const hits = scan(files, keyMaterial);
    assert.deepEqual(hits, [], hits.join('\n'));
  });

  it('`keyhold audit verify` succeeds on the untouched log', async () => {
    const r = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /audit log OK: \d+ events verified/);
  });

  it('`keyhold audit query --event CreateKey` prints CloudTrail JSON events', async () => {
    const r = await runCli(['audit', 'query', '--event', 'CreateKey', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const events = parseLines(r.stdout);
    assert.equal(events.length, 2);
    for (const e of events) {
      assert.equal(e.eventSource, 'kms.amazonaws.com');
      assert.equal(e.eventName, 'CreateKey');
      assert.ok(e.requestParameters !== null && typeof e.requestParameters === 'object');
      assert.equal(e.userIdentity.type, 'Root');
      assert.equal(e.userIdentity.accessKeyId, TEST_ACCESS_KEY_ID);
    }
    assert.equal(events[0]?.requestParameters?.['description'], 'at-rest');
  });

  it('failed and unauthenticated requests are audited (userIdentity Unknown when unauthenticated)', async () => {
    const enc = parseLines(
      (
        await runCli([
          'audit',
          'query',
          '--event',
          'Encrypt',
          '--limit',
          '1000',
          '--data-dir',
          dataDir,
        ])
      ).stdout,
    );
    const byError = (code: string) => enc.filter((e) => e.errorCode === code);
    const unrecognized = byError('UnrecognizedClientException');
    assert.equal(unrecognized.length, 1);
    assert.equal(unrecognized[0]?.userIdentity.type, 'Unknown');
    const missing = byError('MissingAuthenticationTokenException');
    assert.equal(missing.length, 1);
    assert.equal(missing[0]?.userIdentity.type, 'Unknown');
    const notFound = byError('NotFoundException');
    assert.equal(notFound.length, 1);
    assert.equal(notFound[0]?.userIdentity.type, 'Root');
    assert.equal(byError('DisabledException').length, 1);
    assert.equal(enc.filter((e) => e.errorCode === undefined).length, 20);

    const gdk = parseLines(
      (
        await runCli([
          'audit',
          'query',
          '--event',
          'GenerateDataKey',
          '--limit',
          '1000',
          '--data-dir',
          dataDir,
        ])
      ).stdout,
    );
    const badSig = gdk.filter((e) => e.errorCode === 'InvalidSignatureException');
    assert.equal(badSig.length, 1);
    assert.equal(badSig[0]?.userIdentity.type, 'Unknown');
    assert.equal(gdk.length, 51);

    const dec = parseLines(
      (
        await runCli([
          'audit',
          'query',
          '--event',
          'Decrypt',
          '--limit',
          '1000',
          '--data-dir',
          dataDir,
        ])
      ).stdout,
    );
    const invalid = dec.filter((e) => e.errorCode === 'InvalidCiphertextException');
    assert.equal(invalid.length, 1);
    assert.deepEqual(invalid[0]?.requestParameters?.['encryptionContext'], { app: 'x' });
  });

  it('a restart on the same data dir keeps keys, aliases, tags and decrypts old ciphertexts', async () => {
    const server = await startTestServer({ dataDir });
    try {
      const c = server.client;
      for (const s of sealed) {
        const out = await c.send(
          new DecryptCommand({
            CiphertextBlob: s.blob,
            ...(s.context !== undefined ? { EncryptionContext: s.context } : {}),
          }),
        );
        assert.ok(bytes(out.Plaintext, 'Plaintext').equals(s.plaintext), s.label);
      }
      const d = await c.send(new DescribeKeyCommand({ KeyId: 'alias/at-rest' }));
      assert.equal(d.KeyMetadata?.Arn, keyArn);
      assert.equal(d.KeyMetadata?.Description, 'at-rest');
      const aliases = await c.send(new ListAliasesCommand({ KeyId: keyId }));
      assert.deepEqual(
        aliases.Aliases?.map((a) => a.AliasName),
        ['alias/at-rest'],
      );
      const tags = await c.send(new ListResourceTagsCommand({ KeyId: keyId }));
      assert.deepEqual(tags.Tags, [{ TagKey: 'team', TagValue: 'security' }]);
      const other = await c.send(new DescribeKeyCommand({ KeyId: otherKeyId }));
      assert.equal(other.KeyMetadata?.KeyState, 'Enabled');
    } finally {
      await server.stop();
    }
    // Decrypting everything again leaves no plaintext behind either.
    const hits = scan(listFiles(dataDir), secrets);
    assert.deepEqual(hits, [], hits.slice(0, 10).join('\n'));
    const v = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(v.code, 0, `chain continues across the restart: ${v.stderr}`);
  });

  it('`keyhold audit verify` exits 1 when one event body was changed', async () => {
    const db = new Database(join(dataDir, 'audit.db'));
    try {
      const row = db.prepare('SELECT event_name FROM audit_events WHERE seq = 3').get() as
        { event_name: string } | undefined;
      assert.equal(row?.event_name, 'GenerateDataKey');
      const info = db
        .prepare(
          "UPDATE audit_events SET body = replace(body, 'GenerateDataKey', 'GenerateDataKeX') WHERE seq = 3",
        )
        .run();
      assert.equal(info.changes, 1);
    } finally {
      db.close();
    }
    const r = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(r.code, 1, `verify must fail: ${r.stdout}`);
    assert.match(r.stderr, /FAILED at seq 3/);
  });
});
