/**
 * Cobblestone as Node streams (stream.Transform). Backpressure is Node's own:
 * a transform callback waits for its batch to finish on the pool, and
 * Transform holds the next write while the readable side is full.
 *
 *   await pipeline(fs.createReadStream(src), createEncryptStream(key, { context }), fs.createWriteStream(dst));
 */
import { Transform } from 'node:stream';

import { type ChunkedKey, type ChunkedOptions, resolve } from './options';
import { ChunkDecryptor, ChunkEncryptor } from './stream-core';

type Engine = ChunkEncryptor | ChunkDecryptor;

function transformFor(engine: Engine): Transform {
  return new Transform({
    transform(chunk: Uint8Array, _encoding, callback) {
      engine.push(chunk).then((outs) => {
        for (const o of outs) this.push(o);
        callback();
      }, callback);
    },
    flush(callback) {
      engine.finish().then((outs) => {
        for (const o of outs) this.push(o);
        callback();
      }, callback);
    },
    destroy(err, callback) {
      engine.dispose();
      callback(err);
    },
  });
}

/** A Transform that encrypts what is written into one Cobblestone ciphertext. */
export function createEncryptStream(key: ChunkedKey, opts: ChunkedOptions): Transform {
  return transformFor(new ChunkEncryptor(resolve(key, opts)));
}

/**
 * A Transform that decrypts a Cobblestone ciphertext. Plaintext is pushed
 * only after its chunks verified; a truncated, extended, reordered or
 * tampered stream ends in an 'error' (TesseraError), never in a clean 'end'.
 */
export function createDecryptStream(key: ChunkedKey, opts: ChunkedOptions): Transform {
  return transformFor(new ChunkDecryptor(resolve(key, opts)));
}
