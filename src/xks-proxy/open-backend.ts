/** Open the backend a config names. */
import type { XksBackend } from './backend.js';
import type { BackendConfig } from './config.js';
import { SoftwareBackend } from './software-backend.js';

export async function openXksBackend(cfg: BackendConfig): Promise<XksBackend> {
  if (cfg.type === 'software') return SoftwareBackend.open(cfg.keyFile, cfg.passphrase);
  const { Pkcs11Backend } = await import('./pkcs11-backend.js');
  return Pkcs11Backend.open(cfg);
}
