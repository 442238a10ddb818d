/**
 * What the WASM engine's keys and Cobblestone handles use of their engine
 * (lib/backend/wasm.ts implements it): a leaf, so that wasm-key.ts and
 * wasm-chunked.ts do not import the engine that imports them.
 */
import type { WasmEngine } from './wasm-engine';
import type { WasmPool } from './wasm-pool';

export interface WasmHost {
  readonly engine: WasmEngine;
  readonly workers: WasmPool;
  /** Async Cobblestone runs use crypto.subtle AES-GCM from the calling thread (wasm-subtle.ts). */
  webCryptoChunks: boolean;
  /** Frees a module object when its JS owner is collected without dispose(). */
  track(owner: object, free: () => void, token: object): void;
  untrack(token: object): void;
}
