/**
 * The keyring's streaming AEAD primitive, `ring.streamingAead(purpose)`
 * (docs/API.md "Key manager"): files and streams in ONE format, the TSRF keyring
 * file (docs/API.md "Command line" for the envelope; lib/keys/envelope-file.ts
 * for the header and the data-key cache): "TSRF" | version | header length
 * | header {suite, key: "kek", kek: {id, wrapped data key}, purpose,
 * created, metadata?} | Cobblestone ciphertext whose context is that whole
 * prefix (c2sp.org/chunked-encryption; docs/API.md "Chunked encryption").
 *
 * One file API instead of three. A keyring user used to meet three entry
 * points to that one format: ring.encryptFile / decryptFile, the
 * EnvelopeFiles class, and encryptEnvelopeFile / decryptEnvelopeFile (a KEK
 * without a keyring), and no way to stream it. This primitive is the one
 * API: files (atomic output, progress, abort: lib/chunked/file.ts), async
 * iterables (any Node Readable, Web ReadableStream or async generator in,
 * an async generator out), Node Transform streams and Web TransformStream
 * pairs, all writing and reading the same bytes: a file encrypted with
 * encryptFile decrypts with decryptStream and the other way round. The
 * same class serves a bare KEK (`streamingAead(kek, purpose)`, e.g. an RSA
 * public-only KEK that can encrypt but cannot open the keyring): no
 * keyring, no cache, no audit. The old names remain as deprecated
 * one-line delegations. Raw-key Cobblestone (encryptFile(src, dst, key) in
 * lib/chunked) stays what it is: the format without keys or envelope.
 *
 * Data keys: one per file, wrapped by the KEK (so the purpose is a label
 * in the header, not a keyring key), reused within the keyring's data-key
 * cache bounds for files; a stream's length is not known in advance, so
 * each encrypted stream gets a fresh data key (decryption uses the cache).
 * Decrypted output is released only after its chunks verified; a tampered
 * or truncated input ends in an error (ERR_COMMITMENT for the header,
 * ERR_AUTH / ERR_TRUNCATED for chunks), never in a clean end. Failures of
 * decryption say what they were about (keyring-keys.ts failure()); the
 * keyring's monitoring layer (keyring-monitor.ts) audits them.
 */
import { Duplex } from 'node:stream';

import { chunkBytes, ChunkDecryptor, ChunkEncryptor } from '../chunked/stream-core';
import { ENVELOPE_FIXED, envelopeLength } from '../chunked/envelope';
import { resolve, type Suite } from '../chunked/options';
import { TesseraError } from '../errors';
import { type DecryptFileOptions, type EncryptFileOptions, EnvelopeFiles, type EnvelopeInfo } from './envelope-file';
import type { KekProvider } from './kek';
import { failure, type KeySource } from './keyring-keys';

/** Options of a keyring file or stream when encrypting. */
export interface EncryptStreamOptions {
  /** Default 'cobblestone-256'. */
  suite?: Suite;
  /** A small JSON object stored in the header (authenticated, not encrypted). */
  metadata?: Record<string, unknown>;
  /** Worker threads (1 .. 64; default the pool size). */
  threads?: number;
  /** Bytes submitted to the pool and not yet delivered (docs/API.md "Chunked encryption": in-flight limit). */
  maxInFlight?: number;
}

/** Options of a keyring file or stream when decrypting (the suite is in its header). */
export type DecryptStreamOptions = Pick<EncryptStreamOptions, 'threads' | 'maxInFlight'>;

/** Bytes in: a Node Readable, a Web ReadableStream, an async generator, an array of chunks. */
export type StreamSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** A Web Streams transform (for ReadableStream.pipeThrough). */
export interface WebTransform {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** The operations whose failures are audited (keyring-monitor.ts audit()). */
export const STREAMING_AUDITED = ['decryptFile', 'decryptIterable'] as const;

type Files = Pick<KeySource, 'files' | 'checkOpen'>;

/**
 * The keyring's streaming AEAD primitive, `ring.streamingAead(purpose)` (or `streamingAead(kek, purpose)`):
 * files, async iterables, Node and Web streams in one format, the TSRF keyring file, under a fresh or cached data key wrapped by the KEK.
 */
export class KeyringStreamingAead {
  /** The purpose written into new files' headers; undefined for a primitive that only decrypts. */
  readonly purpose: string | undefined;
  readonly #keys: Files;

  constructor(purpose: string | undefined, keys: Files) {
    this.purpose = purpose;
    this.#keys = keys;
  }

  #sealing(): string {
    this.#keys.checkOpen();
    if (this.purpose === undefined) throw new TesseraError('ERR_ARGUMENT', 'this primitive has no purpose to encrypt under: use streamingAead(purpose)');
    return this.purpose;
  }

  /** Encrypts the file at src into a TSRF keyring file at dst (atomic: dst appears complete or not at all). */
  async encryptFile(src: string, dst: string, opts?: EncryptFileOptions): Promise<EnvelopeInfo> {
    return this.#keys.files.encrypt(this.#sealing(), src, dst, opts);
  }

  /** Decrypts a TSRF keyring file (dst appears only once every chunk verified); returns what its header said. */
  async decryptFile(src: string, dst: string, opts?: DecryptFileOptions): Promise<EnvelopeInfo> {
    this.#keys.checkOpen();
    try {
      return await this.#keys.files.decrypt(src, dst, opts);
    } catch (e) {
      throw failure(e, { op: 'decrypt', keyId: null, purpose: null, bytes: 0, detail: 'file' });
    }
  }

  /** The TSRF keyring file of what source yields, as it is encrypted. */
  async *encryptIterable(source: StreamSource, opts: EncryptStreamOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    yield* sealEnvelope(this.#keys.files, this.#sealing(), new Pull(source), opts);
  }

  /** The plaintext of the TSRF keyring file source yields; each part only once it verified. */
  async *decryptIterable(source: StreamSource, opts: DecryptStreamOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    this.#keys.checkOpen();
    try {
      yield* openEnvelope(this.#keys.files, new Pull(source), opts);
    } catch (e) {
      throw failure(e, { op: 'decrypt', keyId: null, purpose: null, bytes: 0, detail: 'stream' });
    }
  }

  /** A Node Transform: bytes written in, the TSRF keyring file out (await pipeline(src, sa.encryptStream(), dst)). */
  encryptStream(opts?: EncryptStreamOptions): Duplex {
    return Duplex.from((source: AsyncIterable<Uint8Array>) => this.encryptIterable(source, opts));
  }

  /** A Node Transform that decrypts a TSRF keyring file; a failure is an 'error', never a clean end. */
  decryptStream(opts?: DecryptStreamOptions): Duplex {
    return Duplex.from((source: AsyncIterable<Uint8Array>) => this.decryptIterable(source, opts));
  }

  /** encryptStream as a Web Streams pair (readable.pipeThrough(sa.encryptWebStream())). */
  encryptWebStream(opts?: EncryptStreamOptions): WebTransform {
    return Duplex.toWeb(this.encryptStream(opts)) as unknown as WebTransform;
  }

  /** decryptStream as a Web Streams pair. */
  decryptWebStream(opts?: DecryptStreamOptions): WebTransform {
    return Duplex.toWeb(this.decryptStream(opts)) as unknown as WebTransform;
  }
}

/** The streaming primitive over a bare KEK (no keyring: no data-key cache, no audit); purpose undefined only decrypts. */
export function streamingAead(kek: KekProvider, purpose?: string): KeyringStreamingAead {
  return new KeyringStreamingAead(purpose, { files: new EnvelopeFiles(kek), checkOpen: () => undefined });
}

/** A source's chunks one at a time; close() ends it early (nothing once it is exhausted). */
class Pull {
  readonly #it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  #done = false;

  constructor(source: StreamSource) {
    const s = source as Partial<AsyncIterable<Uint8Array> & Iterable<Uint8Array>>;
    if (typeof s?.[Symbol.asyncIterator] === 'function') this.#it = s[Symbol.asyncIterator]!();
    else if (typeof s?.[Symbol.iterator] === 'function') this.#it = s[Symbol.iterator]!();
    else throw new TesseraError('ERR_ARGUMENT', 'source must be an iterable or async iterable of Uint8Array (a Node Readable, a Web ReadableStream)');
  }

  /** The next chunk, undefined at the end. */
  async next(): Promise<Uint8Array | undefined> {
    if (this.#done) return undefined;
    const r = await this.#it.next();
    if (!r.done) return chunkBytes(r.value);
    this.#done = true;
    return undefined;
  }

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#it.return?.();
  }
}

/** Pushes `first` (if any) and the rest of src through the engine, then finishes it; the engine is disposed either way. */
async function* drive(engine: ChunkEncryptor | ChunkDecryptor, first: Uint8Array | undefined, src: Pull): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    if (first !== undefined && first.length > 0) yield* await engine.push(first);
    for (let c = await src.next(); c !== undefined; c = await src.next()) yield* await engine.push(c);
    yield* await engine.finish();
  } finally {
    engine.dispose();
  }
}

/** The prefix (with a fresh data key wrapped by the KEK), then the Cobblestone ciphertext of the source. */
async function* sealEnvelope(files: EnvelopeFiles, purpose: string, src: Pull, opts: EncryptStreamOptions): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    const lease = await files.sealLease(purpose, opts, undefined);
    try {
      yield lease.prefix;
      const so = { context: lease.prefix, suite: lease.suite, threads: opts.threads, maxInFlight: opts.maxInFlight };
      yield* drive(new ChunkEncryptor(resolve(lease.key, so), so), undefined, src);
    } finally {
      lease.release();
    }
  } finally {
    await src.close();
  }
}

/** Reads the TSRF prefix off the front of the source, then decrypts the rest with the data key it names. */
async function* openEnvelope(files: EnvelopeFiles, src: Pull, opts: DecryptStreamOptions): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    let head = new Uint8Array(0);
    let need = ENVELOPE_FIXED;
    for (;;) {
      if (head.length >= need) {
        if (need > ENVELOPE_FIXED || (need = envelopeLength(head)) <= head.length) break;
        continue;
      }
      const chunk = await src.next();
      if (chunk === undefined) throw new TesseraError('ERR_FORMAT', need === ENVELOPE_FIXED ? 'not a tessera file (too short)' : 'TSRF envelope cut short');
      const next = new Uint8Array(head.length + chunk.length);
      next.set(head);
      next.set(chunk, head.length);
      head = next;
    }
    const prefix = head.slice(0, need);
    const lease = await files.openLease(prefix);
    try {
      const so = { context: prefix, suite: lease.suite, threads: opts.threads, maxInFlight: opts.maxInFlight };
      yield* drive(new ChunkDecryptor(resolve(lease.key, so), so), head.subarray(need), src);
    } finally {
      lease.release();
    }
  } finally {
    await src.close();
  }
}
