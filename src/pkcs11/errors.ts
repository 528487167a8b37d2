/**
 * PKCS#11 failures as one typed error carrying the CKR_* name, and the one table that says
 * what a CKR_* code means to keyhold: whether the session that saw it is dead (drop it), and
 * which custom key store ConnectionErrorCode it becomes when it happens while connecting.
 */
import { pk } from './binding.js';
import type { ConnectionErrorCode } from '../keystores/types.js';

/** Numeric CKR_* value → name, from the binding's own constants. */
const NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(pk)) {
  if (name.startsWith('CKR_') && typeof value === 'number' && !NAMES.has(value))
    NAMES.set(value, name);
}

/** keyhold's pseudo-code for "the module could not be loaded or initialised". */
export const MODULE_LOAD_FAILED = 'CKR_LIBRARY_LOAD_FAILED';
/** keyhold's pseudo-code for "no token with the configured label". */
export const TOKEN_NOT_FOUND = 'CKR_TOKEN_NOT_PRESENT';

interface CkrMeaning {
  /** The session is unusable afterwards: close it and do not return it to the pool. */
  fatal: boolean;
  /** What a connect attempt reports when it fails with this code. */
  connection: ConnectionErrorCode;
  /** One line for logs and docs. */
  meaning: string;
}

/**
 * The CKR_* → meaning table (docs/custom-key-stores.md repeats it). Codes not listed are not
 * fatal to the session and make a connect attempt INTERNAL_ERROR.
 */
export const CKR_TABLE: Readonly<Record<string, CkrMeaning>> = {
  CKR_PIN_INCORRECT: {
    fatal: false,
    connection: 'INVALID_CREDENTIALS',
    meaning: 'wrong kmsuser PIN (KeyStorePassword)',
  },
  CKR_PIN_INVALID: {
    fatal: false,
    connection: 'INVALID_CREDENTIALS',
    meaning: 'PIN has characters the token refuses',
  },
  CKR_PIN_LEN_RANGE: {
    fatal: false,
    connection: 'INVALID_CREDENTIALS',
    meaning: 'PIN length outside the token range',
  },
  CKR_PIN_EXPIRED: { fatal: false, connection: 'INVALID_CREDENTIALS', meaning: 'PIN expired' },
  CKR_PIN_LOCKED: {
    fatal: false,
    connection: 'USER_LOCKED_OUT',
    meaning: 'user PIN locked after failed logins',
  },
  CKR_USER_PIN_NOT_INITIALIZED: {
    fatal: false,
    connection: 'USER_NOT_FOUND',
    meaning: 'the token has no user (kmsuser) PIN',
  },
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN: {
    fatal: false,
    connection: 'USER_LOGGED_IN',
    meaning: 'another user (SO) is logged in to the token',
  },
  CKR_USER_ALREADY_LOGGED_IN: {
    fatal: false,
    connection: 'USER_LOGGED_IN',
    meaning: 'kmsuser is already logged in to the token by another user of it',
  },
  CKR_USER_TOO_MANY_TYPES: {
    fatal: false,
    connection: 'USER_LOGGED_IN',
    meaning: 'too many users logged in',
  },
  CKR_TOKEN_NOT_PRESENT: {
    fatal: true,
    connection: 'CLUSTER_NOT_FOUND',
    meaning: 'no token with the configured label',
  },
  CKR_TOKEN_NOT_RECOGNIZED: {
    fatal: true,
    connection: 'CLUSTER_NOT_FOUND',
    meaning: 'token not recognized',
  },
  CKR_SLOT_ID_INVALID: { fatal: true, connection: 'CLUSTER_NOT_FOUND', meaning: 'slot vanished' },
  CKR_DEVICE_REMOVED: {
    fatal: true,
    connection: 'INSUFFICIENT_CLOUDHSM_HSMS',
    meaning: 'token removed',
  },
  CKR_DEVICE_ERROR: {
    fatal: true,
    connection: 'INSUFFICIENT_CLOUDHSM_HSMS',
    meaning: 'device error',
  },
  CKR_DEVICE_MEMORY: { fatal: false, connection: 'INTERNAL_ERROR', meaning: 'token out of memory' },
  CKR_SESSION_HANDLE_INVALID: {
    fatal: true,
    connection: 'INTERNAL_ERROR',
    meaning: 'session no longer valid',
  },
  CKR_SESSION_CLOSED: { fatal: true, connection: 'INTERNAL_ERROR', meaning: 'session closed' },
  CKR_SESSION_COUNT: {
    fatal: false,
    connection: 'INTERNAL_ERROR',
    meaning: 'token refuses more sessions',
  },
  CKR_CRYPTOKI_NOT_INITIALIZED: {
    fatal: true,
    connection: 'INTERNAL_ERROR',
    meaning: 'module not initialised',
  },
  CKR_LIBRARY_LOAD_FAILED: {
    fatal: true,
    connection: 'INTERNAL_ERROR',
    meaning: 'PKCS#11 module could not be loaded',
  },
  CKR_GENERAL_ERROR: {
    fatal: false,
    connection: 'INTERNAL_ERROR',
    meaning: 'general error (SoftHSM: also a bad GCM tag)',
  },
  CKR_FUNCTION_FAILED: { fatal: false, connection: 'INTERNAL_ERROR', meaning: 'function failed' },
  CKR_USER_NOT_LOGGED_IN: {
    fatal: false,
    connection: 'INVALID_CREDENTIALS',
    meaning: 'login state lost',
  },
};

/** Whether a session that returned this code must be dropped. */
export function isFatal(ckr: string): boolean {
  return CKR_TABLE[ckr]?.fatal === true;
}

/** The ConnectionErrorCode a failed connect reports for this code. */
export function connectionErrorFor(ckr: string): ConnectionErrorCode {
  return CKR_TABLE[ckr]?.connection ?? 'INTERNAL_ERROR';
}

/** A PKCS#11 failure: `ckr` is the CKR_* name, `method` the C_* function. No secrets inside. */
export class Pkcs11Error extends Error {
  constructor(
    readonly ckr: string,
    readonly method: string,
    readonly code?: number,
  ) {
    super(`${method}: ${ckr}`);
    this.name = 'Pkcs11Error';
  }
}

/** Turn whatever the binding threw into a Pkcs11Error (never keeps the binding's message). */
export function toPkcs11Error(e: unknown, method: string): Pkcs11Error {
  if (e instanceof Pkcs11Error) return e;
  const err = e as { code?: unknown; method?: unknown; message?: unknown };
  if (typeof err?.code === 'number') {
    const name = NAMES.get(err.code) ?? `CKR_0x${err.code.toString(16)}`;
    return new Pkcs11Error(
      name,
      typeof err.method === 'string' && err.method !== '' ? err.method : method,
      err.code,
    );
  }
  return new Pkcs11Error('CKR_FUNCTION_FAILED', method);
}
