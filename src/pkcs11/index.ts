/** The PKCS#11 token layer (see token.ts, errors.ts for the CKR_* table). */
export { Token, GCM_IV_BYTES, GCM_TAG_BYTES } from './token.js';
export type { TokenOptions, KeyAttributes, GcmResult, KeyHandle } from './token.js';
export { Pkcs11Error, CKR_TABLE, connectionErrorFor, isFatal, toPkcs11Error } from './errors.js';
export {
  loadModule,
  isModuleLoaded,
  findSlot,
  initToken,
  tokenFlags,
  trimLabel,
} from './module.js';
export type { PoolStats } from './session-pool.js';
