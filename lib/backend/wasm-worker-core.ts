/**
 * One pool worker's work (wasm-pool.ts): a task of consecutive chunks
 * through this worker's own instance of the module, in raw mode (derived
 * key and base nonce, handed over per task and wiped after use), or, for
 * the AES-GCM suites where the pool was told to (browsers, measured faster:
 * README), through Web Crypto's AES-GCM, which gives the same bytes
 * (SP 800-38D) from the browser's hardware AES.
 */
import { CHUNK_CT, CHUNK_PT, MAX_CHUNKS, STATUS, WasmEngine, type WasmFlavor } from './wasm-engine';
import type { TaskMessage, TaskResult } from './wasm-pool';

/** Chunk nonce of c2sp.org/chunked-encryption "AEAD usage": base nonce XOR the counter as a 96-bit big-endian integer. */
function chunkNonce(base: Uint8Array<ArrayBuffer>, counter: number): Uint8Array<ArrayBuffer> {
  const n = base.slice();
  const hi = Math.floor(counter / 2 ** 32), lo = counter >>> 0;
  const v = new DataView(n.buffer);
  v.setUint32(4, v.getUint32(4) ^ hi);
  v.setUint32(8, v.getUint32(8) ^ lo);
  return n;
}

/** The task through crypto.subtle AES-GCM (both Cobblestone suites are AES-GCM with 96-bit nonces, 128-bit tags, no AAD). */
async function subtleTask(m: TaskMessage): Promise<TaskResult> {
  const input = new Uint8Array(m.input) as Uint8Array<ArrayBuffer>;
  const base = new Uint8Array(m.nonce) as Uint8Array<ArrayBuffer>;
  const counter = m.lo + m.hi * 2 ** 32;
  const unit = m.seal ? CHUNK_PT : CHUNK_CT;
  const full = Math.floor(input.length / unit);
  const rest = input.length - full * unit;
  // The run was checked as a whole by the caller (wasm-chunked.ts #parse);
  // the task repeats the shape rules that concern it.
  if (!m.final && rest !== 0) return { id: m.id, st: STATUS.FORMAT, out: new ArrayBuffer(0) };
  if (m.final && !m.seal && rest < 16) return { id: m.id, st: STATUS.TRUNCATED, out: new ArrayBuffer(0) };
  const pieces: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < full; i++) pieces.push(input.subarray(i * unit, (i + 1) * unit));
  if (m.final) pieces.push(input.subarray(full * unit));
  if (counter + pieces.length > MAX_CHUNKS) return { id: m.id, st: STATUS.LENGTH, out: new ArrayBuffer(0) };
  const keyBytes = new Uint8Array(m.key);
  let key: CryptoKey;
  try {
    key = await globalThis.crypto.subtle.importKey('raw', keyBytes, 'AES-GCM', false, [m.seal ? 'encrypt' : 'decrypt']);
  } finally {
    keyBytes.fill(0);
  }
  const op = m.seal ? 'encrypt' : 'decrypt';
  let outs: ArrayBuffer[];
  try {
    outs = await Promise.all(pieces.map((p, i) => globalThis.crypto.subtle[op]({ name: 'AES-GCM', iv: chunkNonce(base, counter + i), tagLength: 128 }, key, p)));
  } catch {
    return { id: m.id, st: m.seal ? STATUS.INTERNAL : STATUS.AUTH, out: new ArrayBuffer(0) }; // OperationError: a tag did not verify
  }
  const out = new Uint8Array(outs.reduce((s, o) => s + o.byteLength, 0));
  let at = 0;
  for (const o of outs) {
    out.set(new Uint8Array(o), at);
    if (!m.seal) new Uint8Array(o).fill(0);
    at += o.byteLength;
  }
  return { id: m.id, st: STATUS.OK, out: out.buffer };
}

export function taskRunner(module: WebAssembly.Module, flavor: WasmFlavor): (m: TaskMessage) => TaskResult | Promise<TaskResult> {
  const e = new WasmEngine(module, flavor);
  return (m) => {
    if (m.subtle) return subtleTask(m);
    const key = new Uint8Array(m.key);
    const input = new Uint8Array(m.input);
    const n = input.length;
    const room = n + (Math.floor(n / 16384) + 2) * 16;
    const base = e.scratch(32 + 12 + 4 + n + room);
    const kp = base, np = base + 32, lp = np + 12, ip = lp + 4, op = ip + n;
    let u8 = e.u8;
    u8.set(key, kp);
    key.fill(0);
    u8.set(new Uint8Array(m.nonce), np);
    u8.set(input, ip);
    const h = e.x.tsr_wasm_chunked_new(m.suite, kp, np, 0, 0, 1);
    e.u8.fill(0, kp, kp + 32);
    if (h === 0) return { id: m.id, st: e.x.tsr_wasm_status(), out: new ArrayBuffer(0) };
    const st = m.seal
      ? e.x.tsr_wasm_chunked_seal(h, m.lo, m.hi, ip, n, m.final ? 1 : 0, op)
      : e.x.tsr_wasm_chunked_open(h, m.lo, m.hi, ip, n, m.final ? 1 : 0, op, lp);
    e.x.tsr_wasm_chunked_free(h);
    u8 = e.u8;
    let len = 0;
    if (st === 0) len = m.seal ? n + (m.final ? Math.floor(n / 16384) + 1 : n / 16384) * 16 : new DataView(u8.buffer, lp, 4).getUint32(0, true);
    const out = u8.slice(op, op + len).buffer;
    u8.fill(0, ip, op + Math.max(len, m.seal ? 0 : n)); // no plaintext left in this worker's memory
    input.fill(0);
    return { id: m.id, st, out };
  };
}
