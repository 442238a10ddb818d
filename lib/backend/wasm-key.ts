/**
 * A key on the WASM engine: a tsr_aead_ctx in the module's key region, and
 * message format v1 sealed and opened by the module (native/message, the C
 * code the native addon runs too). Inputs are copied into linear memory,
 * outputs out of it; plaintext does not stay behind there. Arguments arrive
 * checked by the front layer (lib/front/key.ts). Async calls run here and
 * now: a one-shot message is not split across workers.
 */
import { headerLengthOf } from '../format';
import { statusError } from '../front/status';
import type { WasmHost } from './wasm-host';
import type { AlgId, EngineKey } from './types';

const TAG = 16;

export class WasmKey implements EngineKey {
  readonly #b: WasmHost;
  readonly #keyId: number;
  readonly #headerLen: number;
  readonly #token = {};
  #ctx: number;

  constructor(b: WasmHost, alg: AlgId, key: Uint8Array | undefined, keyId: number) {
    this.#b = b;
    this.#keyId = keyId;
    this.#headerLen = headerLengthOf(alg);
    const e = b.engine;
    let kp = 0;
    if (key) {
      kp = e.scratch(32);
      e.u8.set(key, kp); // tsr_wasm_aead_new wipes this copy
    }
    const ctx = e.x.tsr_wasm_aead_new(alg, kp);
    if (ctx === 0) throw statusError(e.x.tsr_wasm_status(), 'AeadKey');
    this.#ctx = ctx;
    b.track(this, () => e.x.tsr_wasm_aead_free(ctx), this.#token);
  }

  /** Key-region address of the key bytes (createChunked with an AeadKey). */
  keyAddress(): number {
    return this.#b.engine.x.tsr_wasm_aead_key(this.#ctx);
  }

  /** Seals pt into dst (header || ct || tag). */
  #sealOne(dst: Uint8Array, pt: Uint8Array, aad: Uint8Array, op: string): number {
    const e = this.#b.engine;
    const n = this.#headerLen + pt.length + TAG;
    const p = e.scratch(4 + aad.length + pt.length + n);
    const wp = p,
      ap = p + 4,
      ip = ap + aad.length,
      outp = ip + pt.length;
    let u8 = e.u8;
    u8.set(aad, ap);
    u8.set(pt, ip);
    const st = e.x.tsr_wasm_message_seal(this.#ctx, this.#keyId, outp, n, ip, pt.length, ap, aad.length, wp);
    u8 = e.u8;
    if (st === 0) dst.set(u8.subarray(outp, outp + n));
    u8.fill(0, ip, ip + pt.length);
    if (st !== 0) throw statusError(st, op);
    return n;
  }

  /** Opens msg into dst; on failure dst's bytes are zeroed. */
  #openOne(dst: Uint8Array, msg: Uint8Array, aad: Uint8Array, op: string): number {
    const e = this.#b.engine;
    const n = msg.length - this.#headerLen - TAG;
    const base = e.scratch(4 + aad.length + msg.length + n);
    const wp = base,
      ap = base + 4,
      mp = ap + aad.length,
      outp = mp + msg.length;
    let u8 = e.u8;
    u8.set(aad, ap);
    u8.set(msg, mp);
    const st = e.x.tsr_wasm_message_open(this.#ctx, outp, n, mp, msg.length, ap, aad.length, wp);
    u8 = e.u8;
    if (st === 0) dst.set(u8.subarray(outp, outp + n));
    u8.fill(0, outp, outp + n);
    if (st !== 0) {
      dst.fill(0, 0, Math.min(n, dst.length));
      throw statusError(st, op);
    }
    return n;
  }

  seal(pt: Uint8Array, aad: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.#headerLen + pt.length + TAG);
    this.#sealOne(out, pt, aad, 'seal');
    return out;
  }

  sealInto(out: Uint8Array, pt: Uint8Array, aad: Uint8Array): number {
    return this.#sealOne(out, pt, aad, 'sealInto');
  }

  open(msg: Uint8Array, aad: Uint8Array): Uint8Array {
    const out = new Uint8Array(msg.length - this.#headerLen - TAG);
    this.#openOne(out, msg, aad, 'open');
    return out;
  }

  openInto(out: Uint8Array, msg: Uint8Array, aad: Uint8Array): number {
    return this.#openOne(out, msg, aad, 'openInto');
  }

  /** The whole batch in one call into the module (tsr_wasm_message_batch): layout, then the run. */
  #batch(seal: boolean, items: Uint8Array[], aad: Uint8Array): ArrayBuffer {
    const e = this.#b.engine;
    const x = e.x;
    const n = items.length;
    let inBytes = 0;
    for (const m of items) inBytes += m.length;
    // Arrays first: in[n], len[n], off[n + 1], failed; then aad and the inputs.
    const head = 4 * (3 * n + 2);
    let base = e.scratch(head + aad.length + inBytes);
    const fill = (b: number) => {
      const v = new Uint32Array(e.memory.buffer, b, 3 * n + 2);
      let p = b + head + aad.length;
      for (let i = 0; i < n; i++) {
        v[i] = p;
        v[n + i] = items[i]!.length;
        p += items[i]!.length;
      }
    };
    fill(base);
    let st = x.tsr_wasm_message_batch(this.#ctx, this.#keyId, seal ? 1 : 0, base, base + 4 * n, n, 0, base + 8 * n, 0, 0, 0);
    if (st !== 0) throw statusError(st, seal ? 'sealBatch' : 'openBatch');
    const total = new Uint32Array(e.memory.buffer, base + 8 * n, n + 1)[n]!;
    base = e.scratch(head + aad.length + inBytes + total); // may move the area: lay it out again
    fill(base);
    const ap = base + head;
    const outp = ap + aad.length + inBytes;
    let u8 = e.u8;
    u8.set(aad, ap);
    let p = ap + aad.length;
    for (const m of items) {
      u8.set(m, p);
      p += m.length;
    }
    st = x.tsr_wasm_message_batch(this.#ctx, this.#keyId, seal ? 1 : 0, base, base + 4 * n, n, outp, base + 8 * n, ap, aad.length, base + 4 * (3 * n + 1));
    u8 = e.u8;
    const failed = new Uint32Array(e.memory.buffer, base + 4 * (3 * n + 1), 1)[0]!;
    const ab = new ArrayBuffer(total);
    if (st === 0) new Uint8Array(ab).set(u8.subarray(outp, outp + total));
    // No plaintext left in linear memory: the inputs of a seal, the outputs of an open.
    if (seal) u8.fill(0, ap + aad.length, outp);
    else u8.fill(0, outp, outp + total);
    if (st !== 0) throw statusError(st, seal ? 'sealBatch' : 'openBatch', seal ? undefined : failed);
    return ab;
  }

  sealBatch(items: Uint8Array[], aad: Uint8Array): ArrayBuffer {
    return this.#batch(true, items, aad);
  }

  openBatch(items: Uint8Array[], aad: Uint8Array): ArrayBuffer {
    return this.#batch(false, items, aad);
  }

  sealAsync(pt: Uint8Array, aad: Uint8Array, out: Uint8Array | undefined): Promise<Uint8Array | number> {
    try {
      return Promise.resolve(out ? this.#sealOne(out, pt, aad, 'sealAsync') : this.seal(pt, aad));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  openAsync(msg: Uint8Array, aad: Uint8Array, out: Uint8Array | undefined): Promise<Uint8Array | number> {
    try {
      if (out) return Promise.resolve(this.#openOne(out, msg, aad, 'openAsync'));
      const dst = new Uint8Array(msg.length - this.#headerLen - TAG);
      this.#openOne(dst, msg, aad, 'openAsync');
      return Promise.resolve(dst);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  exportKey(): Uint8Array {
    const p = this.#b.engine.x.tsr_wasm_aead_key(this.#ctx);
    return this.#b.engine.u8.slice(p, p + 32);
  }

  dispose(): void {
    if (this.#ctx === 0) return;
    this.#b.engine.x.tsr_wasm_aead_free(this.#ctx); // zeroizes
    this.#b.untrack(this.#token);
    this.#ctx = 0;
  }
}
