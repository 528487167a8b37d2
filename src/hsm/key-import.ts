/**
 * BYOK import inside the HSM boundary (AWS "Importing key material"): the RSA wrapping key
 * pair of an import token, and the unwrapping of the customer's wrapped key material.
 *
 * Wrapping algorithms (GetParametersForImport WrappingAlgorithm):
 * - RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256: the material is RSA-OAEP encrypted directly
 *   (MGF1 with the same hash).
 * - RSA_AES_KEY_WRAP_SHA_1 / _SHA_256: an ephemeral AES-256 key RSA-OAEP encrypted, followed
 *   by the material wrapped under it with AES key wrap with padding (RFC 5649) — the
 *   CKM_RSA_AES_KEY_WRAP layout: RSA ciphertext (modulus length) || KWP output.
 * RSAES_PKCS1_V1_5 is refused before it gets here (AWS dropped it on 10 October 2023).
 */
import {
  constants,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { mlDsaPkcs8, mlDsaPublicKeyFromSeed, parseMlDsaPkcs8 } from './ml-dsa.js';
import { HsmError } from './hsm-error.js';
import type { KeyPairParams } from './key-pair-params.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export const IMPORT_WRAPPING_ALGORITHMS = [
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
] as const;
export type ImportWrappingAlgorithm = (typeof IMPORT_WRAPPING_ALGORITHMS)[number];

/** RFC 5649 alternative initial value (the 32-bit AIV prefix; Node's cipher adds the MLI). */
const KWP_IV = Buffer.from('a65959a6', 'hex');
const MATERIAL_ID_LABEL = 'keyhold/import-material-id/v1';

/** A fresh RSA wrapping key pair: DER SPKI public key, DER PKCS#8 private key (caller seals it). */
export async function generateWrappingKeyPair(
  modulusBits: number,
): Promise<{ publicKey: Buffer; privateKey: Buffer }> {
  const pair = await generateKeyPairAsync('rsa', {
    modulusLength: modulusBits,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return { publicKey: pair.publicKey, privateKey: pair.privateKey };
}

function unwrapFailed(cause?: unknown): never {
  throw new HsmError(
    'integrity',
    'The encrypted key material could not be decrypted with the import wrapping key. Wrap it with the public key and the wrapping algorithm of the same GetParametersForImport response.',
    { cause },
  );
}

/** Unwrap the customer's EncryptedKeyMaterial with the token's private wrapping key. */
export function unwrapImportedMaterial(
  wrappingKeyDer: Buffer,
  algorithm: ImportWrappingAlgorithm,
  encrypted: Buffer,
): Buffer {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: wrappingKeyDer, format: 'der', type: 'pkcs8' });
  } finally {
    wrappingKeyDer.fill(0);
  }
  const hash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  const oaep = (ciphertext: Buffer): Buffer => {
    try {
      return privateDecrypt(
        { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
        ciphertext,
      );
    } catch (err) {
      return unwrapFailed(err);
    }
  };
  if (algorithm === 'RSAES_OAEP_SHA_1' || algorithm === 'RSAES_OAEP_SHA_256') {
    return oaep(encrypted);
  }
  const modulusBytes = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  /* Precondition: an RSA ciphertext followed by at least one 16-byte KWP output. */
  if (modulusBytes === 0 || encrypted.length < modulusBytes + 16) return unwrapFailed();
  const aesKey = oaep(encrypted.subarray(0, modulusBytes));
  try {
    if (aesKey.length !== 32 && aesKey.length !== 24 && aesKey.length !== 16) {
      return unwrapFailed();
    }
    const decipher = createDecipheriv(`id-aes${aesKey.length * 8}-wrap-pad`, aesKey, KWP_IV);
    return Buffer.concat([decipher.update(encrypted.subarray(modulusBytes)), decipher.final()]);
  } catch (err) {
    return unwrapFailed(err);
  } finally {
    aesKey.fill(0);
  }
}

/** What the material of a key spec must be. */
export type ImportedMaterialKind =
  | { kind: 'secret'; minBytes: number; maxBytes: number }
  | { kind: 'key-pair'; params: KeyPairParams };

function incorrect(text: string): never {
  throw new HsmError('invalid-key', text);
}

/**
 * Check the unwrapped material against the key spec and return its canonical form: the
 * secret bytes, or the private key re-encoded as DER PKCS#8 with its DER SPKI public key.
 */
export function checkImportedMaterial(
  material: Buffer,
  expected: ImportedMaterialKind,
): { material: Buffer; publicKey?: Buffer } {
  if (expected.kind === 'secret') {
    if (material.length < expected.minBytes || material.length > expected.maxBytes) {
      incorrect(
        expected.minBytes === expected.maxBytes
          ? `The key material must be ${expected.minBytes} bytes long; it is ${material.length}.`
          : `The key material must be ${expected.minBytes} to ${expected.maxBytes} bytes long; it is ${material.length}.`,
      );
    }
    return { material };
  }
  if (expected.params.type === 'ml-dsa') return checkMlDsaMaterial(material, expected.params.level);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
  } catch {
    return incorrect('The key material must be a DER-encoded PKCS #8 private key.');
  } finally {
    material.fill(0);
  }
  const p = expected.params;
  const d = key.asymmetricKeyDetails;
  const fits =
    p.type === 'rsa'
      ? key.asymmetricKeyType === 'rsa' && d?.modulusLength === p.modulusBits
      : p.type === 'ec'
        ? key.asymmetricKeyType === 'ec' && d?.namedCurve === p.namedCurve
        : key.asymmetricKeyType === 'ed25519';
  if (!fits) incorrect('The private key does not match the key spec of the KMS key.');
  return {
    material: key.export({ format: 'der', type: 'pkcs8' }),
    // The public half of a private KeyObject is exported from its public KeyObject.
    publicKey: createPublicKey(key).export({ format: 'der', type: 'spki' }),
  };
}

/** ML-DSA material: PKCS #8 seed (or consistent "both") form of the key's parameter set. */
function checkMlDsaMaterial(
  material: Buffer,
  level: 44 | 65 | 87,
): { material: Buffer; publicKey: Buffer } {
  let parsed: ReturnType<typeof parseMlDsaPkcs8>;
  try {
    parsed = parseMlDsaPkcs8(material);
  } catch {
    parsed = undefined;
  } finally {
    material.fill(0);
  }
  if (parsed === undefined) {
    return incorrect('The key material must be a DER-encoded PKCS #8 ML-DSA private key (seed).');
  }
  try {
    if (parsed.level !== level)
      incorrect('The private key does not match the key spec of the KMS key.');
    return {
      material: mlDsaPkcs8(level, parsed.seed),
      publicKey: mlDsaPublicKeyFromSeed(level, parsed.seed),
    };
  } finally {
    parsed.seed.fill(0);
  }
}

/**
 * The key material id (64 hex digits, BackingKeyIdType): HMAC-SHA256 under a key of the
 * hierarchy over the KMS key id and the material, so the same material imported into the
 * same key always gets the same id (re-import check) and storage never sees a plain hash.
 */
export function materialId(hierarchyKey: Buffer, keyId: string, material: Buffer): string {
  const k = createHmac('sha256', hierarchyKey).update(MATERIAL_ID_LABEL).digest();
  try {
    return createHmac('sha256', k)
      .update(Buffer.from(keyId, 'utf8'))
      .update(Buffer.from([0]))
      .update(material)
      .digest('hex');
  } finally {
    k.fill(0);
  }
}
