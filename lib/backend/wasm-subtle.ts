/**
 * Cobblestone chunks on Web Crypto (browsers: lib/browser/index.ts option
 * webCrypto, default on). crypto.subtle's AES-GCM is the browser's hardware
 * AES and gives the same bytes as the module (SP 800-38D); measured faster
 * for async chunk work than the module on the worker pool
 * (docs/BENCHMARKS.md), and fastest issued from the calling thread, since
 * the browser already runs each operation off the main thread.
 */
import { MAX_CHUNKS } from '../front/chunked';
import { STATUS } from '../front/status';
import { CHUNK_CT, CHUNK_PT } from './wasm-engine';

/** Chunk nonce of c2sp.org/chunked-encryption "AEAD usage": base nonce XOR the counter as a 96-bit big-endian integer. */
function chunkNonce(base: Uint8Array<ArrayBuffer>, counter: number): Uint8Array<ArrayBuffer> {
  const n = base.slice();
  const hi = Math.floor(counter / 2 ** 32),
    lo = counter >>> 0;
  const v = new DataView(n.buffer);
  v.setUint32(4, v.getUint32(4) ^ hi);
  v.setUint32(8, v.getUint32(8) ^ lo);
  return n;
}

/**
 * A run of consecutive chunks through crypto.subtle AES-GCM (both
 * Cobblestone suites are AES-GCM with 96-bit nonces, 128-bit tags and no
 * AAD), all chunks in flight at once. keyBytes is wiped once imported.
 * Resolves to a status and, on success, the output.
 */
export async function subtleRun(
  seal: boolean,
  keyBytes: Uint8Array<ArrayBuffer>,
  base: Uint8Array<ArrayBuffer>,
  counter: number,
  input: Uint8Array,
  final: boolean,
): Promise<{ st: number; out?: Uint8Array }> {
  const unit = seal ? CHUNK_PT : CHUNK_CT;
  const full = Math.floor(input.length / unit);
  const rest = input.length - full * unit;
  // The run was checked as a whole by the caller (wasm-chunked.ts #parse);
  // these repeat the shape rules so this function is safe on its own.
  if (!final && rest !== 0) return { st: STATUS.FORMAT };
  if (final && !seal && rest < 16) return { st: STATUS.TRUNCATED };
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < full; i++) pieces.push(input.subarray(i * unit, (i + 1) * unit));
  if (final) pieces.push(input.subarray(full * unit));
  if (counter + pieces.length > MAX_CHUNKS) return { st: STATUS.LENGTH };
  let key: CryptoKey;
  try {
    key = await globalThis.crypto.subtle.importKey('raw', keyBytes, 'AES-GCM', false, [seal ? 'encrypt' : 'decrypt']);
  } finally {
    keyBytes.fill(0);
  }
  const op = seal ? 'encrypt' : 'decrypt';
  let outs: ArrayBuffer[];
  try {
    outs = await Promise.all(
      pieces.map((p, i) =>
        globalThis.crypto.subtle[op]({ name: 'AES-GCM', iv: chunkNonce(base, counter + i), tagLength: 128 }, key, p as Uint8Array<ArrayBuffer>),
      ),
    );
  } catch {
    return { st: seal ? STATUS.INTERNAL : STATUS.AUTH }; // OperationError: a tag did not verify
  }
  const out = new Uint8Array(outs.reduce((s, o) => s + o.byteLength, 0));
  let at = 0;
  for (const o of outs) {
    out.set(new Uint8Array(o), at);
    if (!seal) new Uint8Array(o).fill(0);
    at += o.byteLength;
  }
  return { st: STATUS.OK, out };
}
