/**
 * deploy/nginx-keyhold.conf as shipped (only addresses, ports and file paths swapped): nginx
 * from Debian terminates TLS in front of two keyhold nodes sharing one PostgreSQL database,
 * and the AWS SDK's signed calls go through it. Without the config's Host line every
 * signature fails, which is why the line is there. A node killed behind nginx costs no
 * request (the connection is refused, nginx tries the other node).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  KMSClient,
  ListKeysCommand,
} from '@aws-sdk/client-kms';
import {
  CHAOS_ACCESS_KEY_ID,
  CHAOS_REGION,
  CHAOS_SECRET_ACCESS_KEY,
  KeyholdProcess,
} from './helpers/node-process.js';
import { freePort } from './helpers/pg-pair.js';
import { sleep } from './helpers/load.js';
import { testPgUrl, withDatabase } from './helpers/pg-db.js';

const NGINX = process.env.KEYHOLD_NGINX ?? '/usr/sbin/nginx';

/** The shipped config with this test's upstreams, listen port, certificate and log paths. */
function siteConfig(dir: string, port: number, upstreams: string[], keepHost: boolean): string {
  let conf = readFileSync('deploy/nginx-keyhold.conf', 'utf8');
  const servers = upstreams.map((u) => `    server ${u} max_fails=2 fail_timeout=10s;`).join('\n');
  conf = conf.replace(/( {4}server 10\.0\.0\.\d+:8420 [^\n]*\n)+/, servers + '\n');
  conf = conf.replace(
    '    listen 443 ssl;\n    listen [::]:443 ssl;',
    `    listen 127.0.0.1:${port} ssl;`,
  );
  conf = conf.replace('/etc/ssl/certs/kms.example.internal.pem', join(dir, 'cert.pem'));
  conf = conf.replace('/etc/ssl/private/kms.example.internal.key', join(dir, 'key.pem'));
  conf = conf.replaceAll('/var/log/nginx/', join(dir, '/'));
  if (!keepHost) {
    assert.match(conf, /proxy_set_header Host \$http_host;/);
    conf = conf
      .replace('proxy_set_header Host $http_host;', '')
      .replace('upstream keyhold {', 'upstream keyhold_nohost {')
      .replaceAll('proxy_pass http://keyhold;', 'proxy_pass http://keyhold_nohost;')
      .replace('shared:keyhold_tls:', 'shared:keyhold_tls2:');
  }
  assert.doesNotMatch(conf, /10\.0\.0\.|\/etc\/ssl|:443 /, 'every deployment value was swapped');
  return conf;
}

function mainConfig(dir: string, sites: string[]): string {
  const asRoot = process.getuid?.() === 0 ? 'user root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k}_temp_path ${join(dir, k)};`)
    .join('\n');
  return (
    `${asRoot}worker_processes 1;\npid ${join(dir, 'nginx.pid')};\n` +
    `error_log ${join(dir, 'error.log')} warn;\nevents { worker_connections 256; }\n` +
    `http {\n${temp}\n  access_log off;\n${sites.map((s) => `  include ${s};`).join('\n')}\n}\n`
  );
}

function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
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

describe('nginx in front of two nodes (deploy/nginx-keyhold.conf)', () => {
  it('TLS, keep-alive, SigV4 through the proxy; a dead node costs no request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-nginx-'));
    chmodSync(dir, 0o755);
    const nodes: KeyholdProcess[] = [];
    let nginx: ChildProcess | undefined;
    const salt = randomBytes(32).toString('hex');
    const dirs = [0, 1].map(() => {
      const d = mkdtempSync(join(tmpdir(), 'keyhold-nginx-node-'));
      writeFileSync(join(d, 'root.salt'), salt + '\n', { mode: 0o600 });
      return d;
    });
    try {
      await withDatabase(testPgUrl(), 'keyhold_nginx', async (url) => {
        for (const d of dirs)
          nodes.push(await KeyholdProcess.start({ dataDir: d, storageUrl: url }));
        const gen = spawnSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:P-256',
            '-nodes',
            '-keyout',
            join(dir, 'key.pem'),
            '-out',
            join(dir, 'cert.pem'),
            '-days',
            '1',
            '-subj',
            '/CN=localhost',
            '-addext',
            'subjectAltName=DNS:localhost',
          ],
          { encoding: 'utf8' },
        );
        assert.equal(gen.status, 0, gen.stderr);
        const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');

        const port = await freePort();
        const noHostPort = await freePort();
        const upstreams = nodes.map((n) => n.url.replace('http://', ''));
        writeFileSync(join(dir, 'keyhold.conf'), siteConfig(dir, port, upstreams, true));
        writeFileSync(join(dir, 'nohost.conf'), siteConfig(dir, noHostPort, upstreams, false));
        writeFileSync(
          join(dir, 'nginx.conf'),
          mainConfig(dir, [join(dir, 'keyhold.conf'), join(dir, 'nohost.conf')]),
        );
        const check = spawnSync(NGINX, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], {
          encoding: 'utf8',
        });
        assert.equal(check.status, 0, check.stderr);
        assert.match(check.stderr, /syntax is ok/);

        nginx = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        await waitForPort(port, 10_000);

        const agent = new Agent({ ca, keepAlive: true });
        const client = (p: number) =>
          new KMSClient({
            endpoint: `https://localhost:${p}`,
            region: CHAOS_REGION,
            credentials: {
              accessKeyId: CHAOS_ACCESS_KEY_ID,
              secretAccessKey: CHAOS_SECRET_ACCESS_KEY,
            },
            requestHandler: { httpsAgent: agent },
            maxAttempts: 1,
          });
        const kms = client(port);
        const key = await kms.send(new CreateKeyCommand({ Description: 'via nginx' }));
        const keyId = key.KeyMetadata?.KeyId as string;
        // Round robin: consecutive calls land on both nodes, which share one database.
        for (let i = 0; i < 10; i++) {
          const pt = randomBytes(32);
          const ct = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: pt }));
          const back = await kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
          assert.deepEqual(Buffer.from(back.Plaintext as Uint8Array), pt);
        }
        const ready = await httpsGet(`https://localhost:${port}/ready`, ca);
        assert.equal(ready.status, 200, ready.body);
        // Metrics are not proxied: their labels are not for the public side.
        const metrics = await httpsGet(`https://localhost:${port}/metrics`, ca);
        assert.equal(metrics.status, 404);
        assert.doesNotMatch(metrics.body, /keyhold_/);

        // Negative: nginx's default Host ("keyhold_nohost") is not what the client signed.
        const bad = client(noHostPort);
        await assert.rejects(bad.send(new ListKeysCommand({})), {
          name: 'InvalidSignatureException',
        });
        bad.destroy();

        // One node dies: connections to it are refused and nginx tries the other one.
        await (nodes[0] as KeyholdProcess).kill9();
        for (let i = 0; i < 10; i++) {
          const listed = await kms.send(new ListKeysCommand({}));
          assert.ok(listed.Keys?.some((k) => k.KeyId === keyId));
        }
        kms.destroy();
        agent.destroy();
      });
    } finally {
      if (nginx !== undefined && nginx.exitCode === null) {
        const exited = new Promise((r) => nginx?.once('exit', r));
        nginx.kill('SIGQUIT');
        await Promise.race([exited, sleep(5000)]);
      }
      for (const n of nodes) if (n.running) await n.kill9();
      rmSync(dir, { recursive: true, force: true });
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
