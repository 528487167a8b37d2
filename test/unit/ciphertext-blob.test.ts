import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BLOB_OVERHEAD,
  blobAad,
  CUSTOM_HEADER_LENGTH,
  decodeBlob,
  decodeSymmetricBlob,
  encodeBlob,
  encodeCustomBlob,
  encodeCustomHeader,
  encodeHeader,
  HEADER_LENGTH,
  TAG_LENGTH,
  type BlobStoreType,
} from '../../src/hsm/ciphertext-blob.js';
import { canonicalEncryptionContext } from '../../src/hsm/encryption-context.js';
import { HsmError } from '../../src/hsm/hsm-error.js';

const keyIdArb = fc.oneof(
  fc.uuid({ version: 4 }),
  fc
    .uint8Array({ minLength: 16, maxLength: 16 })
    .map((b) => `mrk-${Buffer.from(b).toString('hex')}`),
);
const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
const storeTypeArb = fc.constantFrom<BlobStoreType>('AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE');

function isInvalidCiphertext(err: unknown): boolean {
  // The opaque HsmError; kms/crypto/hsm-errors.ts turns it into InvalidCiphertextException.
  return err instanceof HsmError && err.kind === 'integrity' && err.message === '';
}

function v1Blob(bodyLength = 4): Buffer {
  return encodeBlob(
    encodeHeader(randomUUID(), randomBytes(32).toString('hex'), randomBytes(16), randomBytes(12)),
    randomBytes(bodyLength),
    randomBytes(TAG_LENGTH),
  );
}

function v2Blob(storeType: BlobStoreType = 'AWS_CLOUDHSM', payloadLength = 40): Buffer {
  return encodeCustomBlob(
    encodeCustomHeader(randomUUID(), randomBytes(32).toString('hex'), storeType),
    randomBytes(payloadLength),
  );
}

describe('ciphertext blob codec', () => {
  it('v1 round-trips every field (property)', () => {
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
          assert.equal(p.version, 1);
          if (p.version !== 1) return;
          assert.equal(p.keyId, keyId);
          assert.equal(p.versionId, version.toString('hex'));
          assert.deepEqual(p.nonce, nonce);
          assert.deepEqual(p.iv, iv);
          assert.deepEqual(p.ciphertext, Buffer.from(ct));
          assert.deepEqual(p.tag, tag);
          assert.deepEqual(p.header, header);
          assert.deepEqual(decodeSymmetricBlob(blob), p);
        },
      ),
    );
  });

  it('v2 round-trips key id, version id, store type and payload (property)', () => {
    fc.assert(
      fc.property(
        keyIdArb,
        hex(32),
        storeTypeArb,
        fc.uint8Array({ minLength: 1, maxLength: 4200 }),
        (keyId, version, storeType, payload) => {
          const header = encodeCustomHeader(keyId, version.toString('hex'), storeType);
          assert.equal(header.length, CUSTOM_HEADER_LENGTH);
          const blob = encodeCustomBlob(header, Buffer.from(payload));
          const p = decodeBlob(blob);
          assert.deepEqual(p, {
            version: 2,
            keyId,
            versionId: version.toString('hex'),
            storeType,
            header,
            payload: Buffer.from(payload),
          });
        },
      ),
    );
  });

  it('the wire layout is the documented one (docs/blob-format.md)', () => {
    assert.equal(HEADER_LENGTH, 78);
    assert.equal(BLOB_OVERHEAD, 94);
    assert.equal(CUSTOM_HEADER_LENGTH, 51);
    const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
    const versionId = 'ab'.repeat(32);
    const v1 = encodeHeader(keyId, versionId, Buffer.alloc(16, 0xee), Buffer.alloc(12, 0xdd));
    assert.equal(
      v1.toString('hex'),
      '0100' + '1234abcd12ab34cd56ef1234567890ab' + versionId + 'ee'.repeat(16) + 'dd'.repeat(12),
    );
    const mrk = encodeHeader(`mrk-${'cd'.repeat(16)}`, versionId, randomBytes(16), randomBytes(12));
    assert.deepEqual([...mrk.subarray(0, 2)], [0x01, 0x01]);
    assert.equal(
      encodeCustomHeader(keyId, versionId, 'AWS_CLOUDHSM').toString('hex'),
      '0200' + '1234abcd12ab34cd56ef1234567890ab' + versionId + '01',
    );
    assert.equal(encodeCustomHeader(keyId, versionId, 'EXTERNAL_KEY_STORE')[50], 0x02);
  });

  it('Precondition: every truncation of a v1 or v2 blob is rejected', () => {
    const v1 = v1Blob(0);
    for (let n = 0; n < v1.length; n++)
      assert.throws(() => decodeBlob(v1.subarray(0, n)), isInvalidCiphertext, `v1 cut to ${n}`);
    assert.equal(decodeBlob(v1).version, 1, 'an empty plaintext is a valid blob');
    for (const type of ['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const) {
      const v2 = v2Blob(type, 1);
      for (let n = 0; n < v2.length; n++)
        assert.throws(() => decodeBlob(v2.subarray(0, n)), isInvalidCiphertext, `v2 cut to ${n}`);
      assert.equal(decodeBlob(v2).version, 2);
    }
    assert.throws(() => decodeBlob(Buffer.alloc(0)), isInvalidCiphertext);
    for (const n of [1, HEADER_LENGTH, BLOB_OVERHEAD - 1])
      assert.throws(() => decodeSymmetricBlob(randomBytes(n)), isInvalidCiphertext);
  });

  it('Precondition: the format version is one this build reads (every other version byte)', () => {
    const blobs = [v1Blob(), v2Blob('AWS_CLOUDHSM'), v2Blob('EXTERNAL_KEY_STORE')];
    for (const blob of blobs) {
      for (let version = 0; version < 256; version++) {
        const t = Buffer.from(blob);
        t[0] = version;
        if (version === 1 && t.length >= BLOB_OVERHEAD) {
          assert.equal(decodeBlob(t).version, 1);
        } else if (version === 2) {
          // Any blob long enough has a byte 50; only a known store type makes it v2.
          const ok = t[50] === 0x01 || t[50] === 0x02;
          if (ok) assert.equal(decodeBlob(t).version, 2);
          else assert.throws(() => decodeBlob(t), isInvalidCiphertext);
        } else {
          assert.throws(() => decodeBlob(t), isInvalidCiphertext, `version byte ${version}`);
        }
      }
    }
    // A v2 blob is not what the HSM opens, even when well formed.
    assert.throws(() => decodeSymmetricBlob(v2Blob()), isInvalidCiphertext);
  });

  it('Precondition: the key id kind is known (both versions)', () => {
    for (const blob of [v1Blob(), v2Blob()]) {
      for (let kind = 0; kind < 256; kind++) {
        const t = Buffer.from(blob);
        t[1] = kind;
        if (kind === 0x00 || kind === 0x01) assert.doesNotThrow(() => decodeBlob(t));
        else assert.throws(() => decodeBlob(t), isInvalidCiphertext, `kind ${kind}`);
      }
    }
  });

  it('Precondition: the store type of a v2 blob is known', () => {
    const blob = v2Blob();
    for (let type = 0; type < 256; type++) {
      const t = Buffer.from(blob);
      t[CUSTOM_HEADER_LENGTH - 1] = type;
      if (type === 0x01 || type === 0x02) {
        const p = decodeBlob(t);
        assert.equal(
          p.version === 2 && p.storeType,
          type === 1 ? 'AWS_CLOUDHSM' : 'EXTERNAL_KEY_STORE',
        );
      } else assert.throws(() => decodeBlob(t), isInvalidCiphertext, `store type ${type}`);
    }
  });

  it('never throws anything but the opaque integrity error on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0, 1, 2), (bytes, first) => {
        const b = Buffer.from(bytes);
        if (b.length > 0 && first > 0) b[0] = first;
        try {
          decodeBlob(b);
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
    assert.throws(() =>
      encodeCustomHeader('alias/x', randomBytes(32).toString('hex'), 'AWS_CLOUDHSM'),
    );
    assert.throws(() => encodeCustomHeader(randomUUID(), 'abcd', 'AWS_CLOUDHSM'));
  });

  it('AAD = header ‖ canonical encryption context; order of pairs does not matter', () => {
    const header = encodeCustomHeader(
      randomUUID(),
      randomBytes(32).toString('hex'),
      'AWS_CLOUDHSM',
    );
    const a = blobAad(header, { b: '2', a: '1' });
    assert.deepEqual(a, Buffer.concat([header, canonicalEncryptionContext({ a: '1', b: '2' })]));
    assert.deepEqual(blobAad(header, undefined), blobAad(header, {}));
    assert.notDeepEqual(blobAad(header, { a: '1' }), blobAad(header, { a: '2' }));
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
