/**
 * Cobblestone as Node streams (stream.Transform), on the pipelined engine of
 * stream-core.ts (c2sp.org/chunked-encryption; docs/API.md "Chunked encryption").
 * Backpressure both ways: the write callback waits while the batches in
 * flight are at `maxInFlight` (a producer faster than the pool waits there),
 * and no batch is submitted while the readable side holds its
 * highWaterMark or more (Transform also holds the write callback then).
 * Batches finished on the pool are pushed in order as they complete.
 *
 *   await pipeline(fs.createReadStream(src), createEncryptStream(key, { context }), fs.createWriteStream(dst));
 */
import { Transform, type TransformCallback } from 'node:stream';

import { type ChunkedKey, resolve } from './options';
import { ChunkDecryptor, ChunkEncryptor, type StreamOptions, type StreamSink } from './stream-core';

type Engine = ChunkEncryptor | ChunkDecryptor;

class ChunkTransform extends Transform {
  readonly #engine: Engine;
  #readWaiters: (() => void)[] = [];

  constructor(make: (sink: StreamSink) => Engine) {
    super();
    const sink: StreamSink = {
      data: (c) => void this.push(c),
      error: (e) => this.destroy(e as Error),
      ready: () => {
        if (this.destroyed || this.readableLength < this.readableHighWaterMark) return undefined;
        return new Promise<void>((res) => this.#readWaiters.push(res));
      },
    };
    this.#engine = make(sink);
  }

  #wake(): void {
    const w = this.#readWaiters;
    this.#readWaiters = [];
    for (const f of w) f();
  }

  override _read(size: number): void {
    super._read(size);
    this.#wake();
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#engine.write(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#engine.end().then(() => callback(), callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#engine.dispose();
    this.#wake();
    callback(err);
  }
}

/** A Transform that encrypts what is written into one Cobblestone ciphertext. */
export function createEncryptStream(key: ChunkedKey, opts: StreamOptions): Transform {
  const r = resolve(key, opts);
  return new ChunkTransform((sink) => new ChunkEncryptor(r, opts, sink));
}

/**
 * A Transform that decrypts a Cobblestone ciphertext. Plaintext is pushed
 * only after its batch's chunks verified; a truncated, extended, reordered or
 * tampered stream ends in an 'error' (TesseraError), never in a clean 'end'.
 */
export function createDecryptStream(key: ChunkedKey, opts: StreamOptions): Transform {
  const r = resolve(key, opts);
  return new ChunkTransform((sink) => new ChunkDecryptor(r, opts, sink));
}
