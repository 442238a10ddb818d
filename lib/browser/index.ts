/**
 * tessera for browsers (package.json `exports` condition `browser` and
 * `default`): the WASM backend only, as plain ES modules (no bundler
 * needed). Call `await init()` once before anything else: it fetches the
 * module (wasm/tessera-simd.wasm where the browser validates simd128, else
 * wasm/tessera-scalar.wasm) relative to this file, or takes the bytes, a
 * Response or a compiled WebAssembly.Module you pass.
 *
 * Browsers offer no mlock: keys live in a dedicated region of the module's
 * linear memory, zeroized on dispose() and by a FinalizationRegistry, but
 * the host may page them out like any other memory (docs/SECURITY.md).
 *
 * @module tessera/browser
 */
import { registerBackend, registerDefault } from '../backend/select';
import { WasmBackend } from '../backend/wasm';
import { detectFlavor, WASM_FILES, type WasmFlavor, WasmEngine } from '../backend/wasm-engine';
import { type PoolWorker, type TaskResult, WasmPool } from '../backend/wasm-pool';
import { TesseraError } from '../errors';

export { aead, AeadKey, type AadOptions, type AeadKeyOptions } from '../aead';
export { backend, useBackend, type BackendName } from '../backend/select';
export type { SecureMemoryStats } from '../backend/types';
export { TesseraError, ErrorCodes, type ErrorCode } from '../errors';
export { ALGORITHMS, type Algorithm, type MessageHeader, nonceLength, headerLength, parseHeader } from '../format';
export { SecureBuffer, secureMemoryStats } from '../secure';
export * from '../chunked/portable';

/** Options of init(). */
export interface InitOptions {
  /** false forces the scalar module (default: simd128 where WebAssembly.validate accepts it). */
  simd?: boolean;
  /** false: no Web Workers (chunked async work stays on this thread). Default: a pool of navigator.hardwareConcurrency workers. */
  workers?: boolean;
  /**
   * Async Cobblestone work uses Web Crypto's AES-GCM (the browser's
   * hardware AES; identical output) from this thread where crypto.subtle
   * exists, instead of the module on the workers. Default true (measured
   * faster: docs/BENCHMARKS.md); false keeps every byte in the WASM module.
   */
  webCrypto?: boolean;
}

/**
 * What init() compiles: a URL of the .wasm file, its bytes, a Response, or a compiled module.
 * @inline
 */
type Source = URL | string | Response | BufferSource | WebAssembly.Module;

function browserWorker(module: WebAssembly.Module, flavor: WasmFlavor): PoolWorker {
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  w.postMessage({ init: true, module, flavor });
  return {
    post: (msg, transfer) => w.postMessage(msg, transfer),
    onResult: (cb) => w.addEventListener('message', (ev: MessageEvent<TaskResult>) => cb(ev.data)),
    terminate: () => w.terminate(),
  };
}

async function compile(source: Source | undefined, flavor: WasmFlavor): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
  if (source instanceof Response) return compileResponse(source);
  const url = source ?? new URL(`../../../wasm/${WASM_FILES[flavor]}`, import.meta.url);
  // Node (SSR, tests) has no fetch for file: URLs: read the file through the
  // runtime's own module (process.getBuiltinModule, Node >= 20.16), with no
  // import a browser bundler would try to resolve.
  const builtin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (builtin && String(url).startsWith('file:')) {
    const fs = builtin('node:fs') as { readFileSync(p: URL): Uint8Array<ArrayBuffer> };
    return WebAssembly.compile(fs.readFileSync(new URL(String(url))));
  }
  return compileResponse(await fetch(url));
}

async function compileResponse(res: Response): Promise<WebAssembly.Module> {
  if (!res.ok) throw new TesseraError('ERR_BACKEND', `cannot fetch the tessera WebAssembly module (HTTP ${res.status})`);
  return WebAssembly.compile(await res.arrayBuffer());
}

let ready: WasmBackend | undefined;

/**
 * Loads the WASM engine; resolves once every API is usable. Idempotent.
 * @param source where the module comes from: its URL, bytes, a Response or a compiled
 *   WebAssembly.Module (default: wasm/tessera-simd.wasm or -scalar.wasm next to the package)
 * @param opts the module flavor, the Web Workers and Web Crypto (InitOptions)
 */
export async function init(source?: Source, opts: InitOptions = {}): Promise<void> {
  if (ready) return;
  const flavor: WasmFlavor = opts.simd === false ? 'scalar' : detectFlavor();
  let module: WebAssembly.Module;
  try {
    module = await compile(source, flavor);
  } catch (e) {
    throw e instanceof TesseraError ? e : new TesseraError('ERR_BACKEND', `cannot load the tessera WebAssembly module: ${(e as Error).message}`);
  }
  const cpus = typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 1;
  const canWork = opts.workers !== false && typeof Worker !== 'undefined';
  const b = new WasmBackend(new WasmEngine(module, flavor), new WasmPool(module, flavor, cpus, canWork ? browserWorker : undefined));
  b.webCryptoChunks = opts.webCrypto !== false && typeof crypto !== 'undefined' && crypto.subtle !== undefined;
  ready = b;
  registerBackend('wasm', () => b);
}

/**
 * Test hook, not API: the module flavor in use and what the worker pool did
 * so far (workers started, chunk tasks dispatched). undefined before init().
 * @internal
 */
export function __poolStats(): { flavor: WasmFlavor; workers: number; tasks: number } | undefined {
  return ready && { flavor: ready.engine.flavor, ...ready.workers.stats() };
}

registerDefault(() => {
  if (!ready) throw new TesseraError('ERR_BACKEND', 'tessera is not initialised: call `await init()` first');
  return ready;
});
