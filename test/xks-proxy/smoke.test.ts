import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requestMetadata, startTestXksProxy, type TestXksProxy } from '../helpers/xks-proxy.js';

describe('xks-proxy smoke', () => {
  let xks: TestXksProxy;
  before(async () => {
    xks = await startTestXksProxy();
  });
  after(async () => {
    await xks.stop();
  });
  it('health', async () => {
    const r = await xks.call('health', {
      requestMetadata: { kmsRequestId: 'x', kmsOperation: 'KmsHealthCheck' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ekmFleetDetails[0].healthStatus, 'ACTIVE');
  });
  it('round trip', async () => {
    const e = await xks.call('keys/foo/encrypt', {
      requestMetadata: requestMetadata('Encrypt'),
      plaintext: Buffer.from('hello').toString('base64'),
      encryptionAlgorithm: 'AES_GCM',
      ciphertextDataIntegrityValueAlgorithm: 'SHA_256',
    });
    assert.equal(e.status, 200, e.text);
    const d = await xks.call('keys/foo/decrypt', {
      requestMetadata: requestMetadata('Decrypt'),
      ciphertext: e.json.ciphertext,
      initializationVector: e.json.initializationVector,
      authenticationTag: e.json.authenticationTag,
      ciphertextMetadata: e.json.ciphertextMetadata,
      encryptionAlgorithm: 'AES_GCM',
    });
    assert.equal(d.status, 200, d.text);
    assert.equal(Buffer.from(d.json.plaintext, 'base64').toString(), 'hello');
  });
});
