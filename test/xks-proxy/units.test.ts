/**
 * Units of the proxy: the AAD / CDIV construction against the spec's own example, the
 * software key file (sealing, MAC over states and usages, wrong passphrase), the config
 * loader (file + KEYHOLD_XKS_* env, secrets by reference) and the authorization rules.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config.js';
import { isAuthorized, parseAuthorization } from '../../src/xks-proxy/authorization.js';
import { loadXksProxyConfig } from '../../src/xks-proxy/config.js';
import { ciphertextDataIntegrityValue, hsmAad } from '../../src/xks-proxy/gcm-format.js';
import { KeyFile, KeyFileError } from '../../src/xks-proxy/key-file.js';
import { SoftwareBackend } from '../../src/xks-proxy/software-backend.js';
import { createTestPki } from '../helpers/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'keyhold-xks-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fast = { N: 1024, r: 8, p: 1 };
const PASS = 'a long test passphrase';

describe('gcm-format', () => {
  it("CDIV of the spec's Encrypt example (Appendix C) is qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=", () => {
    const cdiv = ciphertextDataIntegrityValue({
      aad: Buffer.from('cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n', 'base64'),
      ciphertextMetadata: Buffer.from('a2V5X3ZlcnNpb249MQ==', 'base64'),
      iv: Buffer.from('HMrlRw85cAJUd5Ax', 'base64'),
      ciphertext: Buffer.from('ghxkK1txeDNn3q8Y', 'base64'),
      tag: Buffer.from('vBxN2ncH1oEkR8WVXpmyYQ==', 'base64'),
    });
    assert.equal(cdiv.toString('base64'), 'qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=');
  });
  it('HSM AAD = uint16_be(len(aad)) ‖ aad ‖ uint8(len(ctm)) ‖ ctm', () => {
    assert.equal(
      hsmAad(Buffer.from('ab'), Buffer.from('xyz')).toString('hex'),
      '0002' + '6162' + '03' + '78797a',
    );
    assert.equal(hsmAad(Buffer.alloc(0), Buffer.alloc(0)).toString('hex'), '000000');
    assert.throws(() => hsmAad(Buffer.alloc(65536), Buffer.alloc(0)), RangeError);
  });
});

describe('software key file', () => {
  it('round trip: keys survive reopening, material never appears in the file, mode 0600', async () => {
    const path = join(dir, 'k1.json');
    const f = await KeyFile.create(path, PASS, fast);
    const material = Buffer.alloc(32, 7);
    await f.addKey({ id: 'imported', material });
    await f.addKey({ id: 'gen', usage: ['ENCRYPT'], state: 'DISABLED' });
    f.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'utf8');
    assert.ok(
      !text.includes(material.toString('base64')) && !text.includes(material.toString('hex')),
    );
    const g = await KeyFile.open(path, PASS);
    assert.deepEqual(
      g.list().map((k) => [k.id, k.state, k.usage.join(',')]),
      [
        ['imported', 'ENABLED', 'ENCRYPT,DECRYPT'],
        ['gen', 'DISABLED', 'ENCRYPT'],
      ],
    );
    assert.deepEqual(g.material('imported'), material);
    g.close();
  });

  it('the backend decrypts after a reopen what it encrypted before', async () => {
    const path = join(dir, 'k2.json');
    const f = await KeyFile.create(path, PASS, fast);
    await f.addKey({ id: 'a' });
    f.close();
    const b1 = await SoftwareBackend.open(path, PASS);
    const aad = Buffer.from('aad');
    const r = await b1.encrypt('a', Buffer.from('data'), aad);
    await b1.close();
    const b2 = await SoftwareBackend.open(path, PASS);
    assert.equal((await b2.decrypt('a', r.ciphertext, r.iv, r.tag, aad)).toString(), 'data');
    await assert.rejects(b2.decrypt('a', r.ciphertext, r.iv, r.tag, Buffer.from('other')), {
      name: 'AuthTagError',
    });
    await b2.close();
  });

  it('a wrong passphrase fails', async () => {
    const path = join(dir, 'k3.json');
    (await KeyFile.create(path, PASS, fast)).close();
    await assert.rejects(KeyFile.open(path, 'another passphrase'), KeyFileError);
  });

  it('editing a state or usage without the passphrase is detected (file MAC)', async () => {
    const path = join(dir, 'k4.json');
    const f = await KeyFile.create(path, PASS, fast);
    await f.addKey({ id: 'x', state: 'DISABLED', usage: ['DECRYPT'] });
    f.close();
    const orig = readFileSync(path, 'utf8');
    writeFileSync(path, orig.replace('"DISABLED"', '"ENABLED"'));
    await assert.rejects(KeyFile.open(path, PASS), /modified/);
    writeFileSync(path, orig.replace('"DECRYPT"', '"ENCRYPT"'));
    await assert.rejects(KeyFile.open(path, PASS), /modified/);
    writeFileSync(path, orig);
    (await KeyFile.open(path, PASS)).close();
  });

  it('rejects bad ids, duplicate ids, unknown usages, wrong material length, short passphrases', async () => {
    const f = await KeyFile.create(join(dir, 'k5.json'), PASS, fast);
    await assert.rejects(f.addKey({ id: 'bad/id' }), KeyFileError);
    await assert.rejects(f.addKey({ id: 'x'.repeat(129) }), KeyFileError);
    await f.addKey({ id: 'ok' });
    await assert.rejects(f.addKey({ id: 'ok' }), /already exists/);
    await assert.rejects(
      f.addKey({ id: 'u', usage: ['ENCRYPT', 'FLY' as 'ENCRYPT'] }),
      /unknown key usage/,
    );
    await assert.rejects(f.addKey({ id: 'm', material: Buffer.alloc(16) }), /32 bytes/);
    f.close();
    await assert.rejects(
      KeyFile.create(join(dir, 'k6.json'), 'short'),
      /^KeyFileError: the key file passphrase must be at least 16 characters$/,
    );
    await assert.rejects(
      KeyFile.create(join(dir, 'k6.json'), '15 characters..'),
      /at least 16 characters/,
    );
  });
});

describe('config loader', () => {
  const pki = createTestPki();
  after(() => pki.cleanup());
  const secretFile = join(dir, 'secret.txt');
  const SECRET = 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE';
  writeFileSync(secretFile, SECRET + '\n');
  const write = (o: object) => {
    const p = join(dir, `cfg-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify(o));
    return p;
  };
  const base = {
    port: 8443,
    uriPrefix: 'keystores/one/',
    tls: { certFile: pki.server.certPath, keyFile: pki.server.keyPath },
    credentials: [
      {
        accessKeyId: 'AKIAI2SFODNN7EXAMPLE',
        secretAccessKeyFile: secretFile,
        createdAt: '2026-01-01T00:00:00Z',
      },
      { accessKeyId: 'BKIAI2SFODNN7EXAMPLE', secretAccessKeyEnv: 'MY_SECRET' },
    ],
    backend: { type: 'software', keyFile: 'keys.json', passphraseEnv: 'MY_PASS' },
    metrics: { port: 9464 },
    authorization: { default: 'deny', rules: [{ effect: 'allow', principals: ['arn:*'] }] },
  };
  const env = { MY_SECRET: SECRET, MY_PASS: 'p' };

  it('reads the file, resolves secrets by file and env, normalises the prefix, resolves paths', () => {
    const c = loadXksProxyConfig(write(base), env);
    assert.equal(c.port, 8443);
    assert.equal(c.uriPrefix, '/keystores/one');
    assert.equal(c.credentials.length, 2);
    assert.equal(c.credentials[0]?.secretAccessKey, SECRET);
    assert.equal(c.credentials[0]?.createdAt?.toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(c.credentials[1]?.secretAccessKey, SECRET);
    assert.deepEqual(c.backend, {
      type: 'software',
      keyFile: join(dir, 'keys.json'),
      passphrase: 'p',
    });
    assert.deepEqual(c.metrics, { host: '127.0.0.1', port: 9464 });
    assert.equal(c.authorization?.defaultEffect, 'deny');
    assert.match(c.tls.cert, /BEGIN CERTIFICATE/);
    assert.ok(Object.isFrozen(c));
  });
  it('KEYHOLD_XKS_* override the file', () => {
    const c = loadXksProxyConfig(write(base), {
      ...env,
      KEYHOLD_XKS_PORT: '9000',
      KEYHOLD_XKS_URI_PREFIX: '/other',
      KEYHOLD_XKS_CREDENTIALS: `CKIAI2SFODNN7EXAMPLE:${SECRET}`,
      KEYHOLD_XKS_MTLS_CA: pki.caPath,
      KEYHOLD_XKS_MTLS_SUBJECTS: 'cks.kms.us-east-1.amazonaws.com, cks.kms.eu-west-1.amazonaws.com',
      KEYHOLD_XKS_BACKEND: 'pkcs11',
      KEYHOLD_XKS_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so',
      KEYHOLD_XKS_PKCS11_TOKEN: 'xks',
      KEYHOLD_XKS_PKCS11_PIN: '1234',
    });
    assert.equal(c.port, 9000);
    assert.equal(c.uriPrefix, '/other');
    assert.deepEqual(
      c.credentials.map((x) => x.accessKeyId),
      ['CKIAI2SFODNN7EXAMPLE', 'AKIAI2SFODNN7EXAMPLE', 'BKIAI2SFODNN7EXAMPLE'],
    );
    assert.deepEqual(c.mtls?.allowedSubjects, [
      'cks.kms.us-east-1.amazonaws.com',
      'cks.kms.eu-west-1.amazonaws.com',
    ]);
    assert.equal(c.backend.type, 'pkcs11');
  });
  it('refuses what KMS could not use, and missing pieces, with a message that names the field', () => {
    const bad = (patch: object, e: Record<string, string>, re: RegExp) =>
      assert.throws(
        () => loadXksProxyConfig(write({ ...base, ...patch }), { ...env, ...e }),
        (err: Error) => err instanceof ConfigError && re.test(err.message),
      );
    bad(
      { credentials: [{ accessKeyId: 'akia-lower', secretAccessKey: SECRET }] },
      {},
      /20-30 characters/,
    );
    bad(
      { credentials: [{ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: 'short' }] },
      {},
      /43-64/,
    );
    bad({ credentials: [] }, {}, /at least one credential/);
    bad({ tls: {} }, {}, /TLS is required/);
    bad({ uriPrefix: '/has space' }, {}, /uriPrefix/);
    bad({ backend: { type: 'cloud' } }, {}, /backend.type/);
    bad(
      { credentials: [{ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKeyEnv: 'UNSET_VAR' }] },
      {},
      /UNSET_VAR/,
    );
    bad({ mtls: { caFile: pki.caPath, allowedSubjects: [] } }, {}, /allowedSubjects/);
    bad({ authorization: { default: 'maybe', rules: [] } }, {}, /authorization.default/);
    bad(
      { authorization: { rules: [{ effect: 'allow', operations: ['Sign'] }] } },
      {},
      /unknown Sign/,
    );
  });
  it('a bad secret is never echoed in the error', () => {
    const secret = 'not!a!valid!secret!but!long!enough!to!be!a!secret!value';
    try {
      loadXksProxyConfig(
        write({
          ...base,
          credentials: [{ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: secret }],
        }),
        env,
      );
      assert.fail('should throw');
    } catch (err) {
      assert.ok(!(err as Error).message.includes(secret));
    }
  });
});

describe('authorization rules', () => {
  const p = parseAuthorization({
    default: 'allow',
    rules: [{ effect: 'deny', principals: ['arn:aws:iam::1:user/?ob'], keys: ['k*'] }],
  });
  const q = (principal: string, keyId: string) =>
    isAuthorized(p, {
      operation: 'Encrypt',
      keyId,
      awsPrincipalArn: principal,
      kmsOperation: 'Encrypt',
    });
  it('wildcards * and ? match; default applies otherwise', () => {
    assert.equal(q('arn:aws:iam::1:user/Bob', 'k1'), false);
    assert.equal(q('arn:aws:iam::1:user/Rob', 'kx'), false);
    assert.equal(q('arn:aws:iam::1:user/Robert', 'k1'), true);
    assert.equal(q('arn:aws:iam::1:user/Bob', 'other'), true);
  });
  it('no policy allows everything', () => {
    assert.equal(
      isAuthorized(undefined, {
        operation: 'Decrypt',
        keyId: 'a',
        awsPrincipalArn: 'x',
        kmsOperation: 'Decrypt',
      }),
      true,
    );
  });
});
