/**
 * The KMS boundary of hsm/ (kms/crypto/hsm-errors.ts): every HsmError kind becomes the AWS error
 * KMS returns, for thrown and rejected calls of the wrapped HSM and for blob decoding.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { KmsError } from '../../src/errors/aws-errors.js';
import { encodeBlob, encodeHeader } from '../../src/hsm/ciphertext-blob.js';
import { GcmLimitReachedError } from '../../src/hsm/gcm-budget.js';
import { HsmError } from '../../src/hsm/hsm-error.js';
import type { Hsm } from '../../src/hsm/hsm.js';
import { SecretBytes } from '../../src/hsm/secret-bytes.js';
import { SoftwareHsm } from '../../src/hsm/software-hsm.js';
import { awsErrorOf, decodeCiphertext, withAwsErrors } from '../../src/kms/crypto/hsm-errors.js';

const code = (c: string, message?: string) => (e: unknown) =>
  e instanceof KmsError && e.code === c && (message === undefined || e.message === message);

describe('HsmError → AWS errors (kms/crypto/hsm-errors.ts)', () => {
  it('maps every kind; integrity keeps its (usually empty) message', () => {
    assert.ok(code('InvalidCiphertextException', '')(awsErrorOf(new HsmError('integrity'))));
    assert.ok(
      code(
        'InvalidCiphertextException',
        'unwrap text',
      )(awsErrorOf(new HsmError('integrity', 'unwrap text'))),
    );
    assert.ok(
      code(
        'InvalidImportTokenException',
        'The import token is invalid.',
      )(awsErrorOf(new HsmError('invalid-token', 'The import token is invalid.'))),
    );
    assert.ok(
      code('IncorrectKeyMaterialException', 'bad')(awsErrorOf(new HsmError('invalid-key', 'bad'))),
    );
    for (const internal of [new HsmError('unavailable', 'dk x'), new GcmLimitReachedError('k')]) {
      const e = awsErrorOf(internal);
      assert.ok(code('KMSInternalException', 'An internal error occurred.')(e));
      assert.equal(e.cause, internal, 'the detail stays in the cause (the log), not the message');
    }
  });

  it('decodeCiphertext: a malformed blob is the opaque InvalidCiphertextException', () => {
    assert.throws(() => decodeCiphertext(Buffer.alloc(10)), code('InvalidCiphertextException', ''));
    assert.throws(() => decodeCiphertext(Buffer.alloc(0)), code('InvalidCiphertextException', ''));
    const blob = encodeBlob(
      encodeHeader(randomUUID(), randomBytes(32).toString('hex'), randomBytes(16), randomBytes(12)),
      Buffer.alloc(3),
      Buffer.alloc(16),
    );
    assert.equal(decodeCiphertext(blob).version, 1);
  });

  it('withAwsErrors maps thrown and rejected HsmErrors and passes everything else through', async () => {
    const plain = new Error('not an HSM error');
    const fake = {
      random: () => {
        throw new HsmError('integrity');
      },
      createKeyPair: () => Promise.reject(new HsmError('invalid-key', 'nope')),
      sealSecret: () => {
        throw plain;
      },
      generateDataKeyPair: () =>
        Promise.resolve({ privateKey: Buffer.alloc(1), publicKey: Buffer.alloc(1) }),
      openSecret: (_label: string, sealed: Buffer) => sealed,
    } as unknown as Hsm;
    const hsm = withAwsErrors(fake);
    assert.throws(() => hsm.random(1), code('InvalidCiphertextException'));
    await assert.rejects(
      hsm.createKeyPair({ keyArn: 'a', versionId: 'v' }, { type: 'ed25519' }),
      code('IncorrectKeyMaterialException', 'nope'),
    );
    assert.throws(
      () => hsm.sealSecret('l', Buffer.alloc(1)),
      (e) => e === plain,
    );
    assert.deepEqual(hsm.openSecret('l', Buffer.from('x')), Buffer.from('x'));
    assert.equal((await hsm.generateDataKeyPair({ type: 'ed25519' })).privateKey.length, 1);
  });

  it('the software HSM behind withAwsErrors: a tampered blob and a bad import token', async () => {
    const soft = new SoftwareHsm(
      new SecretBytes(randomBytes(32)),
      new SecretBytes(randomBytes(32)),
    );
    soft.loadDomainKeys([soft.rotateDomainKey(new Date())]);
    const hsm = withAwsErrors(soft);
    const keyId = randomUUID();
    const binding = {
      keyArn: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`,
      versionId: randomBytes(32).toString('hex'),
    };
    const handle = { keyId, ...binding, ...hsm.createBackingKey(binding) };
    const blob = hsm.encrypt(handle, Buffer.from('x'), undefined);
    blob[blob.length - 1] = (blob[blob.length - 1] as number) ^ 1;
    const parsed = decodeCiphertext(blob);
    assert.equal(parsed.version, 1);
    if (parsed.version !== 1) return;
    assert.throws(
      () => hsm.decrypt(handle, parsed, undefined),
      code('InvalidCiphertextException', ''),
    );
    assert.throws(
      () =>
        hsm.importKeyMaterial({
          keyArn: binding.keyArn,
          keyId,
          label: 'l',
          sealedPrivateKey: randomBytes(60),
          algorithm: 'RSAES_OAEP_SHA_256',
          encryptedKeyMaterial: randomBytes(256),
          expected: { kind: 'secret', minBytes: 32, maxBytes: 32 },
        }),
      code('InvalidImportTokenException', 'The import token is invalid.'),
    );
  });
});

describe('src/hsm/', () => {
  it('imports nothing of keyhold outside itself (no AWS errors, no storage: it is sealed)', () => {
    for (const file of readdirSync('src/hsm')) {
      const text = readFileSync(`src/hsm/${file}`, 'utf8');
      const specs = [...text.matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1] ?? '');
      assert.deepEqual(
        specs.filter((s) => s.startsWith('.') && !/^\.\/[\w-]+\.js$/.test(s)),
        [],
        file,
      );
    }
  });
});
