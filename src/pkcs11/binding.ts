/**
 * The npm `pkcs11js` binding, loaded through require: it is CommonJS with a spread
 * `module.exports`, which ESM named imports cannot see.
 */
import { createRequire } from 'node:module';

export type Pkcs11Binding = typeof import('pkcs11js');
export type PKCS11 = import('pkcs11js').PKCS11;
export type Handle = import('pkcs11js').Handle;
export type Template = import('pkcs11js').Template;

export const pk = createRequire(import.meta.url)('pkcs11js') as Pkcs11Binding;
