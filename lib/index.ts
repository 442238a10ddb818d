/**
 * The `tessera` root entry for Node (package.json "exports" "."; the
 * `browser` condition gives bundlers `tessera/browser` instead): the public
 * API of docs/API.md. The AEAD (`aead`, `AeadKey`), errors, message format
 * v1, secure and output memory, and backend and kernel selection are
 * documented here; the names of `tessera/chunked` and `tessera/keys`, and
 * `PostgresKeyStore`, the PKCS#11 bridge and the legacy decryption of
 * `tessera/pg`, `tessera/pkcs11` and `tessera/legacy`, are re-exported.
 *
 * @module tessera
 */
// Both backends (lib/backend/node.ts); browsers: lib/browser/index.ts. Only
// the public API: the engine interface (lib/backend/types.ts) and the helpers
// that the keyring, the CLI and the tests share stay in their modules, and
// test/package.test.ts lists the names this entry exports.
import './backend/node';
export { aead, AeadKey, type AadOptions, type AeadKeyOptions } from './aead';
export { backend, useBackend, type BackendName } from './backend/select';
export type { OutputMemoryStats, SecureMemoryStats } from './backend/types';
export { TesseraError, ErrorCodes, type ErrorCode } from './errors';
export { ALGORITHMS, type Algorithm, type MessageHeader, nonceLength, headerLength, parseHeader } from './format';
export { SecureBuffer, secureMemoryStats, outputMemory } from './secure';
export { nativeKernels, useNativeKernel, type NativeKernel } from './kernels';
export * from './chunked/index';
export * from './keys/index';
export { PostgresKeyStore, type PostgresKeyStoreOptions } from './keys/pg-store';
export { Pkcs11Provider, type Pkcs11OpenOptions, type Pkcs11KeyRef, type Pkcs11KekProvider } from './hsm/pkcs11';
export { legacy, migrateLegacy, type CbcOptions, type CbcLayout, type LegacyMigrateOptions } from './keys/legacy';
