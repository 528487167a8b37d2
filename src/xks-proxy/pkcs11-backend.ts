/** PKCS#11 backend (placeholder until src/pkcs11/ lands). */
import type { XksBackend } from './backend.js';
import type { BackendConfig } from './config.js';

export const Pkcs11Backend = {
  async open(_cfg: Extract<BackendConfig, { type: 'pkcs11' }>): Promise<XksBackend> {
    throw new Error('the pkcs11 backend is not available yet');
  },
};
