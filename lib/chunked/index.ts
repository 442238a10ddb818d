/** Cobblestone chunked encryption (c2sp.org/chunked-encryption). */
export * from './portable';
export { decryptFile, encryptFile, type FileOptions, type FileProgress } from './file';
export { createDecryptStream, createEncryptStream } from './node-stream';
export { type ChunkedReader, openChunked } from './random';
