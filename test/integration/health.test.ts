/** GET /health (liveness) and GET /ready (readiness) of an embedded (SQLite) node. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('health and readiness endpoints', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  it('GET /health answers 200 {"status":"ok"}', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('GET /ready answers 200 with the storage and audit checks', async () => {
    const res = await fetch(`${server.url}/ready?verbose=1`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; checks: Record<string, string> };
    assert.equal(body.status, 'ready');
    assert.equal(body.checks.storage, 'ok');
    assert.equal(body.checks.audit, 'ok');
  });

  it('POST /ready is not a health check (it goes to the KMS API and is refused unsigned)', async () => {
    const res = await fetch(`${server.url}/ready`, { method: 'POST', body: '{}' });
    assert.notEqual(res.status, 200);
  });
});
