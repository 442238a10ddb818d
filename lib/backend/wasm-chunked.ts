/**
 * Cobblestone on the WASM backend (c2sp.org/chunked-encryption): one
 * message's derived key, base nonce and commitment in the
 * module's key region (native/wasm/tsr_wasm.c). Runs are checked as
 * native/node/chunked.cc checks them, then go through the module in pieces
 * of 256 chunks (so linear memory stays small whatever the message size) or,
 * async and large, across the worker pool in 32-chunk tasks (wasm-pool.ts),
 * the batch design of the native pool.
 */
import { TesseraError } from '../errors';
import { bytes, checkLen, integer } from './wasm-args';
import { CHUNK_CT, CHUNK_PT, chunkedError, MAX_CHUNKS, STATUS, statusError } from './wasm-engine';
import { TASK_CHUNKS } from './wasm-pool';
import { subtleRun } from './wasm-subtle';
import type { WasmBackend } from './wasm';
import { WasmKey } from './wasm-key';
import type { ChunkedHandle, SuiteId } from './types';

const PIECE_CHUNKS = 256;

interface Run {
  seal: boolean;
  counter: number;
  input: Uint8Array;
  out: Uint8Array;
  final: boolean;
  threads: number;
  chunks: number;
  need: number;
}

export class WasmChunked implements ChunkedHandle {
  readonly #b: WasmBackend;
  readonly #suite: SuiteId;
  readonly #raw: boolean;
  readonly #token = {};
  #h: number;
  #busy = false;
  /** dispose() was called: every call is ERR_DISPOSED from then on, even while an async run finishes. */
  #disposed = false;

  constructor(b: WasmBackend, suite: SuiteId, key: Uint8Array | WasmKey | unknown, salt: Uint8Array, context: Uint8Array, raw: boolean) {
    this.#b = b;
    // Checked in native/node/chunked.cc's order: suite (napi int32), key, salt, context.
    const id = typeof suite === 'number' ? suite | 0 : 0;
    if (id !== 1 && id !== 2) throw new TesseraError('ERR_ALGORITHM', 'unknown chunked suite');
    this.#suite = id;
    this.#raw = raw;
    const want = id === 2 ? 16 : 32;
    // An AeadKey's bytes are used where they are, in the key region (ERR_DISPOSED if it was disposed).
    const keyAt = key instanceof WasmKey ? key.keyAddress() : 0;
    const k = key instanceof WasmKey ? undefined : bytes(key, 'key');
    const klen = k ? k.length : 32;
    if (klen !== want) throw new TesseraError('ERR_KEY_LENGTH', `${id === 2 ? 'cobblestone-128' : 'cobblestone-256'} takes a ${want}-byte key (got ${klen})`);
    const s = bytes(salt, raw ? 'baseNonce' : 'salt');
    checkLen(s, raw ? 12 : 24, 'ERR_ARGUMENT', raw ? 'baseNonce' : 'salt');
    const c = bytes(context, 'context', true);
    const e = b.engine;
    const p = e.scratch(32 + 24 + c.length);
    const kp = p,
      sp = p + 32,
      cp = p + 56;
    const u8 = e.u8;
    if (k) u8.set(k, kp);
    u8.set(s, sp);
    u8.set(c, cp);
    const h = e.x.tsr_wasm_chunked_new(id, k ? kp : keyAt, sp, cp, c.length, raw ? 1 : 0);
    e.u8.fill(0, kp, kp + 32);
    if (h === 0) throw statusError(e.x.tsr_wasm_status(), 'chunked key derivation');
    this.#h = h;
    b.track(this, () => e.x.tsr_wasm_chunked_free(h), this.#token);
  }

  #live(): number {
    if (this.#disposed) throw new TesseraError('ERR_DISPOSED', 'chunked cipher has been disposed');
    if (this.#busy) throw new TesseraError('ERR_ARGUMENT', 'chunked cipher is busy with an async operation');
    return this.#h;
  }

  // Raw mode is refused before the state is looked at, as native Derived().
  commitment(): Uint8Array {
    if (this.#raw) throw new TesseraError('ERR_ARGUMENT', 'raw mode has no commitment');
    const h = this.#live();
    const p = this.#b.engine.x.tsr_wasm_chunked_commitment(h);
    return this.#b.engine.u8.slice(p, p + 32);
  }

  check(commitment: Uint8Array): void {
    if (this.#raw) throw new TesseraError('ERR_ARGUMENT', 'raw mode has no commitment');
    const h = this.#live();
    const c = bytes(commitment, 'commitment');
    checkLen(c, 32, 'ERR_ARGUMENT', 'commitment');
    const e = this.#b.engine;
    const p = e.scratch(32);
    e.u8.set(c, p);
    const st = e.x.tsr_wasm_chunked_check(h, p);
    if (st !== 0) throw statusError(st, 'chunked ciphertext');
  }

  // The checks of native/node/chunked.cc ParseRun, in its order.
  #parse(seal: boolean, counter: unknown, input: unknown, out: unknown, final: unknown, threads: unknown): Run {
    const c = integer(counter, 'counter', MAX_CHUNKS - 1);
    const i = bytes(input, seal ? 'plaintext' : 'ciphertext');
    const o = bytes(out, 'output');
    const fin = Boolean(final);
    const t = integer(threads, 'threads', 64);
    const shape = this.#b.engine.runShape(seal, i.length, fin);
    if (shape.st === STATUS.FORMAT)
      throw new TesseraError('ERR_ARGUMENT', seal ? 'a non-final run must be whole 16 KiB chunks' : 'a non-final run must be whole 16400-byte chunks');
    if (shape.st !== STATUS.OK) throw statusError(shape.st, 'chunked ciphertext');
    const { chunks, outlen: need } = shape;
    if (o.length < need) throw new TesseraError('ERR_ARGUMENT', `output buffer too small: need ${need} bytes (got ${o.length})`);
    if (need > 0 && i.length > 0 && o.buffer === i.buffer && o.byteOffset < i.byteOffset + i.length && i.byteOffset < o.byteOffset + need)
      throw new TesseraError('ERR_ARGUMENT', 'output buffer overlaps the input');
    return { seal, counter: c, input: i, out: o, final: fin, threads: t, chunks, need };
  }

  /** Chunk counters of the run stay below 2^38 (checked before any chunk, as the native pool does). */
  #checkCounters(r: Run): void {
    if (r.counter + r.chunks > MAX_CHUNKS) throw chunkedError(STATUS.LENGTH, r.seal);
  }

  /** The run through this thread's module, 256 chunks per call. */
  #runHere(r: Run): number {
    this.#checkCounters(r);
    const e = this.#b.engine;
    const unit = r.seal ? CHUNK_PT : CHUNK_CT;
    const piece = PIECE_CHUNKS * unit;
    let ip = 0,
      op = 0,
      counter = r.counter;
    try {
      for (;;) {
        const rest = r.input.length - ip;
        const last = rest <= piece;
        const take = last ? rest : piece;
        const fin = last && r.final;
        // Before the layout below: runShape uses the scratch area too.
        const sealLen = r.seal ? e.runShape(true, take, fin).outlen : 0;
        const room = r.seal ? sealLen : take;
        const base = e.scratch(4 + take + room);
        const lp = base,
          inp = base + 4,
          outp = inp + take;
        e.u8.set(r.input.subarray(ip, ip + take), inp);
        const hi = Math.floor(counter / 2 ** 32),
          lo = counter % 2 ** 32;
        const st = r.seal
          ? e.x.tsr_wasm_chunked_seal(this.#h, lo, hi, inp, take, fin ? 1 : 0, outp)
          : e.x.tsr_wasm_chunked_open(this.#h, lo, hi, inp, take, fin ? 1 : 0, outp, lp);
        const u8 = e.u8;
        const n = st !== 0 ? 0 : r.seal ? sealLen : new DataView(u8.buffer, lp, 4).getUint32(0, true);
        if (st === 0) r.out.set(u8.subarray(outp, outp + n), op);
        u8.fill(0, inp, outp + (r.seal ? 0 : n)); // plaintext does not stay in linear memory
        if (st !== 0) throw chunkedError(st, r.seal);
        op += n;
        if (last) return op;
        ip += take;
        counter += PIECE_CHUNKS;
      }
    } catch (err) {
      if (!r.seal) r.out.fill(0, 0, r.need); // never a partial plaintext
      throw err;
    }
  }

  seal(counter: number, plaintext: Uint8Array, out: Uint8Array, final: boolean, threads: number): number {
    this.#live();
    return this.#runHere(this.#parse(true, counter, plaintext, out, final, threads));
  }

  open(counter: number, ciphertext: Uint8Array, out: Uint8Array, final: boolean, threads: number): number {
    this.#live();
    return this.#runHere(this.#parse(false, counter, ciphertext, out, final, threads));
  }

  #async(r: Run): Promise<number> {
    const pool = this.#b.workers;
    const width = r.threads || pool.size;
    this.#busy = true;
    let job: Promise<number>;
    const e = this.#b.engine;
    const kp = e.x.tsr_wasm_chunked_key(this.#h),
      np = e.x.tsr_wasm_chunked_base_nonce(this.#h);
    const derivedKey = () => e.u8.slice(kp, kp + (this.#suite === 2 ? 16 : 32));
    if (r.counter + r.chunks > MAX_CHUNKS) {
      job = Promise.reject(chunkedError(STATUS.LENGTH, r.seal));
    } else if (this.#b.webCryptoChunks) {
      // Browsers: Web Crypto AES-GCM from this thread (wasm-subtle.ts).
      job = subtleRun(r.seal, derivedKey(), e.u8.slice(np, np + 12), r.counter, r.input, r.final).then(({ st, out }) => {
        if (st !== STATUS.OK || !out) {
          if (!r.seal) r.out.fill(0, 0, r.need);
          throw chunkedError(st, r.seal);
        }
        r.out.set(out);
        if (!r.seal) out.fill(0);
        return out.length;
      });
    } else if (pool.available && r.chunks >= TASK_CHUNKS && width >= 1) {
      job = pool.run({
        suite: this.#suite,
        key: derivedKey(),
        nonce: e.u8.slice(np, np + 12),
        seal: r.seal,
        counter: r.counter,
        input: r.input,
        out: r.out,
        final: r.final,
        need: r.need,
        width,
      });
    } else {
      job = Promise.resolve().then(() => this.#runHere(r));
    }
    return job.finally(() => {
      this.#busy = false;
      if (this.#disposed) this.#free();
    });
  }

  sealAsync(counter: number, plaintext: Uint8Array, out: Uint8Array, final: boolean, threads: number): Promise<number> {
    this.#live();
    return this.#async(this.#parse(true, counter, plaintext, out, final, threads));
  }

  openAsync(counter: number, ciphertext: Uint8Array, out: Uint8Array, final: boolean, threads: number): Promise<number> {
    this.#live();
    return this.#async(this.#parse(false, counter, ciphertext, out, final, threads));
  }

  /** The async run into a fresh output with `lead` zeroed bytes in front (ChunkedHandle.sealAlloc). */
  async #alloc(seal: boolean, counter: number, input: Uint8Array, final: boolean, threads: number, lead: number): Promise<Uint8Array> {
    this.#live();
    const i = bytes(input, seal ? 'plaintext' : 'ciphertext');
    const shape = this.#b.engine.runShape(seal, i.length, Boolean(final));
    const out = new Uint8Array(integer(lead, 'lead', 4096) + (shape.st === STATUS.OK ? shape.outlen : 0));
    const n = await this.#async(this.#parse(seal, counter, i, out.subarray(lead), final, threads));
    return out.subarray(0, lead + n);
  }

  sealAlloc(counter: number, plaintext: Uint8Array, final: boolean, threads: number, lead = 0): Promise<Uint8Array> {
    return this.#alloc(true, counter, plaintext, final, threads, lead);
  }

  openAlloc(counter: number, ciphertext: Uint8Array, final: boolean, threads: number): Promise<Uint8Array> {
    return this.#alloc(false, counter, ciphertext, final, threads, 0);
  }

  /** Zeroizes now, or when the async run in progress settles (it still holds the keys). */
  dispose(): void {
    this.#disposed = true;
    if (!this.#busy) this.#free();
  }

  #free(): void {
    if (this.#h === 0) return;
    this.#b.engine.x.tsr_wasm_chunked_free(this.#h); // zeroizes
    this.#b.untrack(this.#token);
    this.#h = 0;
  }
}
