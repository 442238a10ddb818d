/**
 * The key manager's public API (docs/API.md "Key manager"), re-exported by
 * the root entry and by `tessera/keys` (lib/entry/keys.ts): keyrings and
 * their primitives, KEK providers, key stores (file; PostgreSQL is
 * `tessera/pg`), key wrapping, Fernet, field-level encryption, blind
 * indexes, masking, the audit log and keyring files. Only names of the
 * public API: the option and result types of these calls, never the classes
 * and helpers behind them (EnvelopeFiles, the KDF records, kek.ts's store
 * helpers).
 */
export { keywrap } from './keywrap';
export { fernet, type FernetDecryptOptions } from './fernet';
export {
  kek,
  type KekProvider,
  type MultiKekProvider,
  type PassphraseKekProvider,
  type KdfParams,
  type KdfOptions,
  type ScryptParams,
  type Pbkdf2Params,
  type Argon2idParams,
  type RsaKekProvider,
  type RsaKekOptions,
  type RsaKeyInput,
  type AwsKmsOptions,
  type AzureKeyVaultOptions,
  type GcpKmsOptions,
  type VaultTransitOptions,
  type ResilienceOptions,
  type FromUriOptions,
} from './kek';
export type { AzureCryptographyClient } from './kek-azure';
export type { GcpKmsClient } from './kek-gcp';
export { Keyring, type KeyringOptions, type KeyStatus, type ExportedKey } from './keyring';
export type { KeyringAead } from './keyring-aead';
export {
  type KeyringStreamingAead,
  streamingAead,
  type EncryptStreamOptions,
  type DecryptStreamOptions,
  type StreamSource,
  type WebTransform,
} from './keyring-streaming';
export type { KeyringPrf } from './keyring-prf';
export type { KeyringDatabaseKeys } from './keyring-database';
export { FileKeyStore, type FileKeyStoreOptions } from './file-store';
export type { KeyStore, KeyringDoc, KeyRecord, KeyState, KekParams, PurposeRecord, RotationPolicy } from './store';
export { verifyAuditLog, type AuditEvent, type AuditOp, type AuditVerifyResult } from './audit';
export { encryptFields, decryptFields, encryptFieldsBatch, decryptFieldsBatch, type DecryptFieldsOptions } from './fields';
export { mask } from './mask';
export type { BlindIndexOptions } from './blind';
export {
  inspectEnvelope,
  encryptEnvelopeFile,
  decryptEnvelopeFile,
  type CacheStats,
  type DataKeyCacheOptions,
  type EncryptFileOptions,
  type DecryptFileOptions,
  type EnvelopeInfo,
  type KeyringFileOptions,
} from './envelope-file';
