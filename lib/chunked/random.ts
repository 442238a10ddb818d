/// <reference lib="esnext.disposable" preserve="true" />
/**
 * Random access into a Cobblestone ciphertext (spec "Implementation notes"):
 * plaintext byte i sits in chunk i / 16 KiB, and chunk k starts at
 * ciphertext offset 56 + k * 16400, so a read decrypts only the chunks it
 * touches. Opening checks the commitment and decrypts the final chunk, which
 * authenticates `size` before anything is read.
 */
import type { FileHandle } from 'node:fs/promises';

import type { ChunkedHandle } from '../backend/types';
import { TesseraError } from '../errors';
import { describe } from '../format';
import { ioError } from './io';
import { CHUNK_CT, CHUNK_SIZE, type ChunkedKey, type ChunkedOptions, cipher, decryptedLength, HEADER_SIZE, resolve, SALT_SIZE } from './options';

/** Reads at most this much ciphertext on the calling thread; more goes to the pool. */
const SYNC_MAX = 256 * 1024;

/** Random access to a Cobblestone ciphertext (openChunked): `using`, or close() when done. */
export interface ChunkedReader extends Disposable {
  /** Plaintext length, authenticated by the final chunk. */
  readonly size: number;
  /** Decrypts plaintext bytes [offset, offset + length); only the chunks they touch are read. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Zeroizes the derived key; the source (a FileHandle stays yours to close) is not touched. */
  close(): void;
}

interface Source {
  length: number;
  readAt(pos: number, len: number): Promise<Uint8Array>;
}

function isFileHandle(v: unknown): v is FileHandle {
  return typeof v === 'object' && v !== null && typeof (v as FileHandle).read === 'function' && typeof (v as FileHandle).stat === 'function';
}

async function sourceOf(source: Uint8Array | FileHandle): Promise<Source> {
  if (source instanceof Uint8Array) return { length: source.length, readAt: async (pos, len) => source.subarray(pos, pos + len) };
  if (!isFileHandle(source)) throw new TesseraError('ERR_ARGUMENT', `source must be a Uint8Array or a fs.promises FileHandle (got ${describe(source)})`);
  const st = await source.stat().catch((e: unknown) => {
    throw ioError(e, 'stat');
  });
  return {
    length: st.size,
    async readAt(pos, len) {
      const buf = Buffer.allocUnsafeSlow(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await source.read(buf, got, len - got, pos + got).catch((e: unknown) => {
          throw ioError(e, 'read');
        });
        if (bytesRead === 0) throw new TesseraError('ERR_TRUNCATED', 'chunked file shrank while it was being read');
        got += bytesRead;
      }
      return buf;
    },
  };
}

/**
 * Opens a Cobblestone ciphertext (a buffer, or a FileHandle that stays yours to close) for random access.
 * Checks the key commitment and the final chunk before it resolves (ERR_COMMITMENT, ERR_TRUNCATED, ERR_AUTH), so `size` is authenticated.
 */
export async function openChunked(source: Uint8Array | FileHandle, key: ChunkedKey, opts: ChunkedOptions): Promise<ChunkedReader> {
  const r = resolve(key, opts);
  const src = await sourceOf(source);
  const size = decryptedLength(src.length, r.backend);
  const head = await src.readAt(0, HEADER_SIZE);
  const c = cipher(r, head.subarray(0, SALT_SIZE));
  try {
    c.check(head.subarray(SALT_SIZE, HEADER_SIZE));
    // Authenticate the length: the final chunk must open at its index.
    const last = Math.floor(size / CHUNK_SIZE);
    const at = HEADER_SIZE + last * CHUNK_CT;
    const fin = await src.readAt(at, src.length - at);
    c.open(last, fin, r.backend.allocOutput(size - last * CHUNK_SIZE), true, 1);
  } catch (e) {
    c.dispose();
    throw e;
  }
  return new Reader(c, src, size, r.threads, r.backend.allocOutput);
}

class Reader implements ChunkedReader {
  readonly size: number;
  #c: ChunkedHandle | undefined;
  readonly #src: Source;
  readonly #threads: number;
  readonly #alloc: (n: number) => Uint8Array;
  #queue: Promise<unknown> = Promise.resolve(); // one native operation at a time per handle

  constructor(c: ChunkedHandle, src: Source, size: number, threads: number, alloc: (n: number) => Uint8Array) {
    this.#c = c;
    this.#src = src;
    this.size = size;
    this.#threads = threads;
    this.#alloc = alloc;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    const ok = (v: number) => Number.isSafeInteger(v) && v >= 0;
    if (!ok(offset) || !ok(length) || offset + length > this.size)
      return Promise.reject(
        new TesseraError(
          'ERR_ARGUMENT',
          `read(${ok(offset) ? offset : describe(offset)}, ${ok(length) ? length : describe(length)}) is outside the ${this.size}-byte plaintext`,
        ),
      );
    const p = this.#queue.then(() => this.#read(offset, length));
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    const c = this.#c;
    if (!c) throw new TesseraError('ERR_DISPOSED', 'chunked reader has been closed');
    if (length === 0) return new Uint8Array(0);
    const first = Math.floor(offset / CHUNK_SIZE);
    const last = Math.floor((offset + length - 1) / CHUNK_SIZE);
    const final = last === Math.floor(this.size / CHUNK_SIZE);
    const from = HEADER_SIZE + first * CHUNK_CT;
    const to = final ? this.#src.length : HEADER_SIZE + (last + 1) * CHUNK_CT;
    const ct = await this.#src.readAt(from, to - from);
    const out = this.#alloc((last - first + 1) * CHUNK_SIZE);
    if (ct.length <= SYNC_MAX) c.open(first, ct, out, final, 1);
    else await c.openAsync(first, ct, out, final, this.#threads);
    const skip = offset - first * CHUNK_SIZE;
    return out.subarray(skip, skip + length);
  }

  close(): void {
    this.#c?.dispose();
    this.#c = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
