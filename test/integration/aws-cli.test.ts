/**
 * The AWS CLI v2 (Debian's `awscli`, /usr/bin/aws) against keyhold: JSON output, blob
 * parameters from files (fileb://), shorthand encryption context, and error exit codes.
 *
 * CI installs awscli in `.ci/run`; without /usr/bin/aws these tests FAIL on purpose.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand } from '@aws-sdk/client-kms';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const AWS = '/usr/bin/aws';
const MISSING =
  `${AWS} is missing: the AWS CLI v2 tests need Debian's awscli package. ` +
  '.ci/run must install awscli (apt-get install -y awscli); CI installs it.';

/** Fails (never skips) the calling test when the CLI is not installed. */
function requireCli(): void {
  assert.ok(existsSync(AWS), MISSING);
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('AWS CLI v2 against keyhold', () => {
  let server: TestServer;
  let tmp: string;
  let keyId: string;
  let keyArn: string;

  function run(args: string[], creds?: { akid: string; secret: string }): Promise<CliResult> {
    requireCli();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: tmp,
      AWS_ACCESS_KEY_ID: creds?.akid ?? TEST_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: creds?.secret ?? TEST_SECRET_ACCESS_KEY,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_PAGER: '',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
    };
    return new Promise((resolve) => {
      execFile(
        AWS,
        [...args, '--endpoint-url', server.url, '--output', 'json'],
        { env, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : Number.NaN;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
  }

  async function runJson(args: string[]): Promise<Record<string, unknown>> {
    const r = await run(args);
    assert.equal(r.code, 0, `aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  function b64(v: unknown, what: string): Buffer {
    assert.equal(typeof v, 'string', `${what} is a base64 string`);
    return Buffer.from(v as string, 'base64');
  }

  function file(name: string, bytes: Buffer): string {
    const p = join(tmp, name);
    writeFileSync(p, bytes);
    return p;
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-cli-'));
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('is the AWS CLI v2', async () => {
    requireCli();
    const r = await new Promise<string>((resolve, reject) =>
      execFile(AWS, ['--version'], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    assert.match(r, /^aws-cli\/2\./, `expected aws-cli/2.x, got: ${r}`);
  });

  it('create-key prints KeyMetadata as JSON', async () => {
    const out = await runJson(['kms', 'create-key', '--description', 'from the cli']);
    const md = out['KeyMetadata'] as Record<string, unknown>;
    assert.ok(md !== undefined, 'KeyMetadata present');
    keyId = String(md['KeyId']);
    keyArn = String(md['Arn']);
    assert.match(keyId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(keyArn, `arn:aws:kms:us-east-1:111122223333:key/${keyId}`);
    assert.equal(md['Description'], 'from the cli');
    assert.equal(md['KeyState'], 'Enabled');
    assert.equal(md['KeySpec'], 'SYMMETRIC_DEFAULT');
    assert.equal(md['KeyUsage'], 'ENCRYPT_DECRYPT');
    assert.equal(md['Enabled'], true);
    // The CLI renders timestamps; either an ISO string or epoch seconds are valid JSON.
    assert.ok(md['CreationDate'] !== undefined);
  });

  it('create-alias, then list-aliases shows it pointing at the key', async () => {
    const r = await run([
      'kms',
      'create-alias',
      '--alias-name',
      'alias/cli',
      '--target-key-id',
      keyId,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = await runJson(['kms', 'list-aliases', '--key-id', keyId]);
    const aliases = out['Aliases'] as Array<Record<string, unknown>>;
    assert.ok(Array.isArray(aliases));
    const a = aliases.find((x) => x['AliasName'] === 'alias/cli');
    assert.ok(a !== undefined, `alias/cli listed: ${r.stdout}`);
    assert.equal(a['TargetKeyId'], keyId);
    assert.equal(a['AliasArn'], 'arn:aws:kms:us-east-1:111122223333:alias/cli');
    const described = await runJson(['kms', 'describe-key', '--key-id', 'alias/cli']);
    assert.equal((described['KeyMetadata'] as Record<string, unknown>)['KeyId'], keyId);
  });

  it('encrypt (fileb:// plaintext, --encryption-context) and decrypt (fileb:// raw blob)', async () => {
    const plaintext = randomBytes(200);
    const enc = await runJson([
      'kms',
      'encrypt',
      '--key-id',
      'alias/cli',
      '--plaintext',
      `fileb://${file('pt.bin', plaintext)}`,
      '--encryption-context',
      'project=keyhold,stage=test',
    ]);
    assert.equal(enc['KeyId'], keyArn);
    assert.equal(enc['EncryptionAlgorithm'], 'SYMMETRIC_DEFAULT');
    const blob = b64(enc['CiphertextBlob'], 'CiphertextBlob');
    assert.ok(blob.length > plaintext.length);
    assert.equal(blob.indexOf(plaintext), -1);
    const blobPath = file('ct.bin', blob);

    const dec = await runJson([
      'kms',
      'decrypt',
      '--ciphertext-blob',
      `fileb://${blobPath}`,
      '--encryption-context',
      'stage=test,project=keyhold',
    ]);
    assert.equal(dec['KeyId'], keyArn);
    assert.ok(b64(dec['Plaintext'], 'Plaintext').equals(plaintext), 'round trip');

    // The same blob decrypts through the SDK too: the CLI sent exactly the raw bytes.
    const viaSdk = await server.client.send(
      new DecryptCommand({
        CiphertextBlob: blob,
        EncryptionContext: { project: 'keyhold', stage: 'test' },
      }),
    );
    assert.ok(Buffer.from(viaSdk.Plaintext ?? new Uint8Array()).equals(plaintext));

    const wrong = await run([
      'kms',
      'decrypt',
      '--ciphertext-blob',
      `fileb://${blobPath}`,
      '--encryption-context',
      'project=keyhold,stage=prod',
    ]);
    assert.ok(wrong.code === 254 || wrong.code === 255, `exit code ${wrong.code}`);
    assert.match(wrong.stderr, /InvalidCiphertextException/);
    assert.equal(wrong.stdout.trim(), '');
  });

  it('generate-data-key --key-spec AES_256 returns a 32-byte key that decrypts to itself', async () => {
    const out = await runJson([
      'kms',
      'generate-data-key',
      '--key-id',
      keyId,
      '--key-spec',
      'AES_256',
    ]);
    assert.equal(out['KeyId'], keyArn);
    const pt = b64(out['Plaintext'], 'Plaintext');
    assert.equal(pt.length, 32);
    const blob = b64(out['CiphertextBlob'], 'CiphertextBlob');
    const dec = await runJson([
      'kms',
      'decrypt',
      '--ciphertext-blob',
      `fileb://${file('dk.bin', blob)}`,
    ]);
    assert.ok(b64(dec['Plaintext'], 'Plaintext').equals(pt));
  });

  it('describe-key of a missing key exits 254/255 with NotFoundException on stderr', async () => {
    const r = await run([
      'kms',
      'describe-key',
      '--key-id',
      '00000000-0000-0000-0000-000000000000',
    ]);
    assert.ok(r.code === 254 || r.code === 255, `exit code ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /NotFoundException/);
    assert.match(r.stderr, /DescribeKey/);
  });

  it('a wrong secret exits non-zero with InvalidSignatureException', async () => {
    const r = await run(['kms', 'list-keys'], { akid: TEST_ACCESS_KEY_ID, secret: 'w'.repeat(40) });
    assert.ok(r.code === 254 || r.code === 255, `exit code ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /InvalidSignatureException/);
  });

  it('list-keys includes the key created through the CLI', async () => {
    const out = await runJson(['kms', 'list-keys']);
    const keys = out['Keys'] as Array<Record<string, unknown>>;
    assert.ok(keys.some((k) => k['KeyId'] === keyId && k['KeyArn'] === keyArn));
  });
});
