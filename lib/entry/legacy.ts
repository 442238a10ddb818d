/**
 * `tessera/legacy` (package.json "exports"): decrypting legacy AES-CBC / Fernet data and moving it into a keyring.
 * Node only; sets up the backends as the root entry does.
 *
 * @module tessera/legacy
 */
import '../backend/node';

export * from '../keys/legacy';
