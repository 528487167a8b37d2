import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, ConfigError } from '../../src/config/config.js';

describe('config: cloudHsmClusters (KEYHOLD_CLOUDHSM_CLUSTERS)', () => {
  const load = (json: string) => loadConfig({}, { KEYHOLD_CLOUDHSM_CLUSTERS: json });
  it('parses clusters', () => {
    const c = load(
      '{"cluster-abcdefghijk":{"module":"/m.so","tokens":["t1","t2"],"maxSessions":3}}',
    );
    assert.deepEqual(c.cloudHsmClusters['cluster-abcdefghijk']?.tokens, ['t1', 't2']);
    assert.equal(c.cloudHsmClusters['cluster-abcdefghijk']?.maxSessions, 3);
    assert.deepEqual(loadConfig({}, {}).cloudHsmClusters, {});
  });
  it('refuses bad JSON, bad ids, missing module or tokens', () => {
    for (const bad of [
      '{',
      '[]',
      '{"cluster-1":{"module":"/m.so","tokens":["t"]}}',
      '{"cluster-abcdefghijk":{"tokens":["t"]}}',
      '{"cluster-abcdefghijk":{"module":"/m.so","tokens":[]}}',
      '{"cluster-abcdefghijk":{"module":"/m.so","tokens":["t"],"maxSessions":0}}',
    ])
      assert.throws(() => load(bad), ConfigError, bad);
  });
});
