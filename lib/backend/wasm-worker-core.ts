/**
 * One pool worker's work (wasm-pool.ts): a task of consecutive chunks
 * through this worker's own instance of the module, in raw mode (derived
 * key and base nonce, handed over per task and wiped after use).
 */
import { WasmEngine, type WasmFlavor } from './wasm-engine';
import type { TaskMessage, TaskResult } from './wasm-pool';

export function taskRunner(module: WebAssembly.Module, flavor: WasmFlavor): (m: TaskMessage) => TaskResult {
  const e = new WasmEngine(module, flavor);
  return (m) => {
    const key = new Uint8Array(m.key);
    const n = m.n;
    const input = new Uint8Array(m.buf, 0, n);
    // Before the layout below: runShape uses the scratch area too.
    const sealLen = m.seal ? e.runShape(true, n, m.final).outlen : 0;
    const base = e.scratch(32 + 12 + 4 + n + (m.seal ? sealLen : n));
    const kp = base,
      np = base + 32,
      lp = np + 12,
      ip = lp + 4,
      op = ip + n;
    let u8 = e.u8;
    u8.set(key, kp);
    key.fill(0);
    u8.set(new Uint8Array(m.nonce), np);
    u8.set(input, ip);
    const h = e.x.tsr_wasm_chunked_new(m.suite, kp, np, 0, 0, 1);
    e.u8.fill(0, kp, kp + 32);
    input.fill(0);
    if (h === 0) return { id: m.id, st: e.x.tsr_wasm_status(), buf: m.buf, len: 0 };
    const st = m.seal
      ? e.x.tsr_wasm_chunked_seal(h, m.lo, m.hi, ip, n, m.final ? 1 : 0, op)
      : e.x.tsr_wasm_chunked_open(h, m.lo, m.hi, ip, n, m.final ? 1 : 0, op, lp);
    e.x.tsr_wasm_chunked_free(h);
    u8 = e.u8;
    let len = 0;
    if (st === 0) len = m.seal ? sealLen : new DataView(u8.buffer, lp, 4).getUint32(0, true);
    new Uint8Array(m.buf).set(u8.subarray(op, op + len));
    u8.fill(0, ip, op + Math.max(len, m.seal ? 0 : n)); // no plaintext left in this worker's memory
    return { id: m.id, st, buf: m.buf, len };
  };
}
