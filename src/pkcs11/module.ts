/**
 * PKCS#11 modules, one per library path per process. C_Initialize may run only once per
 * process and module, and every user of a module (custom key stores, the XKS proxy backend,
 * test helpers) must share it, so modules are kept here by path.
 *
 * C_Initialize is called with CKF_OS_LOCKING_OK: without it SoftHSM2 disables its own
 * locking. Note that SoftHSM2 reads SOFTHSM2_CONF and scans its token directory at
 * C_Initialize: tokens created later by another process are not seen (initToken below,
 * run in this process, is).
 */
import { pk, type Handle, type PKCS11 } from './binding.js';
import { MODULE_LOAD_FAILED, Pkcs11Error, TOKEN_NOT_FOUND, toPkcs11Error } from './errors.js';

const modules = new Map<string, PKCS11>();

/** Load and initialise the module at `path` once; later calls return the same instance. */
export function loadModule(path: string): PKCS11 {
  let m = modules.get(path);
  if (m !== undefined) return m;
  const mod = new pk.PKCS11();
  try {
    mod.load(path);
  } catch {
    // The binding's message names the path and dlopen's reason; the code is enough here.
    throw new Pkcs11Error(MODULE_LOAD_FAILED, 'load');
  }
  try {
    mod.C_Initialize({ flags: pk.CKF_OS_LOCKING_OK });
  } catch (e) {
    const err = toPkcs11Error(e, 'C_Initialize');
    if (err.ckr !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw err;
  }
  m = mod;
  modules.set(path, m);
  return m;
}

/** Whether this process has already initialised the module at `path`. */
export function isModuleLoaded(path: string): boolean {
  return modules.has(path);
}

/** Token labels are 32 bytes padded with blanks (SoftHSM2 pads some with NULs). */
export function trimLabel(label: string): string {
  return label.replace(/[\s\0]+$/, '');
}

/** Run a binding call, turning its failure into a Pkcs11Error. */
export function call<T>(method: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toPkcs11Error(e, method);
  }
}

/** The slot holding the initialised token labelled `label` (CKR_TOKEN_NOT_PRESENT if none). */
export function findSlot(mod: PKCS11, label: string): Handle {
  const slots = call('C_GetSlotList', () => mod.C_GetSlotList(true));
  for (const slot of slots) {
    const info = call('C_GetTokenInfo', () => mod.C_GetTokenInfo(slot));
    if ((info.flags & pk.CKF_TOKEN_INITIALIZED) !== 0 && trimLabel(info.label) === label)
      return slot;
  }
  throw new Pkcs11Error(TOKEN_NOT_FOUND, 'C_GetSlotList');
}

/** Token flags (CKF_USER_PIN_LOCKED etc.) of the token labelled `label`. */
export function tokenFlags(mod: PKCS11, label: string): number {
  const slot = findSlot(mod, label);
  return call('C_GetTokenInfo', () => mod.C_GetTokenInfo(slot)).flags;
}

/**
 * Initialise a token in the first free slot and set its user PIN (an operator or test
 * step; keyhold itself never initialises tokens). Returns the slot.
 */
export function initToken(mod: PKCS11, label: string, soPin: string, userPin: string): Handle {
  const slots = call('C_GetSlotList', () => mod.C_GetSlotList(true));
  const free = slots.find(
    (s) =>
      (call('C_GetTokenInfo', () => mod.C_GetTokenInfo(s)).flags & pk.CKF_TOKEN_INITIALIZED) === 0,
  );
  if (free === undefined) throw new Pkcs11Error('CKR_SLOT_ID_INVALID', 'C_InitToken');
  call('C_InitToken', () => mod.C_InitToken(free, soPin, label.padEnd(32, ' ')));
  const session = call('C_OpenSession', () =>
    mod.C_OpenSession(free, pk.CKF_RW_SESSION | pk.CKF_SERIAL_SESSION),
  );
  try {
    call('C_Login', () => mod.C_Login(session, pk.CKU_SO, soPin));
    call('C_InitPIN', () => mod.C_InitPIN(session, userPin));
    call('C_Logout', () => mod.C_Logout(session));
  } finally {
    mod.C_CloseSession(session);
  }
  return free;
}
