import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  connectionErrorFor,
  isFatal,
  Pkcs11Error,
  Token,
  tokenFlags,
  loadModule,
  findSlot,
} from '../../src/pkcs11/index.js';
import { registry } from '../../src/metrics/registry.js';
import { createSoftHsmToken, softHsmAvailable, type SoftHsmToken } from '../helpers/softhsm.js';

const skip = softHsmAvailable() ? false : 'SoftHSM2 is not installed';

describe('PKCS#11 token layer on SoftHSM2', { skip }, () => {
  let t: SoftHsmToken;
  let second: SoftHsmToken;
  let token: Token;

  before(async () => {
    // Both tokens exist before the module is initialised (softhsm2-util path).
    t = createSoftHsmToken();
    second = createSoftHsmToken();
    token = await Token.open(
      { modulePath: t.modulePath, label: t.label, maxSessions: 2 },
      t.userPin,
    );
  });
  after(() => token?.close());

  it('generates a sensitive, non-extractable AES-256 key labelled as asked', async () => {
    const h = await token.generateAesKey(
      'arn:aws:kms:us-east-1:111122223333:key/a',
      Buffer.from('01', 'hex'),
    );
    const a = await token.keyAttributes(h);
    assert.equal(a.label, 'arn:aws:kms:us-east-1:111122223333:key/a');
    assert.equal(a.keyType, 'AES');
    assert.equal(a.valueLen, 32);
    assert.equal(a.sensitive, true);
    assert.equal(a.extractable, false);
    assert.equal(a.token, true);
    assert.deepEqual(a.id, Buffer.from('01', 'hex'));
  });

  it('AES-GCM round trip with AAD; a changed byte, IV or AAD fails', async () => {
    const h = await token.generateAesKey('k-gcm', Buffer.from('02', 'hex'));
    const aad = Buffer.from('header+context');
    const pt = Buffer.from('attack at dawn');
    const e = await token.encryptGcm(h, pt, aad);
    assert.equal(e.iv.length, 12);
    assert.equal(e.tag.length, 16);
    assert.notDeepEqual(e.ciphertext, pt);
    assert.deepEqual(await token.decryptGcm(h, e.iv, e.ciphertext, e.tag, aad), pt);
    const bad = Buffer.from(e.ciphertext);
    bad[0] = (bad[0] as number) ^ 1;
    await assert.rejects(token.decryptGcm(h, e.iv, bad, e.tag, aad), Pkcs11Error);
    await assert.rejects(
      token.decryptGcm(h, e.iv, e.ciphertext, e.tag, Buffer.from('other')),
      Pkcs11Error,
    );
    const iv2 = Buffer.from(e.iv);
    iv2[0] = (iv2[0] as number) ^ 1;
    await assert.rejects(token.decryptGcm(h, iv2, e.ciphertext, e.tag, aad), Pkcs11Error);
  });

  it('finds a key by label, and not a missing one', async () => {
    const h = await token.generateAesKey('k-find', Buffer.from('03', 'hex'));
    token.forget('k-find');
    const found = await token.findKey('k-find');
    assert.ok(found);
    assert.deepEqual(found, h);
    assert.equal(await token.findKey('no-such-label'), undefined);
  });

  it('the key value cannot be read', async () => {
    const h = await token.generateAesKey('k-value', Buffer.from('04', 'hex'));
    const mod = token.mod;
    const s = mod.C_OpenSession(findSlot(mod, t.label), 6);
    try {
      assert.throws(
        () => mod.C_GetAttributeValue(s, h, [{ type: 0x11 /* CKA_VALUE */ }]),
        /CKR_ATTRIBUTE_SENSITIVE/,
      );
    } finally {
      mod.C_CloseSession(s);
    }
  });

  it('destroys an object; a second destroy is CKR_OBJECT_HANDLE_INVALID', async () => {
    const h = await token.generateAesKey('k-destroy', Buffer.from('05', 'hex'));
    await token.destroy(h);
    assert.equal(await token.findKey('k-destroy'), undefined);
    await assert.rejects(
      token.destroy(h),
      (e: Pkcs11Error) => e.ckr === 'CKR_OBJECT_HANDLE_INVALID',
    );
  });

  it('wrong PIN is CKR_PIN_INCORRECT → INVALID_CREDENTIALS', async () => {
    await assert.rejects(
      Token.open({ modulePath: second.modulePath, label: second.label }, 'wrong-pin-1'),
      (e: Pkcs11Error) =>
        e.ckr === 'CKR_PIN_INCORRECT' && connectionErrorFor(e.ckr) === 'INVALID_CREDENTIALS',
    );
  });

  it('missing token is CKR_TOKEN_NOT_PRESENT → CLUSTER_NOT_FOUND', async () => {
    await assert.rejects(
      Token.open({ modulePath: t.modulePath, label: 'no-such-token' }, 'whatever'),
      (e: Pkcs11Error) =>
        e.ckr === 'CKR_TOKEN_NOT_PRESENT' && connectionErrorFor(e.ckr) === 'CLUSTER_NOT_FOUND',
    );
  });

  it('a module that does not load is CKR_LIBRARY_LOAD_FAILED → INTERNAL_ERROR', async () => {
    await assert.rejects(
      Token.open({ modulePath: '/nonexistent/libnothing.so', label: 'x' }, 'whatever'),
      (e: Pkcs11Error) =>
        e.ckr === 'CKR_LIBRARY_LOAD_FAILED' && connectionErrorFor(e.ckr) === 'INTERNAL_ERROR',
    );
  });

  it('C_SetPIN: the old PIN no longer logs in, the new one does', async () => {
    const tok = await Token.open(
      { modulePath: second.modulePath, label: second.label },
      second.userPin,
    );
    await tok.setPin(second.userPin, 'rotated-pin-123');
    tok.close();
    await assert.rejects(
      Token.open({ modulePath: second.modulePath, label: second.label }, second.userPin),
      (e: Pkcs11Error) => e.ckr === 'CKR_PIN_INCORRECT',
    );
    const again = await Token.open(
      { modulePath: second.modulePath, label: second.label },
      'rotated-pin-123',
    );
    again.close();
  });

  it('a token created after the module was loaded is found (in-process init)', async () => {
    const late = createSoftHsmToken();
    const tok = await Token.open({ modulePath: late.modulePath, label: late.label }, late.userPin);
    assert.equal((await tok.random(16)).length, 16);
    tok.close();
    assert.ok(tokenFlags(loadModule(late.modulePath), late.label) > 0);
  });

  it('CKM_AES_GCM output equals Node aes-256-gcm (same layout as the software path)', async () => {
    // Only checks framing: a known key cannot be read back, so compare lengths and tag size.
    const h = await token.generateAesKey('k-frame', Buffer.from('06', 'hex'));
    const e = await token.encryptGcm(h, Buffer.alloc(33), Buffer.alloc(0));
    assert.equal(e.ciphertext.length, 33);
    const c = createCipheriv('aes-256-gcm', Buffer.alloc(32), Buffer.alloc(12));
    assert.equal(Buffer.concat([c.update(Buffer.alloc(33)), c.final()]).length, 33);
  });

  it('pool is bounded and reports stats; metrics are registered', async () => {
    const s = token.stats();
    assert.equal(s.max, 2);
    assert.ok(s.size >= 1 && s.size <= 2);
    assert.equal(s.inUse, 0);
    const text = await registry.metrics();
    assert.match(text, new RegExp(`keyhold_pkcs11_sessions_idle\\{token="${t.label}"\\} \\d`));
    assert.match(text, new RegExp(`keyhold_pkcs11_pool_size\\{token="${t.label}"\\} 2`));
  });

  it('fatal codes are exactly the session-killing ones', () => {
    for (const c of [
      'CKR_SESSION_HANDLE_INVALID',
      'CKR_DEVICE_ERROR',
      'CKR_TOKEN_NOT_PRESENT',
      'CKR_DEVICE_REMOVED',
    ])
      assert.equal(isFatal(c), true, c);
    for (const c of ['CKR_PIN_INCORRECT', 'CKR_GENERAL_ERROR', 'CKR_OBJECT_HANDLE_INVALID'])
      assert.equal(isFatal(c), false, c);
    assert.equal(connectionErrorFor('CKR_PIN_LOCKED'), 'USER_LOCKED_OUT');
    assert.equal(connectionErrorFor('CKR_USER_PIN_NOT_INITIALIZED'), 'USER_NOT_FOUND');
    assert.equal(connectionErrorFor('CKR_USER_ANOTHER_ALREADY_LOGGED_IN'), 'USER_LOGGED_IN');
    assert.equal(connectionErrorFor('CKR_SOMETHING_NEW'), 'INTERNAL_ERROR');
  });

  it('a session that fails with a fatal code is dropped from the pool', async () => {
    const tok = await Token.open(
      { modulePath: t.modulePath, label: t.label, maxSessions: 1 },
      t.userPin,
    );
    // Close the pooled session behind the pool's back: the next call sees CKR_SESSION_HANDLE_INVALID.
    const s = await (
      tok as unknown as {
        pool: { acquire(): Promise<Buffer>; release(s: Buffer, f: boolean): void };
      }
    ).pool.acquire();
    tok.mod.C_CloseSession(s);
    (tok as unknown as { pool: { release(s: Buffer, f: boolean): void } }).pool.release(s, false);
    await assert.rejects(tok.random(8), (e: Pkcs11Error) => e.ckr === 'CKR_SESSION_HANDLE_INVALID');
    assert.equal(tok.stats().size, 0);
    assert.equal((await tok.random(8)).length, 8);
    assert.equal(tok.stats().size, 1);
    tok.close();
  });
});
