/**
 * The native backend: the N-API addon (native/node) built by node-gyp at
 * install time, or a prebuild from prebuilds/ when present (node-gyp-build).
 */
import { TesseraError } from '../errors';
import { statusError } from '../front/status';
import { packageRoot } from './package-root';
import type { AlgId, Engine, EngineChunked, EngineKey, OutputMemoryStats, PoolInfo, SecureMemoryStats, SuiteId } from './types';

interface Addon {
  /** The binding's own conversion errors (TesseraError) and its C status codes (lib/front/status.ts). */
  setErrors(ctor: typeof TesseraError, status: typeof statusError): void;
  rawSeal: Engine['rawSeal'];
  rawOpen: Engine['rawOpen'];
  rawSealInto: Engine['rawSealInto'];
  rawOpenInto: Engine['rawOpenInto'];
  NativeKey: new (alg: AlgId, key: Uint8Array | undefined, keyId: number) => EngineKey;
  secureMemoryStats(): SecureMemoryStats;
  kernels: Engine['kernels'];
  setKernel(name: string): void;
  NativeChunked: new (suite: SuiteId, key: Uint8Array | EngineKey, salt: Uint8Array, context: Uint8Array, mode?: 'raw') => EngineChunked;
  /** [status, chunks, output bytes] of a run (tsr_chunked_run_shape). */
  chunkedRunShape(seal: boolean, inputLength: number, final: boolean): [number, number, number];
  chunkedOpenedLength(n: number): number;
  allocOutput(n: number): Uint8Array;
  outputMemory(limit?: number): OutputMemoryStats;
  pool(size?: number): PoolInfo;
  secureAlloc(n: number): [ArrayBuffer, unknown];
  secureDispose(buffer: ArrayBuffer, handle: unknown): void;
}

let addon: Addon | undefined;
let addonFile: string | undefined;

/**
 * Internal, not exported by the package entry: load the addon from this
 * .node file instead of node-gyp-build's choice. The test suites use it
 * (test/test-build.cjs) to run the package on the test build of the addon,
 * build/Release/tessera_test.node; nothing else calls it. Only before the
 * addon is first loaded. Harmless as an API: whoever can call it can already
 * load any addon file with require().
 */
export function useAddonFile(file: string): void {
  if (addon && addonFile !== file) throw new TesseraError('ERR_BACKEND', 'the native addon is already loaded');
  addonFile = file;
}

/** The raw addon (also used by the test suite's hooks). */
export function loadAddon(): Addon {
  if (addon) return addon;
  let loaded: Addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy, on first use: a .node addon (or node-gyp-build's pick) is loaded with require, and only when the native backend is wanted
    loaded = (addonFile ? require(addonFile) : require('node-gyp-build')(packageRoot())) as Addon;
  } catch (e) {
    throw new TesseraError('ERR_BACKEND', `native backend unavailable: ${(e as Error).message}`);
  }
  // The test build (testPeek reads any address) runs only when named by
  // useAddonFile, never because node-gyp-build found it (TESSERA_PREBUILD, a
  // stray file in build/Release).
  if (!addonFile && 'testPeek' in loaded)
    throw new TesseraError('ERR_BACKEND', 'native backend unavailable: refusing the test build of the addon (tessera_test.node)');
  loaded.setErrors(TesseraError, statusError);
  const threads = process.env.TESSERA_THREADS;
  if (threads !== undefined && threads !== '') {
    const n = Number(threads);
    if (!Number.isInteger(n) || n < 0 || n > 64) throw new TesseraError('ERR_BACKEND', 'TESSERA_THREADS must be an integer from 0 to 64');
    loaded.pool(n);
  }
  addon = loaded;
  return loaded;
}

export function createNativeEngine(): Engine {
  const a = loadAddon();
  const outMin = a.outputMemory().minBytes;
  const Key = a.NativeKey;
  return {
    name: 'native',
    rawSeal: a.rawSeal,
    rawOpen: a.rawOpen,
    rawSealInto: a.rawSealInto,
    rawOpenInto: a.rawOpenInto,
    createKey: (alg, key, keyId) => new Key(alg, key, keyId),
    secureMemoryStats: a.secureMemoryStats,
    kernels: a.kernels,
    setKernel: a.setKernel,
    createChunked: (suite, key, salt, context) => new a.NativeChunked(suite, key, salt, context),
    runShape: (seal, n, final) => {
      const [st, chunks, outlen] = a.chunkedRunShape(seal, n, final);
      return { st, chunks, outlen };
    },
    chunkedOpenedLength: a.chunkedOpenedLength,
    pool: a.pool,
    // Not zero-filled: the chunk engine writes every byte. Small outputs from
    // Node's allocator; from outMin bytes the addon's resident output blocks
    // while they last (NewBuffer in native/node/addon.cc, docs/API.md "Output memory").
    allocOutput: (n) => (n >= outMin ? a.allocOutput(n) : Buffer.allocUnsafeSlow(n)),
    outputMemory: a.outputMemory,
    secureAlloc: a.secureAlloc,
    secureDispose: a.secureDispose,
  };
}
