/**
 * `tessera/pkcs11` (package.json "exports"): the PKCS#11 bridge: HSM KEKs (needs the optional peer `pkcs11js`).
 * Node only; sets up the backends as the root entry does.
 *
 * @module tessera/pkcs11
 */
import '../backend/node';

export * from '../hsm/pkcs11';
