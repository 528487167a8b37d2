/**
 * The XKS payload parser and the ciphertextDataIntegrityValue: the spec's example vector
 * (Appendix C), the response checks, and a property test that the parser never fails with
 * anything but the opaque InvalidCiphertextException.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkEncryptResult,
  decodeXksPayload,
  integrityValue,
} from '../../src/keystores/xks/double-encryption.js';
import { XksProxyFailure } from '../../src/keystores/xks/xks-errors.js';
import { KmsError } from '../../src/errors/aws-errors.js';

const b64 = (s: string) => Buffer.from(s, 'base64');

// XKS Proxy API spec, Encrypt example and Appendix C.
const SPEC = {
  aad: b64('cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n'),
  result: {
    ciphertext: b64('ghxkK1txeDNn3q8Y'),
    ciphertextMetadata: b64('a2V5X3ZlcnNpb249MQ=='),
    initializationVector: b64('HMrlRw85cAJUd5Ax'),
    authenticationTag: b64('vBxN2ncH1oEkR8WVXpmyYQ=='),
    ciphertextDataIntegrityValue: b64('qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc='),
  },
};

describe('XKS payload and CDIV', () => {
  it('ciphertextDataIntegrityValue matches the spec example (Appendix C)', () => {
    assert.equal(
      integrityValue(SPEC.aad, SPEC.result).toString('hex'),
      'a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7',
    );
    checkEncryptResult(SPEC.result, SPEC.aad, 12);
  });

  it('checkEncryptResult refuses a wrong CDIV, lengths or a missing CDIV', () => {
    const bad = [
      { ...SPEC.result, ciphertextDataIntegrityValue: undefined },
      { ...SPEC.result, ciphertextDataIntegrityValue: Buffer.alloc(32) },
      { ...SPEC.result, authenticationTag: Buffer.alloc(15) },
      { ...SPEC.result, initializationVector: Buffer.alloc(8) },
      { ...SPEC.result, ciphertextMetadata: Buffer.alloc(21) },
    ];
    for (const r of bad)
      assert.throws(
        () => checkEncryptResult(r, SPEC.aad, 12),
        (e: unknown) => e instanceof XksProxyFailure && e.kind === 'MalformedResponse',
      );
    // The AAD is part of the CDIV: another AAD, another value.
    assert.throws(() => checkEncryptResult(SPEC.result, Buffer.from('x'), 12), XksProxyFailure);
    // The ciphertext must be as long as what keyhold sent.
    assert.throws(() => checkEncryptResult(SPEC.result, SPEC.aad, 13), XksProxyFailure);
  });

  it('decodeXksPayload reads iv, metadata, tag, ciphertext', () => {
    const iv = Buffer.alloc(12, 1);
    const md = Buffer.from('key_version=1');
    const tag = Buffer.alloc(16, 2);
    const ct = Buffer.from('ciphertext');
    const p = decodeXksPayload(Buffer.concat([Buffer.from([12, md.length]), iv, md, tag, ct]));
    assert.deepEqual([p.iv, p.ciphertextMetadata, p.tag, p.ciphertext], [iv, md, tag, ct]);
  });

  it('any byte string parses or is InvalidCiphertextException (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        try {
          const p = decodeXksPayload(Buffer.from(bytes));
          assert.ok(p.iv.length === 12 || p.iv.length === 16);
          assert.equal(p.tag.length, 16);
          assert.ok(p.ciphertext.length >= 1 && p.ciphertextMetadata.length <= 20);
        } catch (e) {
          assert.ok(e instanceof KmsError && e.code === 'InvalidCiphertextException');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
