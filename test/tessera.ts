// The test suites load the built package through Node's own CommonJS loader
// (not Vite's transform), exactly as users get it, except that its native
// backend runs on the test build of the addon (build/Release/tessera_test.node,
// the same sources with the test hooks compiled in: test/test-build.cjs).
// `npm test` builds both addons and dist/ first; test/package.test.ts checks
// the shipped build/Release/tessera.node. The backend under test is the one
// TESSERA_BACKEND names (vitest.config.mts runs the backend-agnostic suites
// once per backend); TESSERA_WASM picks the WASM module.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The preload that puts a process's package on the test build of the addon (fails loudly if it is not built). */
export const TEST_BUILD_PRELOAD = path.join(root, 'test', 'test-build.cjs');
/** Node arguments for a child process that needs the test hooks: `spawn(process.execPath, [...TEST_BUILD_ARGS, '-e', code])`. */
export const TEST_BUILD_ARGS: readonly string[] = ['--require', TEST_BUILD_PRELOAD];
/** build/Release/tessera_test.node. Before the package: its first addon load must be this file. */
export const TEST_ADDON_FILE = (require(TEST_BUILD_PRELOAD) as { file: string }).file;
export const T = require('../dist/cjs/index.js') as typeof import('../dist/cjs/index');
/** The vendored test vectors (test/vectors/README.md names each file's source and licence). */
export const vectorsDir = path.join(root, 'test', 'vectors');

type Select = typeof import('../dist/cjs/backend/select');
type Backend = import('../dist/cjs/backend/types').Backend;
type ChunkedHandle = import('../dist/cjs/backend/types').ChunkedHandle;
type WasmBackend = import('../dist/cjs/backend/wasm').WasmBackend;
const select = require('../dist/cjs/backend/select.js') as Select;
/** The front layer over the engines (lib/front/backend.ts). */
export const front = require('../dist/cjs/front/backend.js') as typeof import('../dist/cjs/front/backend');
/** The active backend (TESSERA_BACKEND), and a backend by name (both registered by the Node entry). */
export const getBackend: Select['getBackend'] = select.getBackend;
export const makeBackend: Select['makeBackend'] = select.makeBackend;

/** The backend every suite of this process runs on: the one the project asked for, never a fallback. */
export const BACKEND = T.backend();
{
  const want = process.env.TESSERA_BACKEND;
  if (want && want !== BACKEND) throw new Error(`TESSERA_BACKEND=${want} but the active backend is ${BACKEND}`);
  const flavor = process.env.TESSERA_WASM;
  if (BACKEND === 'wasm' && flavor && (front.engineOf(getBackend()) as WasmBackend).engine.flavor !== flavor)
    throw new Error(`TESSERA_WASM=${flavor} but the wasm backend runs the ${(front.engineOf(getBackend()) as WasmBackend).engine.flavor} module`);
  const tier = process.env.TESSERA_NATIVE_KERNEL;
  if (BACKEND === 'native' && tier && tier !== 'auto' && T.nativeKernels()['aes-256-gcm'] !== tier)
    throw new Error(`TESSERA_NATIVE_KERNEL=${tier} but AES-GCM runs on ${T.nativeKernels()['aes-256-gcm']}`);
}

/** The native kernel tier of this process's AES-GCM keys ('wasm' on the wasm backend). */
export const TIER = T.nativeKernels()['aes-256-gcm'];

let loaded: Record<string, any> | undefined;
function loadTestAddon(): Record<string, any> {
  if (loaded) return loaded;
  const a = require('../dist/cjs/backend/native.js').loadAddon() as Record<string, any>;
  if (typeof a.testPeek !== 'function') throw new Error(`the package's addon has no test hooks: it is not ${TEST_ADDON_FILE}`);
  return (loaded = a);
}
/**
 * The raw native addon with test hooks: the test build the package's native
 * backend runs on in this process (test/test-build.cjs), so NativeKey has
 * testAddress() and testPeek() reads the same secure memory. Loaded on first
 * use, so suites running on the wasm backend never load it unless they touch it.
 */
export const addon: Record<string, any> = new Proxy({} as Record<string, any>, {
  get(_, name) {
    return loadTestAddon()[name as string];
  },
  has(_, name) {
    return name in loadTestAddon();
  },
});

/**
 * Cobblestone raw mode (spec appendix: the derived AEAD key and base nonce
 * given directly, no commitment), on the active backend or the one given.
 * Native: the addon's NativeChunked(..., 'raw'); wasm: the backend's
 * createChunkedRaw. Neither is public API.
 */
export function chunkedRaw(suite: 1 | 2, aeadKey: Uint8Array, baseNonce: Uint8Array, b: Backend = getBackend()): ChunkedHandle {
  const e = front.engineOf(b);
  return front.frontChunkedRaw(e, suite, aeadKey, baseNonce, (s, k, n) =>
    e.name === 'native' ? new addon.NativeChunked(s, k, n, undefined, 'raw') : (e as WasmBackend).createChunkedRaw(s, k as Uint8Array, n),
  );
}

/** Plaintext length of an n-byte chunk stream (ERR_TRUNCATED if impossible), by the active backend. */
export function chunkedOpenedLength(n: number, b: Backend = getBackend()): number {
  return b.chunkedOpenedLength(n);
}

/** The TesseraError code fn throws, or a description of what it did instead. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof T.TesseraError)) return `not a TesseraError: ${String(e)}`;
    return e.code;
  }
  return 'no error';
}

/** The TesseraError p rejects with; throws if p resolves or rejects with anything else. */
export async function rejects(p: Promise<unknown>): Promise<InstanceType<typeof T.TesseraError>> {
  try {
    await p;
  } catch (e) {
    if (e instanceof T.TesseraError) return e;
    throw new Error(`expected a TesseraError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a rejection');
}

/** sfc32: small, fast, seedable PRNG for reproducible differential cases. */
export function prng(seed: number) {
  let a = 0x9e3779b9,
    b = 0x243f6a88,
    c = 0xb7e15162,
    d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return { float: next, int: (n: number) => Math.floor(next() * n) };
}

/** Calls onLine with each line a child process writes to stdout. */
export function childLines(child: import('node:child_process').ChildProcess, onLine: (l: string) => void): void {
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}
