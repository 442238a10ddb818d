/**
 * tessera: an encryption engine for TypeScript (docs/ARCHITECTURE.md). Node
 * entry, both backends (lib/backend/node.ts); browser: lib/browser/index.ts.
 */
import './backend/node';
export { aead, AeadKey, type AadOptions, type AeadKeyOptions } from './aead';
export { backend, useBackend, type BackendName } from './backend/select';
export type { Backend, KeyHandle, OutputMemoryStats, SecureMemoryStats } from './backend/types';
export { TesseraError, ErrorCodes, type ErrorCode } from './errors';
export {
  ALGORITHMS,
  type Algorithm,
  type MessageHeader,
  nonceLength,
  headerLength,
  parseHeader,
} from './format';
export { SecureBuffer, secureMemoryStats, outputMemory } from './secure';
export { nativeKernels, useNativeKernel, type NativeKernel } from './kernels';
export * from './chunked/index';
export { keywrap } from './keys/keywrap';
export { fernet, type FernetDecryptOptions } from './keys/fernet';
export { kek, type KekProvider, type MultiKekProvider, type PassphraseKekProvider, type KdfParams, type ScryptParams, type RsaKekProvider, type RsaKekOptions, type RsaKeyInput } from './keys/kek';
export { Keyring, type KeyringOptions, type KeyStatus, type ExportedKey } from './keys/keyring';
export type { KeyringAead } from './keys/keyring-aead';
export { type KeyringStreamingAead, streamingAead, type EncryptStreamOptions, type DecryptStreamOptions, type StreamSource, type WebTransform } from './keys/keyring-streaming';
export type { KeyringPrf } from './keys/keyring-prf';
export { FileKeyStore, type FileKeyStoreOptions } from './keys/file-store';
export { PostgresKeyStore, type PostgresKeyStoreOptions } from './keys/pg-store';
export { Pkcs11Provider, type Pkcs11OpenOptions, type Pkcs11KeyRef, type Pkcs11KekProvider } from './hsm/pkcs11';
export type { KeyStore, KeyringDoc, KeyRecord, KeyState, KekParams, PurposeRecord, RotationPolicy } from './keys/store';
export { legacy, migrateLegacy, type CbcOptions, type CbcLayout, type LegacyMigrateOptions } from './keys/legacy';
export { verifyAuditLog, type AuditEvent, type AuditOp, type AuditVerifyResult } from './keys/audit';
export { encryptFields, decryptFields, encryptFieldsBatch, decryptFieldsBatch, type DecryptFieldsOptions } from './keys/fields';
export { mask } from './keys/mask';
export type { BlindIndexOptions } from './keys/blind';
export {
  EnvelopeFiles, inspectEnvelope, encryptEnvelopeFile, decryptEnvelopeFile,
  type CacheStats, type DataKeyCacheOptions, type EncryptFileOptions, type DecryptFileOptions, type EnvelopeInfo, type KeyringFileOptions,
} from './keys/envelope-file';
