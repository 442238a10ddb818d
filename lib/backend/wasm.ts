/**
 * The WASM engine (docs/ARCHITECTURE.md): the Engine interface over the
 * module built from native/sources.json targets.wasm
 * (lib/backend/wasm-engine.ts), under the same front layer as the native
 * addon (lib/front), so the same checks and errors; the same bytes, since
 * the module runs the same C code. Keys live in the module's key region and
 * are zeroized on dispose or else by a FinalizationRegistry. No Node API
 * here: browsers load this file too.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';
import { statusError } from '../front/status';
import { TAG, WasmEngine } from './wasm-engine';
import { WasmChunked } from './wasm-chunked';
import { WasmKey } from './wasm-key';
import type { WasmHost } from './wasm-host';
import type { WasmPool } from './wasm-pool';
import type { AlgId, Engine, EngineChunked, EngineKey, OutputMemoryStats, PoolInfo, SecureMemoryStats, SuiteId } from './types';

export class WasmBackend implements Engine, WasmHost {
  readonly name = 'wasm' as const;
  readonly engine: WasmEngine;
  readonly workers: WasmPool;
  /**
   * Async Cobblestone runs use crypto.subtle AES-GCM from the calling thread
   * instead of the module (wasm-subtle.ts): set by the browser entry, where
   * Web Crypto has hardware AES and measured faster; same bytes.
   */
  webCryptoChunks = false;
  /** Raw API: one context per algorithm, re-keyed when the key bytes change (compared in constant time). */
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

  #rawCall(
    seal: boolean,
    out: Uint8Array | undefined,
    alg: AlgId,
    key: Uint8Array,
    nonce: Uint8Array,
    input: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | number {
    const n = seal ? input.length + TAG : input.length - TAG;
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

  rawSeal = (alg: AlgId, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array) =>
    this.#rawCall(true, undefined, alg, key, nonce, pt, aad) as Uint8Array;
  rawOpen = (alg: AlgId, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) =>
    this.#rawCall(false, undefined, alg, key, nonce, sealed, aad) as Uint8Array;
  rawSealInto = (out: Uint8Array, alg: AlgId, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array) =>
    this.#rawCall(true, out, alg, key, nonce, pt, aad) as number;
  rawOpenInto = (out: Uint8Array, alg: AlgId, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) =>
    this.#rawCall(false, out, alg, key, nonce, sealed, aad) as number;

  // ---- keys -----------------------------------------------------------------

  createKey(alg: AlgId, key: Uint8Array | undefined, keyId: number): EngineKey {
    return new WasmKey(this, alg, key, keyId);
  }

  kernels(): ReturnType<Engine['kernels']> {
    return { 'aes-256-gcm': 'wasm', 'chacha20-poly1305': 'wasm', 'xchacha20-poly1305': 'wasm', 'xaes-256-gcm': 'wasm' };
  }

  setKernel(name: string): void {
    throw new TesseraError('ERR_BACKEND', `native kernel ${describe(name)}: the wasm backend has one kernel (the module's constant-time software primitives)`);
  }

  outputMemory(_limit?: number): OutputMemoryStats {
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
    if (size !== undefined) this.workers.resize(size);
    return { size: this.workers.size, cpus: this.workers.cpus, max: 64, queued: this.workers.queued };
  }

  // ---- chunked ----------------------------------------------------------------

  createChunked(suite: SuiteId, key: Uint8Array | EngineKey, salt: Uint8Array, context: Uint8Array): EngineChunked {
    return new WasmChunked(this, suite, key, salt, context, false);
  }

  /** Test hook: raw mode (derived AEAD key + base nonce, no commitment; c2sp.org/chunked-encryption appendix). */
  createChunkedRaw(suite: SuiteId, aeadKey: Uint8Array | EngineKey, baseNonce: Uint8Array): EngineChunked {
    return new WasmChunked(this, suite, aeadKey, baseNonce, new Uint8Array(0), true);
  }

  runShape(seal: boolean, inputLength: number, final: boolean): { st: number; chunks: number; outlen: number } {
    return this.engine.runShape(seal, inputLength, final);
  }

  chunkedOpenedLength(n: number): number {
    const e = this.engine;
    const p = e.scratch(8);
    const st = e.x.tsr_wasm_chunked_opened_len(n % 2 ** 32, Math.floor(n / 2 ** 32), p);
    if (st !== 0) throw statusError(st, 'decrypt chunks');
    const v = new DataView(e.memory.buffer, p, 8);
    return v.getUint32(0, true) + v.getUint32(4, true) * 2 ** 32;
  }
}
