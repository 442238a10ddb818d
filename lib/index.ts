/**
 * tessera: an encryption engine for TypeScript (DESIGN section 1). The Node
 * entry: both backends (lib/backend/node.ts). Browsers: lib/browser/index.ts.
 */
import './backend/node';
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
export { keywrap } from './keys/keywrap';
export { fernet, type FernetDecryptOptions } from './keys/fernet';
export { kek, type KekProvider } from './keys/kek';
