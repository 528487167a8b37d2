/**
 * The settings of the API listener's limits and of the metrics listener: defaults, the
 * environment, and refusal of values Node would reject or that make no sense.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const base = { dataDir: '/tmp/keyhold-config-test' };

describe('HTTP limit and metrics settings', () => {
  it('defaults: 1024 connections, 10 s idle and headers, 30 s request; metrics on 127.0.0.1:9420', () => {
    const c = loadConfig(base, {});
    assert.deepEqual(
      { ...c.http },
      {
        maxConnections: 1024,
        idleTimeoutMs: 10_000,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
      },
    );
    assert.equal(c.metricsHost, '127.0.0.1');
    assert.equal(c.metricsPort, 9420);
  });

  it('an ephemeral API port gets an ephemeral metrics port unless one is set', () => {
    assert.equal(loadConfig({ ...base, port: 0 }, {}).metricsPort, 0);
    assert.equal(
      loadConfig({ ...base, port: 0 }, { KEYHOLD_METRICS_PORT: '9555' }).metricsPort,
      9555,
    );
  });

  it('reads every setting from the environment', () => {
    const c = loadConfig(base, {
      KEYHOLD_MAX_CONNECTIONS: '7',
      KEYHOLD_IDLE_TIMEOUT_MS: '100',
      KEYHOLD_HEADERS_TIMEOUT_MS: '200',
      KEYHOLD_REQUEST_TIMEOUT_MS: '300',
      KEYHOLD_METRICS_HOST: '10.1.2.3',
      KEYHOLD_METRICS_PORT: '9999',
    });
    assert.deepEqual(
      { ...c.http },
      { maxConnections: 7, idleTimeoutMs: 100, headersTimeoutMs: 200, requestTimeoutMs: 300 },
    );
    assert.equal(c.metricsHost, '10.1.2.3');
    assert.equal(c.metricsPort, 9999);
  });

  for (const [name, value] of [
    ['KEYHOLD_MAX_CONNECTIONS', '0'],
    ['KEYHOLD_MAX_CONNECTIONS', 'many'],
    ['KEYHOLD_IDLE_TIMEOUT_MS', '0'],
    ['KEYHOLD_HEADERS_TIMEOUT_MS', '-1'],
    ['KEYHOLD_REQUEST_TIMEOUT_MS', '5000'],
    ['KEYHOLD_METRICS_PORT', '70000'],
  ] as const) {
    it(`refuses ${name}=${value}`, () => {
      assert.throws(() => loadConfig(base, { [name]: value }), ConfigError);
    });
  }
});
