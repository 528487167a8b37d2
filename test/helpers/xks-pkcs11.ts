/**
 * The PKCS#11 (SoftHSM2) backend for startTestXksProxy. Filled in when src/pkcs11/ lands.
 */
import type { XksBackend } from '../../src/xks-proxy/backend.js';
import type { XksProxyConfig } from '../../src/xks-proxy/config.js';
import type { TestXksKey } from './xks-proxy.js';

export async function openTestPkcs11Backend(
  _dir: string,
  _keys: TestXksKey[],
): Promise<{
  backend: XksBackend;
  admin: {
    add(k: TestXksKey): Promise<void>;
    state(id: string, s: 'ENABLED' | 'DISABLED'): Promise<void>;
    usage(id: string, u: string[]): Promise<void>;
    remove(id: string): Promise<void>;
  };
  backendConfig: XksProxyConfig['backend'];
}> {
  throw new Error('the pkcs11 backend of startTestXksProxy is not available yet');
}
