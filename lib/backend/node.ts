/**
 * Node's platform setup: both backends registered, the default chosen by
 * TESSERA_BACKEND ('native' | 'wasm'), else native, else, when the addon
 * cannot load, WASM with a TESSERA_BACKEND warning naming the reason.
 * TESSERA_WASM=scalar|simd forces a WASM module (tests run both).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { TesseraError } from '../errors';
import { createNativeEngine } from './native';
import { registerBackend, registerDefault } from './select';
import { WasmBackend } from './wasm';
import { detectFlavor, WASM_FILES, type WasmFlavor, WasmEngine } from './wasm-engine';
import { type PoolWorker, type TaskResult, WasmPool } from './wasm-pool';
import { packageRoot } from './package-root';
import type { Engine } from './types';

function nodeWorker(module: WebAssembly.Module, flavor: WasmFlavor): PoolWorker {
  const w = new Worker(path.join(__dirname, 'wasm-worker-node.js'));
  w.unref();
  w.postMessage({ init: true, module, flavor });
  return {
    post: (msg, transfer) => w.postMessage(msg, transfer),
    onResult: (cb) => w.on('message', (r: TaskResult) => cb(r)),
    terminate: () => void w.terminate(),
    busy: (on) => (on ? w.ref() : w.unref()),
  };
}

let wasm: WasmBackend | undefined;

function createWasmBackendNode(): WasmBackend {
  if (wasm) return wasm;
  const forced = process.env.TESSERA_WASM;
  if (forced !== undefined && forced !== '' && forced !== 'simd' && forced !== 'scalar')
    throw new TesseraError('ERR_BACKEND', "TESSERA_WASM must be 'simd' or 'scalar'");
  const flavor: WasmFlavor = forced ? (forced as WasmFlavor) : detectFlavor();
  const file = path.join(packageRoot(), 'wasm', WASM_FILES[flavor]);
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(fs.readFileSync(file)); // synchronous: Node allows it for any size
  } catch (e) {
    throw new TesseraError('ERR_BACKEND', `wasm backend unavailable: ${(e as Error).message}`);
  }
  const pool = new WasmPool(module, flavor, os.availableParallelism(), nodeWorker);
  return (wasm = new WasmBackend(new WasmEngine(module, flavor), pool));
}

registerBackend('native', createNativeEngine);
registerBackend('wasm', createWasmBackendNode);
registerDefault((): Engine => {
  const want = process.env.TESSERA_BACKEND;
  if (want === 'wasm') return createWasmBackendNode();
  if (want === 'native') return createNativeEngine();
  if (want !== undefined && want !== '') throw new TesseraError('ERR_BACKEND', "TESSERA_BACKEND must be 'native' or 'wasm'");
  try {
    return createNativeEngine();
  } catch (e) {
    process.emitWarning(
      `tessera: the native addon did not load (${(e as Error).message}); using the WebAssembly backend. Set TESSERA_BACKEND=native to make this an error.`,
      {
        code: 'TESSERA_BACKEND',
      },
    );
    return createWasmBackendNode();
  }
});
