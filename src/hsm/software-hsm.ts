/**
 * The embedded software HSM: Node's crypto behind the Hsm contract.
 *
 * Per call (after the AWS KMS cryptographic details, "Encrypt"): unwrap the HBK from its
 * EKT with the domain key, draw a fresh 16-byte nonce, derive a one-time 256-bit key K with
 * the NIST SP 800-108 KDF in counter mode with HMAC-SHA256 (as AWS KMS does):
 *   K = HMAC-SHA256(HBK, [1]_32 || "keyhold/symmetric/v1" || 0x00 || nonce || [256]_32)
 * (one block: L = 256 bits), then AES-256-GCM with AAD = blob header || canonical
 * encryption context. K is zeroed after use.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  diffieHellman,
  privateDecrypt,
  timingSafeEqual,
} from 'node:crypto';
import { openGcm, sealGcm } from './aead.js';
import {
  encodeBlob,
  encodeHeader,
  IV_LENGTH,
  NONCE_LENGTH,
  type SymmetricBlob,
} from './ciphertext-blob.js';
import { DomainKeyring } from './domain-keys.js';
import { HsmError } from './hsm-error.js';
import { canonicalEncryptionContext, type EncryptionContext } from './encryption-context.js';
import {
  generateKeyPairDer,
  keyObjectOf,
  publicKeyFromDer,
  signWith,
  type HsmPrivateKey,
} from './asymmetric.js';
import { disposeMlDsaKey, mlDsaPrivateKey, parseMlDsaPkcs8 } from './ml-dsa.js';
import type {
  BackingKeyHandle,
  DomainKeyStatus,
  EktBinding,
  Hsm,
  ImportedKeyMaterial,
  ImportKeyMaterialInput,
  ImportWrappingKey,
  KeyPairParams,
  MacHash,
  PlainKeyPair,
  SignatureScheme,
  SignInput,
  WrappedBackingKey,
  WrappedDomainKey,
  WrappedKeyPair,
} from './hsm.js';
import {
  checkImportedMaterial,
  generateWrappingKeyPair,
  materialId,
  unwrapImportedMaterial,
} from './key-import.js';
import { RandomPool } from './random-pool.js';
import type { SecretBytes } from './secret-bytes.js';

/** SP 800-108 counter-mode fields: counter i = 1, Label, 0x00, Context = nonce, L = 256. */
const KDF_COUNTER_1 = Buffer.from([0, 0, 0, 1]);
const KDF_LABEL = Buffer.from('keyhold/symmetric/v1', 'utf8');
const KDF_SEPARATOR = Buffer.from([0]);
const KDF_LENGTH_256 = Buffer.from([0, 0, 1, 0]);
const HBK_CACHE_MAX = 1024;
const HBK_CACHE_TTL_MS = 60_000;

export class SoftwareHsm implements Hsm {
  readonly #ring: DomainKeyring;
  readonly #sealKey: SecretBytes;
  readonly #random = new RandomPool();
  readonly #hbkCache = new Map<string, { hbk: Buffer; expires: number; binding: string }>();
  /**
   * Parsed private keys, like the HBK cache (KeyObjects live in OpenSSL memory; expanded
   * ML-DSA keys are zeroed when evicted).
   */
  readonly #privateKeyCache = new Map<
    string,
    { key: HsmPrivateKey; expires: number; binding: string }
  >();

  /** `domainKeyWrapKey` wraps the domain keys (loaded with loadDomainKeys), `sealKey` secrets. */
  constructor(domainKeyWrapKey: SecretBytes, sealKey: SecretBytes) {
    this.#ring = new DomainKeyring(domainKeyWrapKey);
    this.#sealKey = sealKey;
  }

  // ---- domain keys ----

  loadDomainKeys(records: readonly WrappedDomainKey[]): void {
    this.#ring.load(records);
  }

  rotateDomainKey(now: Date): WrappedDomainKey {
    return this.#ring.rotate(now);
  }

  dropDomainKey(id: string): void {
    this.#ring.drop(id);
  }

  domainKeyStatus(): DomainKeyStatus {
    return this.#ring.status();
  }

  hasDomainKey(id: string): boolean {
    return this.#ring.has(id);
  }

  createBackingKey(binding: EktBinding): WrappedBackingKey {
    const hbk = this.#random.take(32);
    try {
      return this.#wrap(binding, hbk);
    } finally {
      hbk.fill(0);
    }
  }

  encrypt(
    key: BackingKeyHandle,
    plaintext: Buffer,
    context: EncryptionContext | undefined,
  ): Buffer {
    const nonce = this.#random.take(NONCE_LENGTH + IV_LENGTH);
    const header = encodeHeader(
      key.keyId,
      key.versionId,
      nonce.subarray(0, NONCE_LENGTH),
      nonce.subarray(NONCE_LENGTH),
    );
    const k = this.#deriveDataKey(key, nonce.subarray(0, NONCE_LENGTH));
    try {
      const cipher = createCipheriv('aes-256-gcm', k, nonce.subarray(NONCE_LENGTH));
      cipher.setAAD(Buffer.concat([header, canonicalEncryptionContext(context)]));
      const body = cipher.update(plaintext);
      cipher.final();
      return encodeBlob(header, body, cipher.getAuthTag());
    } finally {
      k.fill(0);
    }
  }

  decrypt(
    key: BackingKeyHandle,
    blob: SymmetricBlob,
    context: EncryptionContext | undefined,
  ): Buffer {
    const k = this.#deriveDataKey(key, blob.nonce);
    try {
      const decipher = createDecipheriv('aes-256-gcm', k, blob.iv);
      decipher.setAAD(Buffer.concat([blob.header, canonicalEncryptionContext(context)]));
      decipher.setAuthTag(blob.tag);
      const out = decipher.update(blob.ciphertext);
      decipher.final();
      return out;
    } catch (err) {
      throw new HsmError('integrity', '', { cause: err });
    } finally {
      k.fill(0);
    }
  }

  rewrap(binding: EktBinding, wrapped: WrappedBackingKey): WrappedBackingKey {
    const hbk = this.#unwrap(binding, wrapped);
    try {
      return this.#wrap(binding, hbk);
    } finally {
      hbk.fill(0);
    }
  }

  rebind(from: EktBinding & WrappedBackingKey, to: EktBinding): WrappedBackingKey {
    const material = this.#unwrap(from, from);
    try {
      return this.#wrap(to, material);
    } finally {
      material.fill(0);
    }
  }

  sealSecret(label: string, secret: Buffer): Buffer {
    return sealGcm(this.#sealKey.bytes, secret, Buffer.from(`keyhold/secret/v1/${label}`, 'utf8'));
  }

  openSecret(label: string, sealed: Buffer): Buffer {
    return openGcm(this.#sealKey.bytes, sealed, Buffer.from(`keyhold/secret/v1/${label}`, 'utf8'));
  }

  random(n: number): Buffer {
    return this.#random.take(n);
  }

  // ---- asymmetric and HMAC keys ----

  async createKeyPair(binding: EktBinding, params: KeyPairParams): Promise<WrappedKeyPair> {
    const pair = await generateKeyPairDer(params);
    try {
      return { ...this.#wrap(binding, pair.privateKey), publicKey: pair.publicKey };
    } finally {
      pair.privateKey.fill(0);
    }
  }

  generateDataKeyPair(params: KeyPairParams): Promise<PlainKeyPair> {
    return generateKeyPairDer(params);
  }

  sign(key: BackingKeyHandle, message: Buffer, scheme: SignatureScheme, input: SignInput): Buffer {
    return signWith(this.#privateKey(key), message, scheme, input);
  }

  decryptOaep(key: BackingKeyHandle, ciphertext: Buffer, hash: 'sha1' | 'sha256'): Buffer {
    try {
      return privateDecrypt(
        {
          key: keyObjectOf(this.#privateKey(key)),
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: hash,
        },
        ciphertext,
      );
    } catch (err) {
      throw new HsmError('integrity', '', { cause: err });
    }
  }

  deriveSharedSecret(key: BackingKeyHandle, peerPublicKey: Buffer): Buffer {
    return diffieHellman({
      privateKey: keyObjectOf(this.#privateKey(key)),
      publicKey: publicKeyFromDer(peerPublicKey),
    });
  }

  createHmacKey(binding: EktBinding, length: number): WrappedBackingKey {
    const k = this.#random.take(length);
    try {
      return this.#wrap(binding, k);
    } finally {
      k.fill(0);
    }
  }

  mac(key: BackingKeyHandle, hash: MacHash, message: Buffer): Buffer {
    return createHmac(hash, this.#hbk(key)).update(message).digest();
  }

  verifyMac(key: BackingKeyHandle, hash: MacHash, message: Buffer, mac: Buffer): boolean {
    const want = this.mac(key, hash, message);
    return mac.length === want.length && timingSafeEqual(mac, want);
  }

  // ---- BYOK import ----

  async createImportWrappingKey(label: string, modulusBits: number): Promise<ImportWrappingKey> {
    const pair = await generateWrappingKeyPair(modulusBits);
    try {
      return {
        publicKey: pair.publicKey,
        sealedPrivateKey: sealGcm(this.#sealKey.bytes, pair.privateKey, importLabel(label)),
      };
    } finally {
      pair.privateKey.fill(0);
    }
  }

  importKeyMaterial(input: ImportKeyMaterialInput): ImportedKeyMaterial {
    let wrappingKey: Buffer;
    try {
      wrappingKey = openGcm(this.#sealKey.bytes, input.sealedPrivateKey, importLabel(input.label));
    } catch (err) {
      throw new HsmError('invalid-token', 'The import token is invalid.', { cause: err });
    }
    const raw = unwrapImportedMaterial(wrappingKey, input.algorithm, input.encryptedKeyMaterial);
    let checked: { material: Buffer; publicKey?: Buffer } | undefined;
    try {
      checked = checkImportedMaterial(raw, input.expected);
      const versionId = materialId(this.#sealKey.bytes, input.keyId, checked.material);
      const wrapped = this.#wrap({ keyArn: input.keyArn, versionId }, checked.material);
      return { ...wrapped, versionId, publicKey: checked.publicKey };
    } finally {
      raw.fill(0);
      checked?.material.fill(0);
    }
  }

  /** The private key of a key pair, parsed once per EKT and cached like HBKs. */
  #privateKey(key: BackingKeyHandle): HsmPrivateKey {
    const id = key.ekt.toString('base64');
    const now = Date.now();
    const binding = `${key.keyArn}/${key.versionId}`;
    const hit = this.#privateKeyCache.get(id);
    if (hit !== undefined && hit.expires > now && hit.binding === binding) return hit.key;
    const der = this.#unwrap(key, key);
    let parsed: HsmPrivateKey;
    try {
      const mlDsa = parseMlDsaPkcs8(der);
      if (mlDsa === undefined) {
        parsed = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      } else {
        parsed = mlDsaPrivateKey(mlDsa.level, mlDsa.seed);
        mlDsa.seed.fill(0);
      }
    } finally {
      der.fill(0);
    }
    this.#forgetPrivateKey(id);
    if (this.#privateKeyCache.size >= HBK_CACHE_MAX) {
      const oldest = this.#privateKeyCache.keys().next();
      if (oldest.done !== true) this.#forgetPrivateKey(oldest.value);
    }
    this.#privateKeyCache.set(id, { key: parsed, expires: now + HBK_CACHE_TTL_MS, binding });
    return parsed;
  }

  #deriveDataKey(key: BackingKeyHandle, nonce: Buffer): Buffer {
    return createHmac('sha256', this.#hbk(key))
      .update(KDF_COUNTER_1)
      .update(KDF_LABEL)
      .update(KDF_SEPARATOR)
      .update(nonce)
      .update(KDF_LENGTH_256)
      .digest();
  }

  /**
   * The unwrapped HBK for an EKT, from a small bounded cache (keyed by the EKT bytes, which
   * name the domain key and bind the key ARN and version) so that a hot key is not
   * unwrapped on every call. Evicted HBKs are zeroed.
   */
  #hbk(key: BackingKeyHandle): Buffer {
    const id = key.ekt.toString('base64');
    const now = Date.now();
    const hit = this.#hbkCache.get(id);
    if (hit !== undefined && hit.expires > now && hit.binding === `${key.keyArn}/${key.versionId}`)
      return hit.hbk;
    const hbk = this.#unwrap(key, key);
    if (hit !== undefined) this.#evict(id);
    if (this.#hbkCache.size >= HBK_CACHE_MAX) {
      const oldest = this.#hbkCache.keys().next();
      if (oldest.done !== true) this.#evict(oldest.value);
    }
    this.#hbkCache.set(id, {
      hbk,
      expires: now + HBK_CACHE_TTL_MS,
      binding: `${key.keyArn}/${key.versionId}`,
    });
    return hbk;
  }

  #forgetPrivateKey(id: string): void {
    const key = this.#privateKeyCache.get(id)?.key;
    if (key !== undefined && 'kind' in key) disposeMlDsaKey(key);
    this.#privateKeyCache.delete(id);
  }

  #evict(id: string): void {
    this.#hbkCache.get(id)?.hbk.fill(0);
    this.#hbkCache.delete(id);
  }

  /** Zero and forget every cached HBK (shutdown). */
  clearCache(): void {
    for (const id of [...this.#hbkCache.keys()]) this.#evict(id);
    for (const id of [...this.#privateKeyCache.keys()]) this.#forgetPrivateKey(id);
  }

  #wrap(binding: EktBinding, hbk: Buffer): WrappedBackingKey {
    const { domainKeyId, sealed } = this.#ring.seal(hbk, (id) => ektAad(binding, id));
    return { domainKeyId, ekt: sealed };
  }

  #unwrap(binding: EktBinding, wrapped: WrappedBackingKey): Buffer {
    return this.#ring.open(wrapped.domainKeyId, wrapped.ekt, ektAad(binding, wrapped.domainKeyId));
  }
}

function importLabel(label: string): Buffer {
  return Buffer.from(`keyhold/import-wrapping-key/v1/${label}`, 'utf8');
}

function ektAad(binding: EktBinding, domainKeyId: string): Buffer {
  return Buffer.from(
    `keyhold/ekt/v1/${domainKeyId}/${binding.keyArn}/${binding.versionId}`,
    'utf8',
  );
}
