/** Cobblestone chunked encryption (c2sp.org/chunked-encryption; DESIGN section 4). */
export { decryptChunked, decryptChunkedAsync, encryptChunked, encryptChunkedAsync } from './buffer';
export { decryptFile, encryptFile, type FileOptions, type FileProgress } from './file';
export { createDecryptStream, createEncryptStream } from './node-stream';
export {
  CHUNK_SIZE,
  type ChunkedKey,
  type ChunkedOptions,
  decryptedLength,
  encryptedLength,
  HEADER_SIZE,
  type PoolOptions,
  SUITES,
  type Suite,
  workerPool,
} from './options';
export { type ChunkedReader, openChunked } from './random';
export { DecryptTransformStream, EncryptTransformStream } from './web-stream';
