/**
 * Cobblestone as WHATWG TransformStreams (Web Streams), for fetch bodies,
 * Blob.stream() and any ReadableStream<Uint8Array>.
 *
 *   await file.stream().pipeThrough(new DecryptTransformStream(key, { context })).pipeTo(sink);
 */

import { type ChunkedKey, type ChunkedOptions, resolve } from './options';
import { ChunkDecryptor, ChunkEncryptor } from './stream-core';

type Engine = ChunkEncryptor | ChunkDecryptor;

function transformer(engine: Engine): Transformer<Uint8Array, Uint8Array> {
  return {
    async transform(chunk, controller) {
      for (const o of await engine.push(chunk)) controller.enqueue(o);
    },
    async flush(controller) {
      for (const o of await engine.finish()) controller.enqueue(o);
    },
  };
}

export class EncryptTransformStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(key: ChunkedKey, opts: ChunkedOptions) {
    super(transformer(new ChunkEncryptor(resolve(key, opts))));
  }
}

/**
 * Decrypts a Cobblestone ciphertext; a chunk's plaintext is enqueued only
 * after its tag verified. Any failure errors both sides of the stream, and
 * they stay errored.
 */
export class DecryptTransformStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(key: ChunkedKey, opts: ChunkedOptions) {
    super(transformer(new ChunkDecryptor(resolve(key, opts))));
  }
}
