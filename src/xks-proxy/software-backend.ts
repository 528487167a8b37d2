/**
 * Software backend: AES-256-GCM in Node's crypto over keys held in an encrypted key file
 * (key-file.ts). For development, tests and small deployments; a PKCS#11 token is the
 * production choice.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  AuthTagError,
  type EkmInstance,
  type GcmResult,
  type XksBackend,
  type XksKeyMetadata,
} from './backend.js';
import { KeyFile } from './key-file.js';

export class SoftwareBackend implements XksBackend {
  readonly kind = 'software' as const;
  readonly ekmVendor = 'keyhold';
  #file: KeyFile;
  readonly #passphrase: string;

  private constructor(file: KeyFile, passphrase: string) {
    this.#file = file;
    this.#passphrase = passphrase;
  }

  static async open(path: string, passphrase: string): Promise<SoftwareBackend> {
    return new SoftwareBackend(await KeyFile.open(path, passphrase), passphrase);
  }

  /** The open key file (tests and the key commands change keys through it). */
  get keyFile(): KeyFile {
    return this.#file;
  }

  /** Re-read the key file (after `keyhold xks-proxy keys ...` changed it; SIGHUP). */
  async reload(): Promise<void> {
    const next = await KeyFile.open(this.#file.path, this.#passphrase);
    const prev = this.#file;
    this.#file = next;
    prev.close();
  }

  async metadata(keyId: string): Promise<XksKeyMetadata | undefined> {
    const e = this.#file.entry(keyId);
    if (e === undefined) return undefined;
    return { keySpec: 'AES_256', keyUsage: e.usage, keyStatus: e.state };
  }

  async encrypt(keyId: string, plaintext: Buffer, aad: Buffer): Promise<GcmResult> {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key(keyId), iv);
    c.setAAD(aad);
    const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
    return { ciphertext, iv, tag: c.getAuthTag() };
  }

  async decrypt(keyId: string, ct: Buffer, iv: Buffer, tag: Buffer, aad: Buffer): Promise<Buffer> {
    const d = createDecipheriv('aes-256-gcm', this.#key(keyId), iv, { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(tag);
    const out = d.update(ct);
    try {
      return Buffer.concat([out, d.final()]);
    } catch {
      out.fill(0);
      throw new AuthTagError();
    }
  }

  /** Deep check: the key file is open and AES-GCM round-trips with a throwaway key. */
  async health(): Promise<EkmInstance[]> {
    let ok = false;
    try {
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([c.update(Buffer.from('health')), c.final()]);
      const d = createDecipheriv('aes-256-gcm', key, iv);
      d.setAuthTag(c.getAuthTag());
      ok = Buffer.concat([d.update(ct), d.final()]).toString() === 'health';
      key.fill(0);
      this.#file.list();
    } catch {
      ok = false;
    }
    return [
      {
        id: `keyfile:${this.#file.path.split('/').pop() ?? 'keys'}`,
        model: 'keyhold software key file',
        healthStatus: ok ? 'ACTIVE' : 'UNAVAILABLE',
      },
    ];
  }

  async close(): Promise<void> {
    this.#file.close();
  }

  #key(keyId: string): Buffer {
    const k = this.#file.material(keyId);
    if (k === undefined) throw new Error(`unknown key ${keyId}`);
    return k;
  }
}
