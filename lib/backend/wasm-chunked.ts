/**
 * Cobblestone on the WASM engine (c2sp.org/chunked-encryption): one
 * message's derived key, base nonce and commitment in the module's key
 * region (native/wasm/tsr_wasm.c). Runs arrive checked by the front layer
 * (lib/front/chunked.ts) and go through the module in pieces of 256 chunks
 * (so linear memory stays small whatever the message size) or, async and
 * large, across the worker pool in 32-chunk tasks (wasm-pool.ts), the batch
 * design of the native pool.
 */
import { STATUS, statusError } from '../front/status';
import { CHUNK_CT, CHUNK_PT } from './wasm-engine';
import { TASK_CHUNKS } from './wasm-pool';
import { subtleRun } from './wasm-subtle';
import type { WasmHost } from './wasm-host';
import { WasmKey } from './wasm-key';
import type { EngineChunked, EngineKey, SuiteId } from './types';

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

export class WasmChunked implements EngineChunked {
  readonly #b: WasmHost;
  readonly #suite: SuiteId;
  readonly #token = {};
  #h: number;

  constructor(b: WasmHost, suite: SuiteId, key: Uint8Array | EngineKey, s: Uint8Array, c: Uint8Array, raw: boolean) {
    this.#b = b;
    this.#suite = suite;
    // An AeadKey's bytes are used where they are, in the key region.
    const keyAt = key instanceof WasmKey ? key.keyAddress() : 0;
    const k = key instanceof WasmKey ? undefined : (key as Uint8Array);
    const e = b.engine;
    const p = e.scratch(32 + 24 + c.length);
    const kp = p,
      sp = p + 32,
      cp = p + 56;
    const u8 = e.u8;
    if (k) u8.set(k, kp);
    u8.set(s, sp);
    u8.set(c, cp);
    const h = e.x.tsr_wasm_chunked_new(suite, k ? kp : keyAt, sp, cp, c.length, raw ? 1 : 0);
    e.u8.fill(0, kp, kp + 32);
    if (h === 0) throw statusError(e.x.tsr_wasm_status(), 'chunked key derivation');
    this.#h = h;
    b.track(this, () => e.x.tsr_wasm_chunked_free(h), this.#token);
  }

  commitment(): Uint8Array {
    const p = this.#b.engine.x.tsr_wasm_chunked_commitment(this.#h);
    return this.#b.engine.u8.slice(p, p + 32);
  }

  check(commitment: Uint8Array): void {
    const e = this.#b.engine;
    const p = e.scratch(32);
    e.u8.set(commitment, p);
    const st = e.x.tsr_wasm_chunked_check(this.#h, p);
    if (st !== 0) throw statusError(st, 'chunked ciphertext');
  }

  #shape(seal: boolean, counter: number, input: Uint8Array, out: Uint8Array, final: boolean, threads: number): Run {
    const { chunks, outlen: need } = this.#b.engine.runShape(seal, input.length, final);
    return { seal, counter, input, out, final, threads, chunks, need };
  }

  /** The run through this thread's module, 256 chunks per call. */
  #runHere(r: Run): number {
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
        if (st !== 0) throw statusError(st, r.seal ? 'encrypt chunks' : 'decrypt chunks');
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
    return this.#runHere(this.#shape(true, counter, plaintext, out, final, threads));
  }

  open(counter: number, ciphertext: Uint8Array, out: Uint8Array, final: boolean, threads: number): number {
    return this.#runHere(this.#shape(false, counter, ciphertext, out, final, threads));
  }

  #async(r: Run): Promise<number> {
    const pool = this.#b.workers;
    const width = r.threads || pool.size;
    let job: Promise<number>;
    const e = this.#b.engine;
    const kp = e.x.tsr_wasm_chunked_key(this.#h),
      np = e.x.tsr_wasm_chunked_base_nonce(this.#h);
    const derivedKey = () => e.u8.slice(kp, kp + (this.#suite === 2 ? 16 : 32));
    if (this.#b.webCryptoChunks) {
      // Browsers: Web Crypto AES-GCM from this thread (wasm-subtle.ts).
      job = subtleRun(r.seal, derivedKey(), e.u8.slice(np, np + 12), r.counter, r.input, r.final).then(({ st, out }) => {
        if (st !== STATUS.OK || !out) {
          if (!r.seal) r.out.fill(0, 0, r.need);
          throw statusError(st, r.seal ? 'encrypt chunks' : 'decrypt chunks');
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
    return job;
  }

  sealAsync(counter: number, plaintext: Uint8Array, out: Uint8Array, final: boolean, threads: number): Promise<number> {
    return this.#async(this.#shape(true, counter, plaintext, out, final, threads));
  }

  openAsync(counter: number, ciphertext: Uint8Array, out: Uint8Array, final: boolean, threads: number): Promise<number> {
    return this.#async(this.#shape(false, counter, ciphertext, out, final, threads));
  }

  /** The async run into a fresh output with `lead` zeroed bytes in front (EngineChunked.sealAlloc). */
  async #alloc(seal: boolean, counter: number, input: Uint8Array, final: boolean, threads: number, lead: number): Promise<Uint8Array> {
    const out = new Uint8Array(lead + this.#b.engine.runShape(seal, input.length, final).outlen);
    const n = await this.#async(this.#shape(seal, counter, input, out.subarray(lead), final, threads));
    return out.subarray(0, lead + n);
  }

  sealAlloc(counter: number, plaintext: Uint8Array, final: boolean, threads: number, lead: number): Promise<Uint8Array> {
    return this.#alloc(true, counter, plaintext, final, threads, lead);
  }

  openAlloc(counter: number, ciphertext: Uint8Array, final: boolean, threads: number): Promise<Uint8Array> {
    return this.#alloc(false, counter, ciphertext, final, threads, 0);
  }

  /** Zeroizes (the front calls this once no run is in flight). */
  dispose(): void {
    if (this.#h === 0) return;
    this.#b.engine.x.tsr_wasm_chunked_free(this.#h); // zeroizes
    this.#b.untrack(this.#token);
    this.#h = 0;
  }
}
