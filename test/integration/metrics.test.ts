/**
 * Prometheus metrics at GET /metrics on the separate metrics listener (loopback by default):
 * per-operation counts and latency, errors by AWS error name, KEYHOLD_METRICS=off, and that
 * the API listener does not serve them. The registry is per process (other test servers in
 * this file add to it), so the assertions compare before and after.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

async function scrape(url: string | undefined): Promise<string> {
  assert.ok(url !== undefined, 'the metrics listener is on');
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

/** The value of one sample line, 0 when the series does not exist yet. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics', () => {
  it('counts requests per operation and errors by AWS error name', async () => {
    const key = await server.client.send(new CreateKeyCommand({}));
    const keyId = key.KeyMetadata?.KeyId;
    const before = await scrape(server.metricsUrl);
    for (let i = 0; i < 3; i++) {
      await server.client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    }
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(80, 7) })),
      'InvalidCiphertextException',
    );
    const afterText = await scrape(server.metricsUrl);

    const okCount = 'keyhold_kms_request_duration_seconds_count';
    const gdk = 'operation="GenerateDataKey",outcome="ok"';
    assert.equal(sample(afterText, okCount, gdk) - sample(before, okCount, gdk), 3);
    const dec = 'operation="Decrypt",outcome="error"';
    assert.equal(sample(afterText, okCount, dec) - sample(before, okCount, dec), 1);
    const err = 'operation="Decrypt",error="InvalidCiphertextException"';
    assert.equal(
      sample(afterText, 'keyhold_kms_errors_total', err) -
        sample(before, 'keyhold_kms_errors_total', err),
      1,
    );
    // Latency buckets exist and are cumulative.
    assert.ok(
      sample(afterText, 'keyhold_kms_request_duration_seconds_bucket', `le="+Inf",${gdk}`) >= 3,
    );
    assert.match(afterText, /keyhold_process_resident_memory_bytes/);
  });

  it('labels operations that are not in the model as unknown', async () => {
    const before = await scrape(server.metricsUrl);
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'X-Amz-Target': 'TrentService.NoSuchThing',
        'Content-Type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    assert.equal(res.status, 400);
    const afterText = await scrape(server.metricsUrl);
    assert.doesNotMatch(afterText, /NoSuchThing/);
    const unknown = 'operation="unknown",outcome="error"';
    const name = 'keyhold_kms_request_duration_seconds_count';
    assert.equal(sample(afterText, name, unknown) - sample(before, name, unknown), 1);
  });

  it('is not served with KEYHOLD_METRICS=off', async () => {
    const off = await startTestServer({ env: { KEYHOLD_METRICS: 'off' } });
    try {
      assert.equal(off.metricsUrl, undefined);
      const res = await fetch(`${off.url}/metrics`);
      assert.notEqual(res.status, 200);
      assert.doesNotMatch(await res.text(), /keyhold_kms_request_duration_seconds/);
    } finally {
      await off.stop();
    }
  });

  it('is not served to anonymous callers on the API listener', async () => {
    await scrape(server.metricsUrl);
    const res = await fetch(`${server.url}/metrics`);
    assert.notEqual(res.status, 200);
    const text = await res.text();
    assert.doesNotMatch(text, /keyhold_kms_request_duration_seconds|keyhold_process_/);
  });

  it('listens on loopback, on its own port', () => {
    const m = new URL(server.metricsUrl ?? '');
    assert.equal(m.hostname, '127.0.0.1');
    assert.notEqual(m.port, new URL(server.url).port);
    assert.equal(m.pathname, '/metrics');
  });

  it('the metrics listener answers 404 for anything but GET /metrics', async () => {
    const m = new URL(server.metricsUrl ?? '');
    const res = await fetch(`${m.origin}/`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 404);
  });

  it('KEYHOLD_METRICS_HOST / KEYHOLD_METRICS_PORT choose the listen address', async () => {
    const probe = await startTestServer({ env: { KEYHOLD_METRICS_HOST: '127.0.0.2' } });
    try {
      assert.equal(new URL(probe.metricsUrl ?? '').hostname, '127.0.0.2');
      await scrape(probe.metricsUrl);
    } finally {
      await probe.stop();
    }
  });
});
