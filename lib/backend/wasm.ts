/**
 * The WASM backend (docs/ARCHITECTURE.md): the Backend interface over the
 * module built from native/core (lib/backend/wasm-engine.ts). Same checks,
 * same errors, same bytes as the native backend; keys live in the module's
 * key region and are zeroized on dispose or else by a
 * FinalizationRegistry. No Node API here: browsers load this file too.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';
import { bytes, checkLen, checkOut, integer } from './wasm-args';
import { chunkedError, nonceLen, statusError, TAG, WasmEngine } from './wasm-engine';
import { WasmChunked } from './wasm-chunked';
import { WasmKey } from './wasm-key';
import type { WasmPool } from './wasm-pool';
import type { AlgId, Backend, ChunkedHandle, KeyHandle, OutputMemoryStats, PoolInfo, SecureMemoryStats, SuiteId } from './types';

/** An algorithm id read as native GetAlg reads it (napi_get_value_int32: a number, ToInt32). */
function algOf(v: unknown): AlgId {
  const id = typeof v === 'number' ? v | 0 : 0;
  if (id !== 1 && id !== 2 && id !== 3 && id !== 4) throw new TesseraError('ERR_ALGORITHM', 'unknown algorithm');
  return id;
}

/** Random nonces from a 4 KiB buffer refilled by crypto.getRandomValues (one call per ~300 nonces). */
class NoncePool {
  #buf = new Uint8Array(4096);
  #pos = 4096;
  take(n: number): Uint8Array {
    if (this.#pos + n > this.#buf.length) {
      globalThis.crypto.getRandomValues(this.#buf);
      this.#pos = 0;
    }
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly engine: WasmEngine;
  readonly nonces = new NoncePool();
  readonly workers: WasmPool;
  /**
   * Async Cobblestone runs use crypto.subtle AES-GCM from the calling thread
   * instead of the module (wasm-subtle.ts): set by the browser entry, where
   * Web Crypto has hardware AES and measured faster; same bytes.
   */
  webCryptoChunks = false;
  /** Raw API: one context per algorithm, re-keyed when the key bytes change (as native/node/aead_raw.cc). */
  readonly #raw: number[] = [0, 0, 0, 0, 0];
  readonly #finalizer = new FinalizationRegistry<{ free: () => void }>((h) => h.free());

  constructor(engine: WasmEngine, workers: WasmPool) {
    this.engine = engine;
    this.workers = workers;
  }

  /** Frees a module object when its JS owner is collected without dispose(). */
  track(owner: object, free: () => void, token: object): void {
    this.#finalizer.register(owner, { free }, token);
  }
  untrack(token: object): void {
    this.#finalizer.unregister(token);
  }

  // ---- raw API ------------------------------------------------------------

  #rawCall(seal: boolean, out: Uint8Array | undefined, algv: unknown, keyv: unknown, noncev: unknown, inputv: unknown, aadv: unknown): Uint8Array | number {
    const alg = algOf(algv);
    const key = bytes(keyv, 'key');
    checkLen(key, 32, 'ERR_KEY_LENGTH', 'key');
    const nonce = bytes(noncev, 'nonce');
    checkLen(nonce, nonceLen(alg), 'ERR_NONCE_LENGTH', 'nonce');
    const input = bytes(inputv, seal ? 'plaintext' : 'sealed');
    const aad = bytes(aadv, 'aad', true);
    if (!seal && input.length < TAG) throw new TesseraError('ERR_FORMAT', `sealed input must be at least 16 bytes (the tag), got ${input.length}`);
    const n = seal ? input.length + TAG : input.length - TAG;
    if (out) checkOut(out, n, input, aad);
    const e = this.engine;
    const p = e.scratch(32 + 24 + aad.length + input.length + n);
    const kp = p,
      np = p + 32,
      ap = np + 24,
      ip = ap + aad.length,
      op = ip + input.length;
    let u8 = e.u8;
    u8.set(key, kp);
    u8.set(nonce, np);
    u8.set(aad, ap);
    u8.set(input, ip);
    let ctx = this.#raw[alg]!;
    if (ctx === 0) {
      ctx = e.x.tsr_wasm_aead_new(alg, kp); // wipes kp
      if (ctx === 0) throw statusError(e.x.tsr_wasm_status(), 'aead');
      this.#raw[alg] = ctx;
    } else if (e.x.tsr_wasm_aead_same_key(ctx, kp) !== 0) {
      e.x.tsr_wasm_aead_rekey(ctx, kp); // wipes kp
    } else {
      u8.fill(0, kp, kp + 32);
    }
    const st = seal
      ? e.x.tsr_wasm_aead_seal(ctx, op, np, ip, input.length, ap, aad.length, 0, 0)
      : e.x.tsr_wasm_aead_open(ctx, op, np, ip, input.length, ap, aad.length, 0, 0);
    u8 = e.u8;
    const result = out ?? new Uint8Array(n);
    if (st === 0) result.set(u8.subarray(op, op + n));
    // No plaintext left behind in linear memory (the input of a seal, the output of an open).
    if (seal) u8.fill(0, ip, ip + input.length);
    else u8.fill(0, op, op + n);
    if (st !== 0) {
      if (out) out.fill(0, 0, n);
      throw statusError(st, seal ? (out ? 'aead.sealInto' : 'aead.seal') : out ? 'aead.openInto' : 'aead.open');
    }
    return out ? n : result;
  }

  rawSeal = (alg: AlgId, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array) =>
    this.#rawCall(true, undefined, alg, key, nonce, pt, aad) as Uint8Array;
  rawOpen = (alg: AlgId, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array) =>
    this.#rawCall(false, undefined, alg, key, nonce, sealed, aad) as Uint8Array;
  rawSealInto = (out: Uint8Array, alg: AlgId, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array) =>
    this.#rawCall(true, bytes(out, 'out'), alg, key, nonce, pt, aad) as number;
  rawOpenInto = (out: Uint8Array, alg: AlgId, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array) =>
    this.#rawCall(false, bytes(out, 'out'), alg, key, nonce, sealed, aad) as number;

  // ---- keys -----------------------------------------------------------------

  createKey(alg: AlgId, key: Uint8Array | undefined, keyId: number, nonceLimit: bigint): KeyHandle {
    return new WasmKey(this, algOf(alg), key, keyId, nonceLimit);
  }

  kernels(): ReturnType<Backend['kernels']> {
    return { 'aes-256-gcm': 'wasm', 'chacha20-poly1305': 'wasm', 'xchacha20-poly1305': 'wasm', 'xaes-256-gcm': 'wasm' };
  }

  setKernel(name: string): void {
    throw new TesseraError('ERR_BACKEND', `native kernel ${describe(name)}: the wasm backend has one kernel (the module's constant-time software primitives)`);
  }

  outputMemory(limit?: number): OutputMemoryStats {
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0))
      throw new TesseraError('ERR_ARGUMENT', 'limit must be a non-negative integer number of bytes');
    return { limit: 0, cached: 0, lent: 0, reused: 0, mapped: 0, unmapped: 0, minBytes: 0 };
  }

  secureMemoryStats(): SecureMemoryStats {
    const x = this.engine.x;
    // Browsers and wasm have no mlock, no dump or fork controls: reported as such.
    return {
      lockedBytes: 0,
      mappedBytes: x.tsr_wasm_key_region_size(),
      allocations: x.tsr_wasm_key_blocks(),
      arenas: 1,
      mlockFailures: 0,
      memlockLimit: 0,
      memfdSecret: false,
      wipeOnFork: false,
      dontDump: false,
    };
  }

  secureAlloc(n: number): [ArrayBuffer, unknown] {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1 << 20)
      throw new TesseraError('ERR_ARGUMENT', 'SecureBuffer size must be an integer from 1 to 1048576');
    // A plain ArrayBuffer (a view into linear memory could not be detached
    // on its own); zeroized and detached by secureDispose.
    return [new ArrayBuffer(n), null];
  }

  secureDispose(buffer: ArrayBuffer, _handle: unknown): void {
    new Uint8Array(buffer).fill(0);
    structuredClone(buffer, { transfer: [buffer] }); // detaches every view
  }

  allocOutput(n: number): Uint8Array {
    return new Uint8Array(n);
  }

  pool(size?: number): PoolInfo {
    if (size !== undefined) this.workers.resize(integer(size, 'threads', 64));
    return { size: this.workers.size, cpus: this.workers.cpus, max: 64, queued: this.workers.queued };
  }

  // ---- chunked ----------------------------------------------------------------

  createChunked(suite: SuiteId, key: Uint8Array | KeyHandle, salt: Uint8Array, context: Uint8Array): ChunkedHandle {
    return new WasmChunked(this, suite, key, salt, context, false);
  }

  /** Test hook: raw mode (derived AEAD key + base nonce, no commitment), as the native addon's 'raw' mode. */
  createChunkedRaw(suite: SuiteId, aeadKey: Uint8Array, baseNonce: Uint8Array): ChunkedHandle {
    return new WasmChunked(this, suite, aeadKey, baseNonce, new Uint8Array(0), true);
  }

  chunkedOpenedLength(n: number): number {
    integer(n, 'ciphertext length', Number.MAX_SAFE_INTEGER);
    const e = this.engine;
    const p = e.scratch(8);
    const st = e.x.tsr_wasm_chunked_opened_len(n % 2 ** 32, Math.floor(n / 2 ** 32), p);
    if (st !== 0) throw chunkedError(st, false);
    const v = new DataView(e.memory.buffer, p, 8);
    return v.getUint32(0, true) + v.getUint32(4, true) * 2 ** 32;
  }
}
