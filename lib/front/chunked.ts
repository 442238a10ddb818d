/**
 * The front of one Cobblestone message (ChunkedHandle over an engine's
 * EngineChunked, c2sp.org/chunked-encryption): the key, salt and context
 * checks, the run checks (shape from native/chunked tsr_chunked_run_shape,
 * output size, overlap, the 2^38 chunk limit) and the handle's state (one
 * operation at a time; dispose while a run is in flight waits for it).
 */
import { TesseraError } from '../errors';
import type { ChunkedHandle, Engine, EngineChunked, SuiteId } from '../backend/types';
import { bytes, checkLen, integer } from './args';
import { STATUS, statusError } from './status';
import { FrontKey } from './key';

/** Chunks per message (c2sp.org/chunked-encryption: counters below 2^38). */
export const MAX_CHUNKS = 2 ** 38;
const POOL_MAX = 64;

/** A suite id as a number (ToInt32), 1 or 2. */
function suiteOf(v: unknown): SuiteId {
  const id = typeof v === 'number' ? v | 0 : 0;
  if (id !== 1 && id !== 2) throw new TesseraError('ERR_ALGORITHM', 'unknown chunked suite');
  return id;
}

interface Run {
  counter: number;
  input: Uint8Array;
  final: boolean;
  threads: number;
  need: number;
}

export class FrontChunked implements ChunkedHandle {
  readonly #e: Engine;
  readonly #c: EngineChunked;
  readonly #raw: boolean;
  #busy = false;
  #disposed = false;

  /** key: raw bytes or an AeadKey's FrontKey; raw mode (test builds) takes the AEAD key and base nonce. */
  constructor(
    e: Engine,
    suite: unknown,
    key: unknown,
    salt: unknown,
    context: unknown,
    raw: boolean,
    make: (s: SuiteId, k: Uint8Array | ReturnType<FrontKey['engineKey']>, salt: Uint8Array, ctx: Uint8Array) => EngineChunked,
  ) {
    this.#e = e;
    const id = suiteOf(suite);
    const want = id === 2 ? 16 : 32;
    const front = key instanceof FrontKey ? key : undefined;
    if (front && front.engine !== e)
      throw new TesseraError(
        'ERR_ARGUMENT',
        `key must be a Uint8Array or an AeadKey of the ${e.name} backend (got an AeadKey of the ${front.engine.name} backend)`,
      );
    const k = front ? front.engineKey() : bytes(key, 'key');
    const klen = front ? 32 : (k as Uint8Array).length;
    if (klen !== want) throw new TesseraError('ERR_KEY_LENGTH', `${id === 2 ? 'cobblestone-128' : 'cobblestone-256'} takes a ${want}-byte key (got ${klen})`);
    const s = bytes(salt, raw ? 'baseNonce' : 'salt');
    checkLen(s, raw ? 12 : 24, 'ERR_ARGUMENT', raw ? 'baseNonce' : 'salt');
    const c = bytes(context, 'context', true);
    this.#raw = raw;
    this.#c = make(id, k, s, c);
  }

  #live(): EngineChunked {
    if (this.#disposed) throw new TesseraError('ERR_DISPOSED', 'chunked cipher has been disposed');
    if (this.#busy) throw new TesseraError('ERR_ARGUMENT', 'chunked cipher is busy with an async operation');
    return this.#c;
  }

  #derived(): EngineChunked {
    if (this.#raw) throw new TesseraError('ERR_ARGUMENT', 'raw mode has no commitment');
    return this.#live();
  }

  commitment(): Uint8Array {
    return this.#derived().commitment();
  }

  check(commitment: Uint8Array): void {
    const c = this.#derived();
    const b = bytes(commitment, 'commitment');
    checkLen(b, 32, 'ERR_ARGUMENT', 'commitment');
    c.check(b);
  }

  /** A run's arguments; out undefined for the allocating calls. */
  #run(seal: boolean, counter: unknown, input: unknown, out: unknown, final: unknown, threads: unknown, alloc: boolean): Run {
    const c = integer(counter, 'counter', MAX_CHUNKS - 1);
    const i = bytes(input, seal ? 'plaintext' : 'ciphertext');
    const o = alloc ? undefined : bytes(out, 'output');
    const fin = Boolean(final);
    const t = integer(threads, 'threads', POOL_MAX);
    const shape = this.#e.runShape(seal, i.length, fin);
    if (shape.st === STATUS.FORMAT)
      throw new TesseraError('ERR_ARGUMENT', seal ? 'a non-final run must be whole 16 KiB chunks' : 'a non-final run must be whole 16400-byte chunks');
    if (shape.st !== STATUS.OK) throw statusError(shape.st, 'chunked ciphertext');
    const need = shape.outlen;
    if (o) {
      if (o.length < need) throw new TesseraError('ERR_ARGUMENT', `output buffer too small: need ${need} bytes (got ${o.length})`);
      if (need > 0 && i.length > 0 && o.buffer === i.buffer && o.byteOffset < i.byteOffset + i.length && i.byteOffset < o.byteOffset + need)
        throw new TesseraError('ERR_ARGUMENT', 'output buffer overlaps the input');
    }
    if (c + shape.chunks > MAX_CHUNKS) throw statusError(STATUS.LENGTH, seal ? 'encrypt chunks' : 'decrypt chunks');
    return { counter: c, input: i, final: fin, threads: t, need };
  }

  seal(counter: number, plaintext: Uint8Array, out: Uint8Array, final: boolean, threads: number): number {
    const c = this.#live();
    const r = this.#run(true, counter, plaintext, out, final, threads, false);
    return c.seal(r.counter, r.input, out, r.final, r.threads);
  }

  open(counter: number, ciphertext: Uint8Array, out: Uint8Array, final: boolean, threads: number): number {
    const c = this.#live();
    const r = this.#run(false, counter, ciphertext, out, final, threads, false);
    return c.open(r.counter, r.input, out, r.final, r.threads);
  }

  /** One operation at a time: busy until the run settles; a dispose() meanwhile frees after it. */
  #async<T>(job: () => Promise<T>): Promise<T> {
    this.#busy = true;
    let p: Promise<T>;
    try {
      p = job();
    } catch (e) {
      this.#busy = false;
      throw e;
    }
    return p.finally(() => {
      this.#busy = false;
      if (this.#disposed) this.#c.dispose();
    });
  }

  sealAsync(counter: number, plaintext: Uint8Array, out: Uint8Array, final: boolean, threads: number): Promise<number> {
    const c = this.#live();
    const r = this.#run(true, counter, plaintext, out, final, threads, false);
    return this.#async(() => c.sealAsync(r.counter, r.input, out, r.final, r.threads));
  }

  openAsync(counter: number, ciphertext: Uint8Array, out: Uint8Array, final: boolean, threads: number): Promise<number> {
    const c = this.#live();
    const r = this.#run(false, counter, ciphertext, out, final, threads, false);
    return this.#async(() => c.openAsync(r.counter, r.input, out, r.final, r.threads));
  }

  sealAlloc(counter: number, plaintext: Uint8Array, final: boolean, threads: number, lead = 0): Promise<Uint8Array> {
    const c = this.#live();
    const r = this.#run(true, counter, plaintext, undefined, final, threads, true);
    const l = integer(lead, 'lead', 4096);
    return this.#async(() => c.sealAlloc(r.counter, r.input, r.final, r.threads, l));
  }

  openAlloc(counter: number, ciphertext: Uint8Array, final: boolean, threads: number): Promise<Uint8Array> {
    const c = this.#live();
    const r = this.#run(false, counter, ciphertext, undefined, final, threads, true);
    return this.#async(() => c.openAlloc(r.counter, r.input, r.final, r.threads));
  }

  get fileAsync(): ChunkedHandle['fileAsync'] {
    const f = this.#c.fileAsync;
    if (!f) return undefined;
    return (seal, inFd, inOffset, inLength, outFd, outOffset, threads, onProgress) => {
      const c = this.#live();
      const safe = Number.MAX_SAFE_INTEGER;
      const args = [
        integer(inFd, 'input fd', 2 ** 31 - 1),
        integer(inOffset, 'input offset', safe),
        integer(inLength, 'input length', safe),
        integer(outFd, 'output fd', 2 ** 31 - 1),
        integer(outOffset, 'output offset', safe),
        integer(threads, 'threads', POOL_MAX),
      ] as const;
      if (!seal) this.#e.chunkedOpenedLength(args[2]);
      if (onProgress !== undefined && typeof onProgress !== 'function') throw new TesseraError('ERR_ARGUMENT', 'onProgress must be a function');
      return this.#async(() => f.call(c, Boolean(seal), ...args, onProgress));
    };
  }

  cancel(): void {
    this.#c.cancel?.();
  }

  /** Zeroizes now, or when the run in flight settles (it still holds the keys). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (!this.#busy) this.#c.dispose();
  }
}
