/** A worker_threads pool worker of the WASM backend (wasm-pool.ts, wasm-worker-core.ts). */
import { parentPort } from 'node:worker_threads';

import type { WasmFlavor } from './wasm-engine';
import type { TaskMessage } from './wasm-pool';
import { taskRunner } from './wasm-worker-core';

let run: ReturnType<typeof taskRunner> | undefined;
parentPort!.on('message', (m: TaskMessage | { init: true; module: WebAssembly.Module; flavor: WasmFlavor }) => {
  if ('init' in m) {
    run = taskRunner(m.module, m.flavor);
    return;
  }
  const r = run!(m);
  parentPort!.postMessage(r, [r.buf]);
});
