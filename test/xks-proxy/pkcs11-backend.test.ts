/**
 * The proxy with its PKCS#11 backend on a real SoftHSM2 token (made by the test in a private
 * SOFTHSM2_CONF): keys generated in the token, AES-GCM inside it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { softHsmAvailable } from '../helpers/softhsm.js';
import { requestMetadata, startTestXksProxy, type TestXksProxy } from '../helpers/xks-proxy.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe(
  'xks-proxy PKCS#11 backend (SoftHSM2)',
  { skip: !softHsmAvailable() && 'softhsm2 not installed' },
  () => {
    let x: TestXksProxy;
    before(async () => {
      x = await startTestXksProxy({
        backend: 'pkcs11',
        keys: [
          { id: 'hsm-key' },
          { id: 'hsm-enc-only', usage: ['ENCRYPT'] },
          { id: 'hsm-off', state: 'DISABLED' },
        ],
      });
    });
    after(async () => {
      await x.stop();
    });

    const enc = (key: string, plaintext: string, aad?: string, cdiv = false) =>
      x.call(`keys/${key}/encrypt`, {
        requestMetadata: requestMetadata('Encrypt'),
        plaintext: b64(plaintext),
        ...(aad !== undefined ? { additionalAuthenticatedData: b64(aad) } : {}),
        ...(cdiv ? { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' } : {}),
        encryptionAlgorithm: 'AES_GCM',
      });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const dec = (key: string, e: any, aad?: string, patch: Record<string, string> = {}) =>
      x.call(`keys/${key}/decrypt`, {
        requestMetadata: requestMetadata('Decrypt'),
        ciphertext: e.ciphertext,
        initializationVector: e.initializationVector,
        authenticationTag: e.authenticationTag,
        ciphertextMetadata: e.ciphertextMetadata,
        ...(aad !== undefined ? { additionalAuthenticatedData: b64(aad) } : {}),
        encryptionAlgorithm: 'AES_GCM',
        ...patch,
      });

    it('health reports the token (SoftHSM) as ACTIVE', async () => {
      const r = await x.call('health', {
        requestMetadata: { kmsRequestId: '1', kmsOperation: 'KmsHealthCheck' },
      });
      assert.equal(r.status, 200, r.text);
      assert.match(r.json.ekmVendor, /SoftHSM/i);
      assert.equal(r.json.ekmFleetDetails[0].healthStatus, 'ACTIVE');
      assert.match(r.json.ekmFleetDetails[0].model, /SoftHSM/i);
    });

    it('metadata comes from the token key attributes', async () => {
      const m = await x.call('keys/hsm-key/metadata', {
        requestMetadata: requestMetadata('CreateKey'),
      });
      assert.deepEqual(m.json, {
        keySpec: 'AES_256',
        keyUsage: ['ENCRYPT', 'DECRYPT'],
        keyStatus: 'ENABLED',
      });
      const e = await x.call('keys/hsm-enc-only/metadata', {
        requestMetadata: requestMetadata('CreateKey'),
      });
      assert.deepEqual(e.json.keyUsage, ['ENCRYPT']);
      const d = await x.call('keys/hsm-off/metadata', {
        requestMetadata: requestMetadata('CreateKey'),
      });
      assert.equal(d.json.keyStatus, 'DISABLED');
    });

    it('round trip with and without AAD, with CDIV', async () => {
      for (const aad of [undefined, 'ctx=1']) {
        const e = await enc('hsm-key', 'hello token', aad, true);
        assert.equal(e.status, 200, e.text);
        assert.equal(typeof e.json.ciphertextDataIntegrityValue, 'string');
        const d = await dec('hsm-key', e.json, aad);
        assert.equal(d.status, 200, d.text);
        assert.equal(Buffer.from(d.json.plaintext, 'base64').toString(), 'hello token');
      }
    });

    it('wrong AAD, tampered tag or ciphertext → InvalidCiphertextException', async () => {
      const e = await enc('hsm-key', 'secret', 'a');
      assert.equal(
        (await dec('hsm-key', e.json, 'b')).json.errorName,
        'InvalidCiphertextException',
      );
      const tag = Buffer.from(e.json.authenticationTag, 'base64');
      tag[0] = (tag[0] ?? 0) ^ 1;
      const t = await dec('hsm-key', e.json, 'a', { authenticationTag: tag.toString('base64') });
      assert.equal(t.status, 400);
      assert.equal(t.json.errorName, 'InvalidCiphertextException');
      const ct = Buffer.from(e.json.ciphertext, 'base64');
      ct[0] = (ct[0] ?? 0) ^ 1;
      const c = await dec('hsm-key', e.json, 'a', { ciphertext: ct.toString('base64') });
      assert.equal(c.json.errorName, 'InvalidCiphertextException');
      // The token still works after the failed decrypts (sessions were not poisoned).
      assert.equal((await dec('hsm-key', e.json, 'a')).status, 200);
    });

    it('unknown key → KeyNotFoundException; disabled → InvalidStateException; encrypt-only decrypt → InvalidKeyUsageException', async () => {
      assert.equal((await enc('nope', 'x')).json.errorName, 'KeyNotFoundException');
      const off = await enc('hsm-off', 'x');
      assert.equal(off.status, 400);
      assert.equal(off.json.errorName, 'InvalidStateException');
      const e = await enc('hsm-enc-only', 'x');
      assert.equal(e.status, 200, e.text);
      assert.equal((await dec('hsm-enc-only', e.json)).json.errorName, 'InvalidKeyUsageException');
    });

    it('a key added and then removed at runtime', async () => {
      await x.addKey({ id: 'later' });
      const e = await enc('later', 'x');
      assert.equal(e.status, 200, e.text);
      await x.removeKey('later');
      assert.equal((await dec('later', e.json)).json.errorName, 'KeyNotFoundException');
    });
  },
);
