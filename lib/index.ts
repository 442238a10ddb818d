/**
 * tessera: an encryption engine for TypeScript (DESIGN section 1).
 */
export { aead, AeadKey, type AadOptions, type AeadKeyOptions } from './aead';
export { backend, useBackend, type BackendName } from './backend/select';
export type { Backend, KeyHandle, SecureMemoryStats } from './backend/types';
export { TesseraError, ErrorCodes, type ErrorCode } from './errors';
export {
  ALGORITHMS,
  type Algorithm,
  type MessageHeader,
  nonceLength,
  headerLength,
  parseHeader,
} from './format';
export { SecureBuffer, secureMemoryStats } from './secure';
export * from './chunked/index';
