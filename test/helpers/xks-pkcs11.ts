/**
 * The PKCS#11 (SoftHSM2) backend for startTestXksProxy: a fresh token in the process's test
 * SoftHSM2 config (test/helpers/softhsm.ts), AES-256 keys generated in it with CKA_LABEL =
 * external key id. Usages other than ENCRYPT+DECRYPT are set with C_SetAttributeValue on
 * CKA_ENCRYPT / CKA_DECRYPT; DISABLED is the backend's disabled-ids list.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pk } from '../../src/pkcs11/binding.js';
import { findSlot, loadModule } from '../../src/pkcs11/index.js';
import type { XksKeyStatus, XksKeyUsage } from '../../src/xks-proxy/backend.js';
import type { XksProxyConfig } from '../../src/xks-proxy/config.js';
import { Pkcs11Backend } from '../../src/xks-proxy/pkcs11-backend.js';
import { createSoftHsmToken } from './softhsm.js';
import type { TestXksKey } from './xks-proxy.js';

export async function openTestPkcs11Backend(
  dir: string,
  keys: TestXksKey[],
): Promise<{
  backend: Pkcs11Backend;
  admin: {
    add(k: TestXksKey): Promise<void>;
    state(id: string, s: XksKeyStatus): Promise<void>;
    usage(id: string, u: XksKeyUsage[]): Promise<void>;
    remove(id: string): Promise<void>;
  };
  backendConfig: XksProxyConfig['backend'];
}> {
  const t = createSoftHsmToken();
  const backendConfig = {
    type: 'pkcs11' as const,
    module: t.modulePath,
    tokenLabel: t.label,
    pin: t.userPin,
    invocationCounterFile: join(dir, 'gcm-invocations.json'),
  };
  const backend = await Pkcs11Backend.open(backendConfig);
  const disabled = new Set<string>();

  const setUsage = async (id: string, usage: XksKeyUsage[]) => {
    const h = await backend.token.findKey(id);
    if (h === undefined) throw new Error(`no key ${id}`);
    // A separate session of the same (logged-in) application sets the usage flags.
    const mod = loadModule(t.modulePath);
    const s = mod.C_OpenSession(findSlot(mod, t.label), pk.CKF_RW_SESSION | pk.CKF_SERIAL_SESSION);
    try {
      mod.C_SetAttributeValue(s, h, [
        { type: pk.CKA_ENCRYPT, value: usage.includes('ENCRYPT') },
        { type: pk.CKA_DECRYPT, value: usage.includes('DECRYPT') },
      ]);
    } finally {
      mod.C_CloseSession(s);
    }
  };
  const admin = {
    async add(k: TestXksKey) {
      await backend.token.generateAesKey(k.id, randomBytes(8));
      if (k.usage !== undefined) await setUsage(k.id, k.usage);
      if (k.state === 'DISABLED') disabled.add(k.id);
      backend.setDisabledKeys([...disabled]);
    },
    async state(id: string, s: XksKeyStatus) {
      if (s === 'DISABLED') disabled.add(id);
      else disabled.delete(id);
      backend.setDisabledKeys([...disabled]);
    },
    usage: setUsage,
    async remove(id: string) {
      const h = await backend.token.findKey(id);
      if (h !== undefined) await backend.token.destroy(h);
    },
  };
  for (const k of keys) await admin.add(k);
  const close = backend.close.bind(backend);
  backend.close = async () => {
    await close();
    t.cleanup();
  };
  return { backend, admin, backendConfig };
}
