import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BLOB_OVERHEAD,
  decodeBlob,
  encodeBlob,
  encodeHeader,
  HEADER_LENGTH,
  TAG_LENGTH,
} from '../../src/hsm/ciphertext-blob.js';
import { canonicalEncryptionContext } from '../../src/hsm/encryption-context.js';
import { KmsError } from '../../src/errors/aws-errors.js';

const keyIdArb = fc.oneof(
  fc.uuid({ version: 4 }),
  fc
    .uint8Array({ minLength: 16, maxLength: 16 })
    .map((b) => `mrk-${Buffer.from(b).toString('hex')}`),
);
const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));

function isInvalidCiphertext(err: unknown): boolean {
  return err instanceof KmsError && err.code === 'InvalidCiphertextException';
}

describe('ciphertext blob codec', () => {
  it('round-trips every field (property)', () => {
    fc.assert(
      fc.property(
        keyIdArb,
        hex(32),
        hex(16),
        hex(12),
        fc.uint8Array({ maxLength: 4096 }),
        hex(16),
        (keyId, version, nonce, iv, ct, tag) => {
          const header = encodeHeader(keyId, version.toString('hex'), nonce, iv);
          const blob = encodeBlob(header, Buffer.from(ct), tag);
          assert.equal(blob.length, BLOB_OVERHEAD + ct.length);
          const p = decodeBlob(blob);
          assert.equal(p.keyId, keyId);
          assert.equal(p.versionId, version.toString('hex'));
          assert.deepEqual(p.nonce, nonce);
          assert.deepEqual(p.iv, iv);
          assert.deepEqual(p.ciphertext, Buffer.from(ct));
          assert.deepEqual(p.tag, tag);
          assert.deepEqual(p.header, header);
        },
      ),
    );
  });

  it('Precondition: the blob holds at least a header and a tag', () => {
    for (const n of [0, 1, HEADER_LENGTH, BLOB_OVERHEAD - 1]) {
      assert.throws(() => decodeBlob(randomBytes(n)), isInvalidCiphertext);
    }
  });

  it('Precondition: the format version is one this build reads', () => {
    const blob = encodeBlob(
      encodeHeader(randomUUID(), randomBytes(32).toString('hex'), randomBytes(16), randomBytes(12)),
      Buffer.alloc(4),
      Buffer.alloc(TAG_LENGTH),
    );
    blob[0] = 0x02;
    assert.throws(() => decodeBlob(blob), isInvalidCiphertext);
  });

  it('Precondition: the key id kind is known', () => {
    const blob = encodeBlob(
      encodeHeader(randomUUID(), randomBytes(32).toString('hex'), randomBytes(16), randomBytes(12)),
      Buffer.alloc(4),
      Buffer.alloc(TAG_LENGTH),
    );
    blob[1] = 0x07;
    assert.throws(() => decodeBlob(blob), isInvalidCiphertext);
  });

  it('never throws anything but InvalidCiphertextException on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeBlob(Buffer.from(bytes));
        } catch (err) {
          assert.ok(isInvalidCiphertext(err), String(err));
        }
      }),
    );
  });

  it('refuses to encode key ids keyhold never issues', () => {
    assert.throws(() =>
      encodeHeader('alias/x', randomBytes(32).toString('hex'), randomBytes(16), randomBytes(12)),
    );
  });
});

describe('canonical encryption context', () => {
  const ctxArb = fc.dictionary(
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    { maxKeys: 8 },
  );

  it('does not depend on the order of the pairs (property)', () => {
    fc.assert(
      fc.property(ctxArb, (ctx) => {
        const reversed = Object.fromEntries(Object.entries(ctx).reverse());
        assert.deepEqual(canonicalEncryptionContext(ctx), canonicalEncryptionContext(reversed));
      }),
    );
  });

  it('changes when any key or value changes (property)', () => {
    fc.assert(
      fc.property(
        ctxArb,
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (ctx, k, v) => {
          fc.pre(ctx[k] !== v);
          const changed = { ...ctx, [k]: v };
          assert.notDeepEqual(canonicalEncryptionContext(ctx), canonicalEncryptionContext(changed));
        },
      ),
    );
  });

  it('is injective across key/value boundaries (length prefixes)', () => {
    assert.notDeepEqual(
      canonicalEncryptionContext({ ab: 'c' }),
      canonicalEncryptionContext({ a: 'bc' }),
    );
    assert.notDeepEqual(canonicalEncryptionContext({}), canonicalEncryptionContext({ '': '' }));
  });

  it('treats an absent and an empty context alike', () => {
    assert.deepEqual(canonicalEncryptionContext(undefined), canonicalEncryptionContext({}));
  });

  it('is case-sensitive', () => {
    assert.notDeepEqual(
      canonicalEncryptionContext({ K: 'v' }),
      canonicalEncryptionContext({ k: 'v' }),
    );
  });
});
