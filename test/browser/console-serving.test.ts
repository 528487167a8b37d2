/**
 * How keyhold serves the console's files at /console: index and client routes, content
 * types, caching, security headers, methods, and no way out of the asset directory.
 * Raw HTTP (node:http), so paths reach the server exactly as written.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { assetPath, CONSOLE_ROOT } from '../../src/server/console-assets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(url: string, path: string, method = 'GET'): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console assets', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { KEYHOLD_REGIONS: 'eu-west-1,ap-south-1' } });
  });
  after(async () => {
    await server?.stop();
  });

  it('was built into dist/console by npm run build', () => {
    const files = readdirSync(`${CONSOLE_ROOT}/assets`);
    assert.ok(files.some((f) => f.endsWith('.js')));
    assert.ok(files.some((f) => f.endsWith('.css')));
  });

  it('tells the console the Regions it serves (regions.json), read-only', async () => {
    const r = await raw(server.url, '/console/regions.json');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
    assert.deepEqual(JSON.parse(r.body), { Regions: ['us-east-1', 'eu-west-1', 'ap-south-1'] });
    assert.equal((await raw(server.url, '/console/regions.json', 'POST')).status, 405);
  });

  it('redirects /console to /console/', async () => {
    const r = await raw(server.url, '/console?x=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers['location'], '/console/?x=1');
  });

  it('serves index.html for /console/ and for client routes, never cached', async () => {
    for (const p of [
      '/console/',
      '/console/keys/1234abcd-12ab-34cd-56ef-1234567890ab',
      '/console/audit',
    ]) {
      const r = await raw(server.url, p);
      assert.equal(r.status, 200, p);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(r.headers['cache-control'], 'no-cache');
      assert.match(r.body, /<div id="app"><\/div>/);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /connect-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['x-frame-options'], 'DENY');
    }
  });

  it('serves hashed assets with their content type, cached for a year', async () => {
    const index = await raw(server.url, '/console/');
    const js = /src="(\/console\/assets\/[^"]+\.js)"/.exec(index.body)?.[1] as string;
    const css = /href="(\/console\/assets\/[^"]+\.css)"/.exec(index.body)?.[1] as string;
    const rj = await raw(server.url, js);
    assert.equal(rj.status, 200);
    assert.equal(rj.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(rj.headers['cache-control'], 'public, max-age=31536000, immutable');
    const rc = await raw(server.url, css);
    assert.equal(rc.headers['content-type'], 'text/css; charset=utf-8');
    const head = await raw(server.url, js, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], rj.headers['content-length']);
  });

  it('answers 404 for a missing file (not the app)', async () => {
    const r = await raw(server.url, '/console/assets/nope-123.js');
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.body, /<div id="app">/);
  });

  it('never serves a file outside the asset directory', async () => {
    for (const p of [
      '/console/../package.json',
      '/console/..%2f..%2fpackage.json',
      '/console/%2e%2e/%2e%2e/package.json',
      '/console/assets/..%5c..%5c..%5cpackage.json',
      '/console/%2e%2e%2f%2e%2e%2fsrc%2fserver%2fapp.ts',
      '/console/..%252f..%252fpackage.json',
      '/console/%00.js',
      '/console/%E0%A4%A.js',
    ]) {
      const r = await raw(server.url, p);
      assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
      assert.doesNotMatch(r.body, /"name": "keyhold"|startKeyhold/, p);
    }
    assert.equal(assetPath('/srv/console', '/console/a/../../etc/passwd'), undefined);
    assert.equal(assetPath('/srv/console', '/console/a%2f..%2f..%2fx'), undefined);
    assert.equal(assetPath('/srv/console', '/console/assets/x.js'), '/srv/console/assets/x.js');
  });

  it('refuses writes with 405 and leaves the KMS API alone', async () => {
    const r = await raw(server.url, '/console/', 'POST');
    assert.equal(r.status, 405);
    assert.equal(r.headers['allow'], 'GET, HEAD');
    // Not a console path: still the KMS front end (an unsigned call is refused the AWS way).
    const kms = await raw(server.url, '/consoles', 'POST');
    assert.notEqual(kms.status, 405);
  });
});
