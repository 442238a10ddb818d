/**
 * tessera: an encryption engine for TypeScript (docs/ARCHITECTURE.md). Node
 * entry, both backends (lib/backend/node.ts); browser: lib/browser/index.ts.
 */
import './backend/node';
export { aead, AeadKey, type AadOptions, type AeadKeyOptions } from './aead';
export { backend, useBackend, type BackendName } from './backend/select';
export type { Backend, KeyHandle, OutputMemoryStats, SecureMemoryStats } from './backend/types';
export { TesseraError, ErrorCodes, type ErrorCode } from './errors';
export { ALGORITHMS, type Algorithm, type MessageHeader, nonceLength, headerLength, parseHeader } from './format';
export { SecureBuffer, secureMemoryStats, outputMemory } from './secure';
export { nativeKernels, useNativeKernel, type NativeKernel } from './kernels';
export * from './chunked/index';
export * from './keys/index';
export { PostgresKeyStore, type PostgresKeyStoreOptions } from './keys/pg-store';
export { Pkcs11Provider, type Pkcs11OpenOptions, type Pkcs11KeyRef, type Pkcs11KekProvider } from './hsm/pkcs11';
export { legacy, migrateLegacy, type CbcOptions, type CbcLayout, type LegacyMigrateOptions } from './keys/legacy';
