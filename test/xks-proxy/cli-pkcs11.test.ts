/**
 * `keyhold xks-proxy` with the PKCS#11 backend as an operator sets it up: a SoftHSM2 token
 * made with softhsm2-util, an AES key made with OpenSC's pkcs11-tool, the proxy as a child
 * process (its own SOFTHSM2_CONF), curl --aws-sigv4 against it, disabledKeys + SIGHUP.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { generateXksCredential } from '../helpers/xks-proxy.js';

const run = promisify(execFile);
const MAIN = resolve('dist/src/cli/main.js');
const MODULE = process.env.KEYHOLD_TEST_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
const tools =
  existsSync(MODULE) && existsSync('/usr/bin/pkcs11-tool') && existsSync('/usr/bin/softhsm2-util');

describe(
  'keyhold xks-proxy with a PKCS#11 token (child process)',
  { skip: !tools && 'softhsm2 / opensc not installed' },
  () => {
    let dir: string;
    let pki: TestPki;
    let child: ChildProcess;
    let out = '';
    let url = '';
    let cfgPath = '';
    const pin = `pin-${randomUUID().slice(0, 8)}`;
    const cred = generateXksCredential();
    let env: NodeJS.ProcessEnv = {};
    const cfg = (disabledKeys: string[]) => ({
      host: '127.0.0.1',
      port: 0,
      uriPrefix: '/hsm',
      tls: { certFile: pki.server.certPath, keyFile: pki.server.keyPath },
      credentials: [cred],
      backend: {
        type: 'pkcs11',
        module: MODULE,
        tokenLabel: 'xks-test',
        pinEnv: 'XKS_PIN',
        disabledKeys,
      },
    });
    const waitFor = async (re: RegExp, from = 0): Promise<RegExpMatchArray> => {
      const end = Date.now() + 15_000;
      for (;;) {
        const m = re.exec(out.slice(from));
        if (m !== null) return m;
        if (Date.now() > end) throw new Error(`timed out waiting for ${re}; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const curl = async (op: string, body: object) => {
      const { stdout } = await run('curl', [
        `${url}/hsm/kms/xks/v1/${op}`,
        '-s',
        '--cacert',
        pki.caPath,
        '-H',
        'Content-Type:application/json',
        '--aws-sigv4',
        'aws:amz:us-east-1:kms-xks-proxy',
        '--user',
        `${cred.accessKeyId}:${cred.secretAccessKey}`,
        '--data-binary',
        JSON.stringify(body),
      ]);
      return JSON.parse(stdout) as Record<string, string>;
    };
    const md = (op: string) => ({
      awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice',
      kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k',
      kmsOperation: op,
      kmsRequestId: randomUUID(),
    });

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'keyhold-xks-p11-'));
      pki = createTestPki({ keyType: 'rsa' });
      mkdirSync(join(dir, 'tokens'));
      writeFileSync(
        join(dir, 'softhsm2.conf'),
        `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
      );
      env = { ...process.env, SOFTHSM2_CONF: join(dir, 'softhsm2.conf'), XKS_PIN: pin };
      await run(
        'softhsm2-util',
        ['--init-token', '--free', '--label', 'xks-test', '--so-pin', 'so-12345678', '--pin', pin],
        { env },
      );
      for (const label of ['foo', 'bar']) {
        await run(
          'pkcs11-tool',
          [
            '--module',
            MODULE,
            '--token-label',
            'xks-test',
            '--login',
            '--pin',
            pin,
            '--keygen',
            '--key-type',
            'AES:32',
            '--label',
            label,
          ],
          { env },
        );
      }
      cfgPath = join(dir, 'xks.json');
      writeFileSync(cfgPath, JSON.stringify(cfg([])));
      child = spawn('node', [MAIN, 'xks-proxy', '--config', cfgPath], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      url = (
        await waitFor(/listening on (https:\/\/[0-9.]+:\d+)\/hsm\/kms\/xks\/v1 \(backend pkcs11/)
      )[1] as string;
    });
    after(async () => {
      if (child !== undefined && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      pki?.cleanup();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it('health names the token (SoftHSM) and its serial', async () => {
      const h = await curl('health', {
        requestMetadata: { kmsRequestId: '1', kmsOperation: 'KmsHealthCheck' },
      });
      assert.match(h.ekmVendor ?? '', /SoftHSM/);
      const fleet = h.ekmFleetDetails as unknown as { id: string; healthStatus: string }[];
      assert.equal(fleet[0]?.healthStatus, 'ACTIVE');
      assert.ok((fleet[0]?.id ?? '').length > 0);
    });

    it('GetKeyMetadata, Encrypt and Decrypt with a key made by pkcs11-tool', async () => {
      const m = await curl('keys/foo/metadata', { requestMetadata: md('CreateKey') });
      assert.equal(m.keySpec, 'AES_256');
      assert.equal(m.keyStatus, 'ENABLED');
      const e = await curl('keys/foo/encrypt', {
        requestMetadata: md('Encrypt'),
        plaintext: 'aGVsbG8=',
        additionalAuthenticatedData: 'YWFk',
        encryptionAlgorithm: 'AES_GCM',
        ciphertextDataIntegrityValueAlgorithm: 'SHA_256',
      });
      assert.equal(typeof e.ciphertextDataIntegrityValue, 'string');
      const d = await curl('keys/foo/decrypt', {
        requestMetadata: md('Decrypt'),
        ciphertext: e.ciphertext,
        initializationVector: e.initializationVector,
        authenticationTag: e.authenticationTag,
        ciphertextMetadata: e.ciphertextMetadata,
        additionalAuthenticatedData: 'YWFk',
        encryptionAlgorithm: 'AES_GCM',
      });
      assert.equal(d.plaintext, 'aGVsbG8=');
      const other = await curl('keys/bar/decrypt', {
        requestMetadata: md('Decrypt'),
        ciphertext: e.ciphertext,
        initializationVector: e.initializationVector,
        authenticationTag: e.authenticationTag,
        ciphertextMetadata: e.ciphertextMetadata,
        additionalAuthenticatedData: 'YWFk',
        encryptionAlgorithm: 'AES_GCM',
      });
      assert.equal(other.errorName, 'InvalidCiphertextException');
    });

    it('disabledKeys + SIGHUP → DISABLED and InvalidStateException', async () => {
      writeFileSync(cfgPath, JSON.stringify(cfg(['foo'])));
      const mark = out.length;
      child.kill('SIGHUP');
      await waitFor(/SIGHUP: reloaded/, mark);
      assert.equal(
        (await curl('keys/foo/metadata', { requestMetadata: md('CreateKey') })).keyStatus,
        'DISABLED',
      );
      const e = await curl('keys/foo/encrypt', {
        requestMetadata: md('Encrypt'),
        plaintext: 'aGVsbG8=',
        encryptionAlgorithm: 'AES_GCM',
      });
      assert.equal(e.errorName, 'InvalidStateException');
      assert.equal(
        (await curl('keys/bar/metadata', { requestMetadata: md('CreateKey') })).keyStatus,
        'ENABLED',
      );
    });

    it('the PIN never appears in the output', () => {
      assert.ok(!out.includes(pin));
    });

    it('a wrong PIN fails at start with the CKR code, exit 1', async () => {
      await assert.rejects(
        run('node', [MAIN, 'xks-proxy', '--config', cfgPath], {
          env: { ...env, XKS_PIN: 'wrong-pin-0000' },
        }),
        (e: { code: number; stderr: string }) => {
          assert.equal(e.code, 1);
          assert.match(e.stderr, /cannot open the pkcs11 backend: .*CKR_PIN_INCORRECT/);
          assert.ok(!e.stderr.includes('wrong-pin-0000'));
          return true;
        },
      );
    });
  },
);
