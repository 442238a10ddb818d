/**
 * `tessera/keys` (package.json "exports"): the key manager: keyrings, KEK providers, key stores, fields, audit (docs/API.md "Key manager").
 * Node only; sets up the backends as the root entry does.
 *
 * @module tessera/keys
 */
import '../backend/node';

export * from '../keys/index';
