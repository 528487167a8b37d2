/**
 * The XKS failure table (src/keystores/xks/xks-errors.ts) as a matrix: every proxy error
 * name and local failure has a row; crypto operations always answer KMSInvalidStateException;
 * the management and CreateKey columns use only exceptions those operations can return
 * (the KMS model's error lists); the proxy's errorMessage never leaks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  connectionErrorCode,
  toKmsXksError,
  XKS_FAILURES,
  XKS_PROXY_ERROR_NAMES,
  XksProxyFailure,
  type XksFailureKind,
} from '../../src/keystores/xks/xks-errors.js';
import { KmsError } from '../../src/errors/aws-errors.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';

const MANAGE_ERRORS = new Set([
  'XksProxyUriUnreachableException',
  'XksProxyIncorrectAuthenticationCredentialException',
  'XksProxyInvalidResponseException',
  'XksProxyInvalidConfigurationException',
]);
const CREATE_KEY_ERRORS = new Set([
  'CustomKeyStoreInvalidStateException',
  'XksKeyInvalidConfigurationException',
  'XksKeyNotFoundException',
  'KMSInvalidStateException',
]);

describe('XKS failure table', () => {
  it('has a row for every spec error name', () => {
    for (const name of XKS_PROXY_ERROR_NAMES) assert.ok(XKS_FAILURES[name], name);
  });

  for (const kind of Object.keys(XKS_FAILURES) as XksFailureKind[]) {
    it(`${kind}: crypto → KMSInvalidStateException; manage/CreateKey within the model's lists`, () => {
      const f = new XksProxyFailure(kind, 400, 'proxy says: secret detail');
      const crypto = toKmsXksError(f, 'crypto');
      assert.equal(crypto.code, 'KMSInvalidStateException');
      assert.ok(MANAGE_ERRORS.has(toKmsXksError(f, 'manage').code), kind);
      assert.ok(CREATE_KEY_ERRORS.has(toKmsXksError(f, 'createKey').code), kind);
      for (const e of [crypto, toKmsXksError(f, 'manage')]) {
        assert.doesNotMatch(e.message, /secret detail/);
        assert.match(e.message, /^[\x20-\x7e]+$/);
      }
      assert.match(
        connectionErrorCode(f),
        /^(INVALID_CREDENTIALS|NETWORK_ERRORS|XKS_PROXY_[A-Z_]+)$/,
      );
    });
  }

  it('the spec table cells AWS documents', () => {
    const row = (k: XksFailureKind) => [
      toKmsXksError(new XksProxyFailure(k), 'manage').code,
      toKmsXksError(new XksProxyFailure(k), 'createKey').code,
      connectionErrorCode(new XksProxyFailure(k)),
    ];
    assert.deepEqual(row('AuthenticationFailedException'), [
      'XksProxyIncorrectAuthenticationCredentialException',
      'CustomKeyStoreInvalidStateException',
      'INVALID_CREDENTIALS',
    ]);
    assert.deepEqual(row('KeyNotFoundException').slice(1, 2), ['XksKeyNotFoundException']);
    assert.deepEqual(row('InvalidStateException').slice(1, 2), [
      'XksKeyInvalidConfigurationException',
    ]);
    assert.deepEqual(row('Timeout'), [
      'XksProxyUriUnreachableException',
      'CustomKeyStoreInvalidStateException',
      'XKS_PROXY_TIMED_OUT',
    ]);
    assert.deepEqual(row('TlsFailure')[2], 'XKS_PROXY_INVALID_TLS_CONFIGURATION');
    assert.deepEqual(row('Unreachable')[2], 'XKS_PROXY_NOT_REACHABLE');
  });

  it('KMS errors pass through; anything else is internal (INTERNAL_ERROR)', () => {
    const k = new KmsError('InvalidCiphertextException', '');
    assert.equal(toKmsXksError(k, 'crypto'), k);
    assert.equal(toKmsXksError(new Error('bug'), 'crypto').code, 'KMSInternalException');
    assert.equal(connectionErrorCode(new Error('bug')), 'INTERNAL_ERROR');
  });
});

describe('XKS client configuration', () => {
  it('defaults: 250 ms, system roots only, health check every 60 s', () => {
    const c = loadConfig({ dataDir: '/tmp/x' }, {});
    assert.equal(c.xks.timeoutMs, 250);
    assert.deepEqual(c.xks.extraCa, []);
    assert.equal(c.xks.connectTo.size, 0);
    assert.equal(c.xks.healthCheckIntervalMs, 60_000);
  });

  it('KEYHOLD_XKS_CLIENT_CONNECT_TO maps host names to address:port', () => {
    const c = loadConfig(
      { dataDir: '/tmp/x' },
      { KEYHOLD_XKS_CLIENT_CONNECT_TO: 'Proxy.Example.com=127.0.0.1:8443, b.example=[::1]:9443' },
    );
    assert.deepEqual(c.xks.connectTo.get('proxy.example.com'), { host: '127.0.0.1', port: 8443 });
    assert.deepEqual(c.xks.connectTo.get('b.example'), { host: '::1', port: 9443 });
  });

  it('bad values fail fast', () => {
    for (const env of [
      { KEYHOLD_XKS_CLIENT_CONNECT_TO: 'proxy.example.com:8443' },
      { KEYHOLD_XKS_CLIENT_TIMEOUT_MS: '0' },
      { KEYHOLD_XKS_CLIENT_HEALTH_CHECK_SECONDS: '-1' },
      { KEYHOLD_XKS_CLIENT_CA_FILE: '/dev/null' },
    ])
      assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, env), ConfigError, JSON.stringify(env));
  });
});
