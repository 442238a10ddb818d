/**
 * `tessera/pg` (package.json "exports"): PostgresKeyStore (needs the optional peer `pg`).
 * Node only; sets up the backends as the root entry does.
 *
 * @module tessera/pg
 */
import '../backend/node';

export * from '../keys/pg-store';
