/**
 * Cobblestone as WHATWG TransformStreams (Web Streams), for fetch bodies,
 * Blob.stream() and any ReadableStream<Uint8Array>, on the pipelined engine
 * of stream-core.ts (c2sp.org/chunked-encryption; docs/API.md "Chunked
 * encryption"). transform() resolves once its bytes are submitted with the
 * batches in flight under `maxInFlight`, so the writable side waits for the
 * pool; the readable side queues up to `maxInFlight` bytes (its
 * highWaterMark, counted in bytes) and while it is full no batch is
 * submitted, so TransformStream's own backpressure reaches the writer.
 *
 *   await file.stream().pipeThrough(new DecryptTransformStream(key, { context })).pipeTo(sink);
 */

import { type ChunkedKey, resolve } from './options';
import { ChunkDecryptor, ChunkEncryptor, inFlightLimit, type StreamOptions, type StreamSink } from './stream-core';

type Engine = ChunkEncryptor | ChunkDecryptor;

/** How long to wait before looking at a full readable side again (the transformer gets no event when it drains). */
const FULL_POLL_MS = 1;

function parts(make: (sink: StreamSink) => Engine, highWaterMark: number): [Transformer<Uint8Array, Uint8Array>, QueuingStrategy<Uint8Array>] {
  let controller: TransformStreamDefaultController<Uint8Array> | undefined;
  const sink: StreamSink = {
    data: (c) => controller!.enqueue(c),
    error: (e) => controller!.error(e),
    ready: () => {
      const d = controller!.desiredSize;
      if (d === null || d > 0) return undefined;
      return new Promise<void>((res) => setTimeout(res, FULL_POLL_MS));
    },
  };
  const engine = make(sink);
  // cancel (the readable side was cancelled) is in the Streams standard but not yet in TypeScript's DOM types.
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel(): void } = {
    start(c) {
      controller = c;
    },
    transform: (chunk) => engine.write(chunk),
    flush: () => engine.end(),
    cancel: () => engine.dispose(),
  };
  return [transformer, { highWaterMark, size: (c) => c.byteLength }];
}

function construct(key: ChunkedKey, opts: StreamOptions, make: typeof ChunkEncryptor | typeof ChunkDecryptor) {
  const r = resolve(key, opts);
  const limit = inFlightLimit(r, opts);
  return parts((sink) => new make(r, opts, sink), limit);
}

/** Encrypts to a Cobblestone ciphertext (salt, commitment, then the chunks) as a Web Streams TransformStream. */
export class EncryptTransformStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(key: ChunkedKey, opts: StreamOptions) {
    const [t, readable] = construct(key, opts, ChunkEncryptor);
    super(t, undefined, readable);
  }
}

/**
 * Decrypts a Cobblestone ciphertext; a batch's plaintext is enqueued only
 * after its chunks verified. Any failure errors both sides of the stream,
 * and they stay errored.
 */
export class DecryptTransformStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(key: ChunkedKey, opts: StreamOptions) {
    const [t, readable] = construct(key, opts, ChunkDecryptor);
    super(t, undefined, readable);
  }
}
