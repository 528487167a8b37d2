/**
 * deploy/nginx-keyhold.conf as shipped (addresses, ports and paths swapped), with Debian's
 * nginx in front of one node: the config passes `nginx -t`, signed SDK calls go through,
 * and `/metrics` is answered by nginx with 404 instead of being proxied to the node. (The
 * chaos test runs the same config over two PostgreSQL nodes.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const NGINX = process.env.KEYHOLD_NGINX ?? '/usr/sbin/nginx';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => (s.destroy(), resolve(false)));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx does not listen on ${port}`);
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('deploy/nginx-keyhold.conf in front of a node', () => {
  let server: TestServer;
  let pki: TestPki;
  let dir: string;
  let nginx: ChildProcess | undefined;
  let port: number;

  before(async () => {
    server = await startTestServer();
    pki = createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'keyhold-nginx-conf-'));
    chmodSync(dir, 0o755);
    port = await freePort();
    let conf = readFileSync('deploy/nginx-keyhold.conf', 'utf8');
    conf = conf.replace(
      /( {4}server 10\.0\.0\.\d+:8420 [^\n]*\n)+/,
      `    server ${new URL(server.url).host};\n`,
    );
    conf = conf.replace(
      '    listen 443 ssl;\n    listen [::]:443 ssl;',
      `    listen 127.0.0.1:${port} ssl;`,
    );
    conf = conf.replace('/etc/ssl/certs/kms.example.internal.pem', pki.server.certPath);
    conf = conf.replace('/etc/ssl/private/kms.example.internal.key', pki.server.keyPath);
    conf = conf.replaceAll('/var/log/nginx/', join(dir, '/'));
    assert.doesNotMatch(conf, /10\.0\.0\.|\/etc\/ssl|:443 /, 'every deployment value was swapped');
    writeFileSync(join(dir, 'keyhold.conf'), conf);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((k) => `  ${k}_temp_path ${join(dir, k)};`)
      .join('\n');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;\n` +
        `pid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')} warn;\n` +
        `events { worker_connections 64; }\n` +
        `http {\n${temp}\n  access_log off;\n  include ${join(dir, 'keyhold.conf')};\n}\n`,
    );
    const check = spawnSync(NGINX, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stderr);
    nginx = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], {
      stdio: 'ignore',
    });
    await waitForPort(port);
  });

  after(async () => {
    if (nginx !== undefined && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx?.once('exit', r));
      nginx.kill('SIGQUIT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    await server.stop();
    pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signed SDK calls go through the proxy (control)', async () => {
    const agent = new Agent({ ca: pki.caPem, keepAlive: true });
    const kms = new KMSClient({
      endpoint: `https://localhost:${port}`,
      region: TEST_REGION,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
      requestHandler: { httpsAgent: agent },
      maxAttempts: 1,
    });
    try {
      const out = await kms.send(new ListKeysCommand({}));
      assert.ok(Array.isArray(out.Keys));
    } finally {
      kms.destroy();
      agent.destroy();
    }
  });

  it('does not proxy /metrics: nginx answers 404, no metric reaches the public side', async () => {
    const r = await httpsGet(`https://localhost:${port}/metrics`, pki.caPem);
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.body, /keyhold_|# HELP/);
    // The node's own metrics listener still serves them, on loopback.
    const direct = await fetch(server.metricsUrl ?? '');
    assert.match(await direct.text(), /keyhold_kms_request_duration_seconds/);
  });

  it('passes /ready through', async () => {
    const r = await httpsGet(`https://localhost:${port}/ready`, pki.caPem);
    assert.equal(r.status, 200, r.body);
  });
});
