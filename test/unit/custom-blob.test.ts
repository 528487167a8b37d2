import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CUSTOM_HEADER_LENGTH,
  customAad,
  decodeCustomBlob,
  encodeCustomHeader,
  isCustomBlob,
} from '../../src/keystores/custom-blob.js';
import { canonicalEncryptionContext } from '../../src/hsm/encryption-context.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';

const invalid = (e: unknown) => (e as { code?: string }).code === 'InvalidCiphertextException';

describe('custom key store blob (v2)', () => {
  const keyId = randomUUID();
  const versionId = randomBytes(32).toString('hex');

  it('header is 51 bytes and round-trips key id, version id and store type', () => {
    for (const type of ['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const) {
      const header = encodeCustomHeader(keyId, versionId, type);
      assert.equal(header.length, CUSTOM_HEADER_LENGTH);
      assert.equal(CUSTOM_HEADER_LENGTH, 51);
      const payload = randomBytes(40);
      const blob = Buffer.concat([header, payload]);
      assert.equal(isCustomBlob(blob), true);
      const p = decodeCustomBlob(blob);
      assert.equal(p.keyId, keyId);
      assert.equal(p.versionId, versionId);
      assert.equal(p.storeType, type);
      assert.deepEqual(p.header, header);
      assert.deepEqual(p.payload, payload);
    }
  });

  it('precondition: malformed blobs are the opaque InvalidCiphertextException', () => {
    const header = encodeCustomHeader(keyId, versionId, 'AWS_CLOUDHSM');
    const ok = Buffer.concat([header, Buffer.alloc(1)]);
    assert.throws(() => decodeCustomBlob(header), invalid, 'no payload');
    assert.throws(() => decodeCustomBlob(Buffer.alloc(0)), invalid);
    const v1 = Buffer.from(ok);
    v1[0] = 0x01;
    assert.throws(() => decodeCustomBlob(v1), invalid, 'not v2');
    const kind = Buffer.from(ok);
    kind[1] = 0x07;
    assert.throws(() => decodeCustomBlob(kind), invalid, 'unknown key id kind');
    const type = Buffer.from(ok);
    type[50] = 0x09;
    assert.throws(() => decodeCustomBlob(type), invalid, 'unknown store type');
    for (let n = 0; n < 200; n++) {
      const junk = randomBytes(Math.floor(Math.random() * 80));
      try {
        decodeCustomBlob(junk);
      } catch (e) {
        assert.ok(invalid(e));
      }
    }
  });

  it('AAD = header ‖ canonical encryption context; order of pairs does not matter', () => {
    const header = encodeCustomHeader(keyId, versionId, 'AWS_CLOUDHSM');
    const a = customAad(header, { b: '2', a: '1' });
    assert.deepEqual(a, Buffer.concat([header, canonicalEncryptionContext({ a: '1', b: '2' })]));
    assert.deepEqual(customAad(header, undefined), customAad(header, {}));
    assert.notDeepEqual(customAad(header, { a: '1' }), customAad(header, { a: '2' }));
  });
});

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
