/**
 * `keyhold xks-proxy` as an operator runs it: a key file made with `keyhold xks-proxy keys
 * create`, a JSON config, the server as a child process, curl --aws-sigv4 against it,
 * credential rotation and key disabling applied with SIGHUP, Prometheus metrics on the
 * separate plain-HTTP port, secrets never in the output.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { generateXksCredential } from '../helpers/xks-proxy.js';

const run = promisify(execFile);
const MAIN = resolve('dist/src/cli/main.js');

describe('keyhold xks-proxy (CLI, child process)', () => {
  let dir: string;
  let pki: TestPki;
  let child: ChildProcess;
  let out = '';
  let url = '';
  let metricsUrl = '';
  const passphrase = `pp-${randomUUID()}`;
  const c1 = generateXksCredential();
  const c2 = generateXksCredential();
  const env = { ...process.env, KEYHOLD_XKS_KEY_FILE_PASSPHRASE: passphrase };
  let cfgPath = '';
  const cfg = (creds: object[]) => ({
    host: '127.0.0.1',
    port: 0,
    uriPrefix: '/tenant-a',
    tls: { certFile: pki.server.certPath, keyFile: pki.server.keyPath },
    credentials: creds,
    backend: {
      type: 'software',
      keyFile: 'keys.json',
      passphraseEnv: 'KEYHOLD_XKS_KEY_FILE_PASSPHRASE',
    },
    metrics: { host: '127.0.0.1', port: 0 },
  });

  /** Wait until `re` matches the output written after position `from`. */
  const waitFor = async (re: RegExp, from = 0, ms = 10_000): Promise<RegExpMatchArray> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(out.slice(from));
      if (m !== null) return m;
      if (Date.now() > end) throw new Error(`timed out waiting for ${re}; output:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const curl = async (op: string, body: object, cred = c1) => {
    const { stdout } = await run('curl', [
      `${url}/tenant-a/kms/xks/v1/${op}`,
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
    return JSON.parse(stdout) as Record<string, unknown>;
  };
  const md = (op: string) => ({
    awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice',
    kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k',
    kmsOperation: op,
    kmsRequestId: randomUUID(),
  });
  const encrypt = (cred = c1) =>
    curl(
      'keys/ext-1/encrypt',
      { requestMetadata: md('Encrypt'), plaintext: 'aGVsbG8=', encryptionAlgorithm: 'AES_GCM' },
      cred,
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyhold-xks-cli-'));
    pki = createTestPki();
    const { stdout } = await run(
      'node',
      [MAIN, 'xks-proxy', 'keys', 'create', '--file', join(dir, 'keys.json'), '--id', 'ext-1'],
      { env },
    );
    assert.match(stdout, /created key ext-1 \(ENABLED, ENCRYPT,DECRYPT\)/);
    cfgPath = join(dir, 'xks.json');
    writeFileSync(cfgPath, JSON.stringify(cfg([c1])));
    child = spawn('node', [MAIN, 'xks-proxy', '--config', cfgPath], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    url = (
      await waitFor(/listening on (https:\/\/[0-9.]+:\d+)\/tenant-a\/kms\/xks\/v1/)
    )[1] as string;
    metricsUrl = (await waitFor(/metrics on (http:\S+)/))[1] as string;
  });
  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves health and Encrypt to curl --aws-sigv4', async () => {
    const h = await curl('health', {
      requestMetadata: { kmsRequestId: '1', kmsOperation: 'KmsHealthCheck' },
    });
    assert.equal((h.ekmFleetDetails as { healthStatus: string }[])[0]?.healthStatus, 'ACTIVE');
    const e = await encrypt();
    assert.equal(typeof e.ciphertext, 'string');
  });

  it('SIGHUP applies a credential rotation (both live, then only the new one) without a restart', async () => {
    assert.equal((await encrypt(c2)).errorName, 'AuthenticationFailedException');
    writeFileSync(cfgPath, JSON.stringify(cfg([c1, c2])));
    let mark = out.length;
    child.kill('SIGHUP');
    await waitFor(/reloaded \(2 credentials\)/, mark);
    assert.equal(typeof (await encrypt(c1)).ciphertext, 'string');
    assert.equal(typeof (await encrypt(c2)).ciphertext, 'string');
    const metrics = await (await fetch(metricsUrl)).text();
    assert.match(metrics, /^keyhold_xks_proxy_credentials 2$/m);
    assert.match(
      metrics,
      new RegExp(
        `keyhold_xks_proxy_credential_age_seconds\\{access_key_id="${c2.accessKeyId}"\\} \\d`,
      ),
    );
    writeFileSync(cfgPath, JSON.stringify(cfg([c2])));
    mark = out.length;
    child.kill('SIGHUP');
    await waitFor(/reloaded \(1 credentials\)/, mark);
    assert.equal((await encrypt(c1)).errorName, 'AuthenticationFailedException');
    assert.equal(typeof (await encrypt(c2)).ciphertext, 'string');
  });

  it('keys disable + SIGHUP → InvalidStateException', async () => {
    await run(
      'node',
      [MAIN, 'xks-proxy', 'keys', 'disable', '--file', join(dir, 'keys.json'), '--id', 'ext-1'],
      { env },
    );
    const mark = out.length;
    child.kill('SIGHUP');
    await waitFor(/SIGHUP: reloaded/, mark);
    assert.equal((await encrypt(c2)).errorName, 'InvalidStateException');
    const { stdout } = await run(
      'node',
      [MAIN, 'xks-proxy', 'keys', 'list', '--file', join(dir, 'keys.json')],
      { env },
    );
    assert.match(stdout, /^ext-1\tDISABLED\tENCRYPT,DECRYPT/m);
  });

  it('metrics: per-operation counts and latency, errors by name, backend latency', async () => {
    const m = await (await fetch(metricsUrl)).text();
    assert.match(m, /keyhold_xks_proxy_requests_total\{operation="Encrypt",outcome="ok"\} [1-9]/);
    assert.match(
      m,
      /keyhold_xks_proxy_requests_total\{operation="GetHealthStatus",outcome="ok"\} 1/,
    );
    assert.match(
      m,
      /keyhold_xks_proxy_errors_total\{operation="Encrypt",error="AuthenticationFailedException",status="401"\} [1-9]/,
    );
    assert.match(
      m,
      /keyhold_xks_proxy_errors_total\{operation="Encrypt",error="InvalidStateException",status="400"\} 1/,
    );
    assert.match(
      m,
      /keyhold_xks_proxy_request_duration_seconds_count\{operation="Encrypt"\} [1-9]/,
    );
    assert.match(
      m,
      /keyhold_xks_proxy_backend_duration_seconds_count\{backend="software",call="encrypt"\} [1-9]/,
    );
    assert.equal((await fetch(metricsUrl.replace('/metrics', '/other'))).status, 404);
  });

  it('no secret, passphrase or plaintext in the output', () => {
    for (const s of [c1.secretAccessKey, c2.secretAccessKey, passphrase, 'aGVsbG8='])
      assert.ok(!out.includes(s), s.slice(0, 4));
    assert.match(out, /kmsRequestId/, 'requests are logged with their kmsRequestId');
  });

  it('SIGTERM stops it cleanly', async () => {
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0);
  });

  it('a bad config fails at start with a message, exit code 1', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ ...cfg([{ accessKeyId: 'lower', secretAccessKey: 'x' }]) }),
    );
    await assert.rejects(
      run('node', [MAIN, 'xks-proxy', '--config', bad], { env }),
      (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 1);
        assert.match(
          e.stderr,
          /keyhold: credential access key id 'lower' must be 20-30 characters/,
        );
        return true;
      },
    );
  });
});
