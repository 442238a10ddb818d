/** A Web Worker of the WASM backend's pool (lib/backend/wasm-pool.ts). */
import type { WasmFlavor } from '../backend/wasm-engine';
import type { TaskMessage } from '../backend/wasm-pool';
import { taskRunner } from '../backend/wasm-worker-core';

const scope = self as unknown as {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(msg: unknown, transfer: Transferable[]): void;
};
let run: ReturnType<typeof taskRunner> | undefined;
scope.onmessage = (ev) => {
  const m = ev.data as TaskMessage | { init: true; module: WebAssembly.Module; flavor: WasmFlavor };
  if ('init' in m) {
    run = taskRunner(m.module, m.flavor);
    return;
  }
  const r = run!(m);
  scope.postMessage(r, [r.buf]);
};
