/**
 * Push-based Cobblestone encryption and decryption, the engine behind the
 * Node and Web stream classes (c2sp.org/chunked-encryption, "Implementation
 * notes"). Input arrives in arbitrary pieces; whole batches of chunks go to
 * the worker pool at once, so a thread hop is paid per batch, not per chunk.
 *
 * Decryption releases a batch's plaintext only after every chunk in it
 * verified, holds back the tail until it knows which chunk is final (the
 * short one at the end of the input), and once it fails it keeps failing.
 */
import type { ChunkedHandle } from '../backend/types';
import { TesseraError } from '../errors';
import { describe } from '../format';
import {
  CHUNK_CT,
  CHUNK_SIZE,
  cipher,
  HEADER_SIZE,
  randomSalt,
  type Resolved,
  SALT_SIZE,
  TAG_SIZE,
} from './options';

/** Chunks per pool job in a stream: 64 x 16 KiB = 1 MiB (README, "stream batch"). */
export const STREAM_BATCH = 64;
/** Final runs up to this size run on the calling thread: the hop would cost more. */
const SYNC_MAX = 64 * 1024;

export function chunkBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new TesseraError('ERR_ARGUMENT', `stream chunks must be Uint8Array or Buffer (got ${describe(v)})`);
}

abstract class Engine {
  protected readonly r: Resolved;
  protected c: ChunkedHandle | undefined;
  protected counter = 0;
  #failed: unknown;
  #done = false;

  constructor(r: Resolved) {
    this.r = r;
  }

  /** Consumes data; resolves to the output it made ready (possibly none). */
  async push(data: Uint8Array): Promise<Uint8Array[]> {
    this.#guard();
    try {
      return await this.consume(chunkBytes(data));
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Ends the message; resolves to the remaining output. */
  async finish(): Promise<Uint8Array[]> {
    this.#guard();
    try {
      const out = await this.end();
      this.#done = true;
      this.dispose();
      return out;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Zeroizes the derived key (also done by finish and on failure). */
  dispose(): void {
    this.c?.dispose();
  }

  protected abstract consume(data: Uint8Array): Promise<Uint8Array[]>;
  protected abstract end(): Promise<Uint8Array[]>;

  protected run(seal: boolean, input: Uint8Array, final: boolean): Promise<Uint8Array> | Uint8Array {
    const c = this.c!;
    const out = this.r.backend.allocOutput(seal ? outLenSeal(input.length, final) : outLenOpen(input.length, final, this.r));
    const at = this.counter;
    this.counter += seal ? Math.floor(input.length / CHUNK_SIZE) + (final ? 1 : 0) : Math.ceil(input.length / CHUNK_CT);
    if (final && input.length <= SYNC_MAX) {
      const n = seal ? c.seal(at, input, out, final, this.r.threads) : c.open(at, input, out, final, this.r.threads);
      return out.subarray(0, n);
    }
    const p = seal ? c.sealAsync(at, input, out, final, this.r.threads) : c.openAsync(at, input, out, final, this.r.threads);
    return p.then((n) => out.subarray(0, n));
  }

  #guard(): void {
    if (this.#failed !== undefined) throw this.#failed; // sticky: a failed stream never ends cleanly
    if (this.#done) throw new TesseraError('ERR_ARGUMENT', 'chunked stream already finished');
  }

  #fail(e: unknown): unknown {
    this.#failed = e;
    this.dispose();
    return e;
  }
}

function outLenSeal(n: number, final: boolean): number {
  return n + (Math.floor(n / CHUNK_SIZE) + (final ? 1 : 0)) * TAG_SIZE;
}

function outLenOpen(n: number, final: boolean, r: Resolved): number {
  return final ? r.backend.chunkedOpenedLength(n) : (n / CHUNK_CT) * CHUNK_SIZE;
}

/** Appends pieces into a fixed buffer of whole batches. */
class Accumulator {
  readonly buf: Uint8Array;
  fill = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  /** Copies as much of data as fits; returns how much. */
  take(data: Uint8Array, from: number): number {
    const n = Math.min(this.buf.length - this.fill, data.length - from);
    this.buf.set(data.subarray(from, from + n), this.fill);
    this.fill += n;
    return n;
  }
}

export class ChunkEncryptor extends Engine {
  #header: Uint8Array | undefined;
  readonly #acc = new Accumulator(STREAM_BATCH * CHUNK_SIZE);

  constructor(r: Resolved) {
    super(r);
    const salt = randomSalt();
    this.c = cipher(this.r, salt);
    const h = new Uint8Array(HEADER_SIZE);
    h.set(salt);
    h.set(this.c.commitment(), SALT_SIZE);
    this.#header = h;
  }

  #start(out: Uint8Array[]): void {
    if (this.#header) out.push(this.#header);
    this.#header = undefined;
  }

  protected async consume(data: Uint8Array): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    this.#start(out);
    const acc = this.#acc;
    let at = 0;
    // Large writes seal straight from the caller's buffer, whole batches at a time.
    if (acc.fill === 0 && data.length >= acc.buf.length) {
      at = Math.floor(data.length / acc.buf.length) * acc.buf.length;
      out.push(await this.run(true, data.subarray(0, at), false));
    }
    while (at < data.length) {
      at += acc.take(data, at);
      if (acc.fill === acc.buf.length) {
        out.push(await this.run(true, acc.buf, false));
        acc.fill = 0;
      }
    }
    return out;
  }

  protected async end(): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    this.#start(out);
    out.push(await this.run(true, this.#acc.buf.subarray(0, this.#acc.fill), true));
    return out;
  }
}

export class ChunkDecryptor extends Engine {
  readonly #head = new Uint8Array(HEADER_SIZE);
  #headFill = 0;
  // One batch plus one more chunk: a batch is opened only once a byte past
  // it has arrived, since the last chunk of the input is the final one.
  readonly #acc = new Accumulator((STREAM_BATCH + 1) * CHUNK_CT);

  protected async consume(data: Uint8Array): Promise<Uint8Array[]> {
    let at = 0;
    if (!this.c) {
      at = Math.min(HEADER_SIZE - this.#headFill, data.length);
      this.#head.set(data.subarray(0, at), this.#headFill);
      this.#headFill += at;
      if (this.#headFill < HEADER_SIZE) return [];
      const c = cipher(this.r, this.#head.subarray(0, SALT_SIZE));
      this.c = c;
      c.check(this.#head.subarray(SALT_SIZE)); // before any chunk is decrypted
    }
    const out: Uint8Array[] = [];
    const acc = this.#acc;
    const batch = STREAM_BATCH * CHUNK_CT;
    // Large writes open straight from the caller's buffer, keeping at least
    // one byte back (it may belong to the final chunk).
    if (acc.fill === 0 && data.length - at > batch) {
      const n = Math.floor((data.length - at - 1) / batch) * batch;
      out.push(await this.run(false, data.subarray(at, at + n), false));
      at += n;
    }
    while (at < data.length) {
      at += acc.take(data, at);
      if (acc.fill > batch) {
        out.push(await this.run(false, acc.buf.subarray(0, batch), false));
        acc.buf.copyWithin(0, batch, acc.fill);
        acc.fill -= batch;
      }
    }
    return out;
  }

  protected async end(): Promise<Uint8Array[]> {
    if (!this.c)
      throw new TesseraError('ERR_TRUNCATED', `chunked ciphertext too short: ${this.#headFill} bytes (at least ${HEADER_SIZE + TAG_SIZE})`);
    // What is left must end in a valid final chunk (ERR_TRUNCATED otherwise).
    return [await this.run(false, this.#acc.buf.subarray(0, this.#acc.fill), true)];
  }
}
