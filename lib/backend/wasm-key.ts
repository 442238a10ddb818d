/**
 * AeadKey's handle on the WASM backend: message format v1 (docs/API.md)
 * over a tsr_aead_ctx in the module's key region. Checks, their order and
 * their messages follow native/node/aead_key.cc, so AeadKey behaves the same
 * on both backends. Async variants run on the calling thread (one-shot
 * messages cannot be split across workers without changing the format).
 */
import { TesseraError } from '../errors';
import { bytes, checkLen, checkOut, overlaps } from './wasm-args';
import { ALG_NAMES, nonceLen, statusError, TAG } from './wasm-engine';
import type { WasmBackend } from './wasm';
import type { AlgId, KeyHandle } from './types';

interface Parsed {
  headerLen: number;
  sealedLen: number;
}

export class WasmKey implements KeyHandle {
  readonly #b: WasmBackend;
  readonly #alg: AlgId;
  readonly #keyId: number;
  readonly #limit: bigint;
  readonly #headerLen: number;
  #ctx: number;
  #used = 0n;
  readonly #token = {};

  constructor(b: WasmBackend, alg: AlgId, key: Uint8Array | undefined, keyId: number, nonceLimit: bigint) {
    this.#b = b;
    this.#alg = alg;
    const k = bytes(key, 'key', true);
    if (typeof keyId !== 'number' || !Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff)
      throw new TesseraError('ERR_ARGUMENT', 'keyId must be a uint32');
    if (typeof nonceLimit !== 'bigint' || nonceLimit < 0n || nonceLimit > (1n << 64n) - 1n)
      throw new TesseraError('ERR_ARGUMENT', 'nonceLimit must be a bigint between 0 and 2^64 - 1');
    this.#keyId = keyId;
    this.#limit = nonceLimit;
    this.#headerLen = 6 + nonceLen(alg);
    const e = b.engine;
    let kp = 0;
    if (key !== undefined && key !== null) {
      checkLen(k, 32, 'ERR_KEY_LENGTH', 'key');
      kp = e.scratch(32);
      e.u8.set(k, kp); // tsr_wasm_aead_new wipes this copy
    }
    const ctx = e.x.tsr_wasm_aead_new(alg, kp);
    if (ctx === 0) throw statusError(e.x.tsr_wasm_status(), 'AeadKey');
    this.#ctx = ctx;
    b.track(this, () => e.x.tsr_wasm_aead_free(ctx), this.#token);
  }

  #live(): number {
    if (this.#ctx === 0) throw new TesseraError('ERR_DISPOSED', 'AeadKey has been disposed');
    return this.#ctx;
  }

  /** Key-region address of the key bytes (createChunked with an AeadKey). */
  keyAddress(): number {
    return this.#b.engine.x.tsr_wasm_aead_key(this.#live());
  }

  #reserve(n: number): void {
    if (BigInt(n) > this.#limit - this.#used)
      throw new TesseraError('ERR_NONCE_LIMIT', `nonce limit reached: this key sealed ${this.#used} messages (limit ${this.#limit}); rotate the key`);
    this.#used += BigInt(n);
  }

  // Header fields in wire order, each before the length that depends on it (as ParseMessage).
  #parse(msg: Uint8Array): Parsed {
    const alg = this.#alg;
    if (msg.length >= 1 && msg[0] !== 1) throw new TesseraError('ERR_FORMAT', `unknown message format version ${msg[0]} (expected 1)`);
    if (msg.length >= 2 && !(msg[1]! >= 1 && msg[1]! <= 4)) throw new TesseraError('ERR_ALGORITHM', `message names an unknown algorithm id ${msg[1]}`);
    if (msg.length >= 2 && msg[1] !== alg)
      throw new TesseraError('ERR_ALGORITHM', `message was sealed with ${ALG_NAMES[msg[1]!]}, this key is ${ALG_NAMES[alg]}`);
    const h = this.#headerLen;
    if (msg.length < h + TAG) throw new TesseraError('ERR_FORMAT', `message too short: ${msg.length} bytes (at least ${h + TAG})`);
    const id = ((msg[2]! << 24) | (msg[3]! << 16) | (msg[4]! << 8) | msg[5]!) >>> 0;
    if (id !== this.#keyId) throw new TesseraError('ERR_KEY_MISMATCH', `message was sealed under key id ${id}, this key has id ${this.#keyId}`);
    return { headerLen: h, sealedLen: msg.length - h };
  }

  #checkSealOut(out: Uint8Array, pt: Uint8Array, aad: Uint8Array): void {
    const h = this.#headerLen;
    checkOut(out, h + pt.length + TAG, undefined, aad);
    // Worded as native CheckSealOut, whose header check is CheckOut(head, ..., nullptr, &pt).
    if (overlaps(out, Math.min(h, out.length), pt)) throw new TesseraError('ERR_ARGUMENT', 'output buffer overlaps the associated data');
    const body = out.subarray(Math.min(h, out.length));
    if (overlaps(body, body.length, pt) && body.byteOffset !== pt.byteOffset)
      throw new TesseraError('ERR_ARGUMENT', 'output buffer partially overlaps the input (in-place must start at the same byte)');
  }

  #checkOpenOut(out: Uint8Array, msg: Uint8Array, p: Parsed, aad: Uint8Array): void {
    const n = p.sealedLen - TAG;
    const sealed = msg.subarray(p.headerLen);
    checkOut(out, n, sealed, aad);
    if (overlaps(out, out.length, msg.subarray(0, p.headerLen))) throw new TesseraError('ERR_ARGUMENT', 'output buffer overlaps the associated data');
  }

  /** Seals pt into dst (header || ct || tag); the nonce was reserved by the caller. */
  #sealOne(ctx: number, dst: Uint8Array, pt: Uint8Array, aad: Uint8Array, what: string): number {
    const e = this.#b.engine;
    const h = this.#headerLen;
    const n = h + pt.length + TAG;
    const p = e.scratch(aad.length + pt.length + n);
    const ap = p,
      ip = p + aad.length,
      op = ip + pt.length;
    let u8 = e.u8;
    u8.set(aad, ap);
    u8.set(pt, ip);
    u8[op] = 1;
    u8[op + 1] = this.#alg;
    u8[op + 2] = this.#keyId >>> 24;
    u8[op + 3] = (this.#keyId >>> 16) & 0xff;
    u8[op + 4] = (this.#keyId >>> 8) & 0xff;
    u8[op + 5] = this.#keyId & 0xff;
    u8.set(this.#b.nonces.take(h - 6), op + 6);
    const st = e.x.tsr_wasm_aead_seal(ctx, op + h, op + 6, ip, pt.length, op, h, ap, aad.length);
    u8 = e.u8;
    if (st === 0) dst.set(u8.subarray(op, op + n));
    u8.fill(0, ip, ip + pt.length);
    if (st !== 0) throw statusError(st, what);
    return n;
  }

  /** Opens msg into dst; on failure dst's n bytes are zeroed. */
  #openOne(ctx: number, dst: Uint8Array, msg: Uint8Array, p: Parsed, aad: Uint8Array, what: string): number {
    const e = this.#b.engine;
    const n = p.sealedLen - TAG;
    const base = e.scratch(aad.length + msg.length + n);
    const ap = base,
      mp = base + aad.length,
      op = mp + msg.length;
    let u8 = e.u8;
    u8.set(aad, ap);
    u8.set(msg, mp);
    const st = e.x.tsr_wasm_aead_open(ctx, op, mp + 6, mp + p.headerLen, p.sealedLen, mp, p.headerLen, ap, aad.length);
    u8 = e.u8;
    if (st === 0) dst.set(u8.subarray(op, op + n));
    u8.fill(0, op, op + n);
    if (st !== 0) {
      dst.fill(0, 0, Math.min(n, dst.length));
      throw statusError(st, what);
    }
    return n;
  }

  seal(plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    const ctx = this.#live();
    const pt = bytes(plaintext, 'plaintext');
    const a = bytes(aad, 'aad', true);
    this.#reserve(1);
    const out = new Uint8Array(this.#headerLen + pt.length + TAG);
    this.#sealOne(ctx, out, pt, a, 'seal');
    return out;
  }

  sealInto(out: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): number {
    const ctx = this.#live();
    const o = bytes(out, 'out');
    const pt = bytes(plaintext, 'plaintext');
    const a = bytes(aad, 'aad', true);
    this.#checkSealOut(o, pt, a);
    this.#reserve(1);
    return this.#sealOne(ctx, o, pt, a, 'seal');
  }

  open(message: Uint8Array, aad?: Uint8Array): Uint8Array {
    const ctx = this.#live();
    const msg = bytes(message, 'message');
    const a = bytes(aad, 'aad', true);
    const p = this.#parse(msg);
    const out = new Uint8Array(p.sealedLen - TAG);
    this.#openOne(ctx, out, msg, p, a, 'open');
    return out;
  }

  openInto(out: Uint8Array, message: Uint8Array, aad?: Uint8Array): number {
    const ctx = this.#live();
    const o = bytes(out, 'out');
    const msg = bytes(message, 'message');
    const a = bytes(aad, 'aad', true);
    const p = this.#parse(msg);
    this.#checkOpenOut(o, msg, p, a);
    return this.#openOne(ctx, o, msg, p, a, 'openInto');
  }

  #elements(arr: unknown, what: string): Uint8Array[] {
    if (!Array.isArray(arr)) throw new TesseraError('ERR_ARGUMENT', `${what} must be an array of Uint8Array`);
    const items = new Array<Uint8Array>(arr.length);
    for (let i = 0; i < arr.length; i++) items[i] = bytes(arr[i], `${what}[${i}]`); // a hole is undefined, as napi_get_element reads it
    return items;
  }

  sealBatch(messages: Uint8Array[], aad?: Uint8Array): ArrayBuffer {
    const ctx = this.#live();
    const items = this.#elements(messages, 'messages');
    const a = bytes(aad, 'aad', true);
    let total = 0;
    for (const m of items) total += this.#headerLen + m.length + TAG;
    this.#reserve(items.length);
    const ab = new ArrayBuffer(total);
    let off = 0;
    for (const m of items) off += this.#sealOne(ctx, new Uint8Array(ab, off), m, a, 'sealBatch');
    return ab;
  }

  openBatch(messages: Uint8Array[], aad?: Uint8Array): ArrayBuffer {
    const ctx = this.#live();
    const items = this.#elements(messages, 'messages');
    const a = bytes(aad, 'aad', true);
    const parsed = items.map((m) => this.#parse(m));
    const ab = new ArrayBuffer(parsed.reduce((s, p) => s + p.sealedLen - TAG, 0));
    let off = 0;
    for (let i = 0; i < items.length; i++) {
      try {
        off += this.#openOne(ctx, new Uint8Array(ab, off), items[i]!, parsed[i]!, a, 'openBatch');
      } catch (e) {
        new Uint8Array(ab).fill(0); // all or nothing: no plaintext of earlier messages either
        if (e instanceof TesseraError && e.code === 'ERR_AUTH') throw new TesseraError('ERR_AUTH', `openBatch: message ${i} failed authentication`);
        throw e;
      }
    }
    return ab;
  }

  // The async pair checks its arguments as native SealAsync / OpenAsync do
  // (same order, thrown synchronously; out undefined or null = allocate),
  // then runs here and now: a failure past the checks is a rejection.
  sealAsync(plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  sealAsync(plaintext: Uint8Array, aad: Uint8Array | undefined, out: Uint8Array): Promise<number>;
  sealAsync(plaintext: Uint8Array, aad?: Uint8Array, out?: Uint8Array): Promise<Uint8Array | number> {
    const ctx = this.#live();
    const pt = bytes(plaintext, 'plaintext');
    const a = bytes(aad, 'aad', true);
    const o = out === undefined || out === null ? undefined : bytes(out, 'out');
    if (o) this.#checkSealOut(o, pt, a);
    this.#reserve(1);
    try {
      const dst = o ?? new Uint8Array(this.#headerLen + pt.length + TAG);
      const n = this.#sealOne(ctx, dst, pt, a, 'sealAsync');
      return Promise.resolve(o ? n : dst);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  openAsync(message: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  openAsync(message: Uint8Array, aad: Uint8Array | undefined, out: Uint8Array): Promise<number>;
  openAsync(message: Uint8Array, aad?: Uint8Array, out?: Uint8Array): Promise<Uint8Array | number> {
    const ctx = this.#live();
    const msg = bytes(message, 'message');
    const a = bytes(aad, 'aad', true);
    const o = out === undefined || out === null ? undefined : bytes(out, 'out');
    const p = this.#parse(msg);
    if (o) this.#checkOpenOut(o, msg, p, a);
    try {
      const dst = o ?? new Uint8Array(p.sealedLen - TAG);
      const n = this.#openOne(ctx, dst, msg, p, a, 'openAsync');
      return Promise.resolve(o ? n : dst);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  exportKey(): Uint8Array {
    const p = this.#b.engine.x.tsr_wasm_aead_key(this.#live());
    return this.#b.engine.u8.slice(p, p + 32);
  }

  dispose(): void {
    if (this.#ctx === 0) return;
    this.#b.engine.x.tsr_wasm_aead_free(this.#ctx); // zeroizes
    this.#b.untrack(this.#token);
    this.#ctx = 0;
  }

  used(): bigint {
    return this.#used;
  }
}
