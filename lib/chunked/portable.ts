/**
 * The Cobblestone API that runs anywhere (no Node modules): buffers, Web
 * Streams, options. lib/chunked/index.ts adds the Node-only parts (files,
 * Node streams, random access on file handles); the browser entry
 * (lib/browser/index.ts) exports this. The lengths are chunkedSealedLength
 * and chunkedOpenedLength (into.ts); options.ts's encryptedLength and
 * decryptedLength behind them stay internal.
 */
export { decryptChunked, decryptChunkedAsync, encryptChunked, encryptChunkedAsync } from './buffer';
export { chunkedOpenedLength, chunkedSealedLength, decryptChunkedInto, decryptChunkedIntoAsync, encryptChunkedInto, encryptChunkedIntoAsync } from './into';
export { CHUNK_SIZE, type ChunkedKey, type ChunkedOptions, HEADER_SIZE, type PoolOptions, SUITES, type Suite, workerPool } from './options';
export { type StreamOptions } from './stream-core';
export { DecryptTransformStream, EncryptTransformStream } from './web-stream';
