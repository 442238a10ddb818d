/**
 * `tessera/sqlcipher` (docs/API.md "SQLCipher databases"): SQLCipher 4
 * databases keyed with raw keys from a keyring, and their key rotation.
 * Needs the optional peer better-sqlite3-multiple-ciphers. Node only.
 *
 * @module tessera/sqlcipher
 */
export {
  openDatabase,
  rotateDatabaseKey,
  type DriverOptions,
  type OpenDatabaseOptions,
  type RotateOptions,
  type RotationProgress,
  type RotationResult,
  type RotationStep,
  type SqliteDatabase,
} from './rotate';
