/**
 * Argument checks of the front layer (docs/ARCHITECTURE.md "The front
 * layer"): every public call is checked here, once, before it reaches
 * either backend. Buffers must be Uint8Arrays over attached, non-shared
 * memory: a SharedArrayBuffer could change between authentication and use.
 */
import { type ErrorCode, TesseraError } from '../errors';

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v instanceof DataView ? 'DataView' : 'a typed array other than Uint8Array';
  if (v instanceof ArrayBuffer) return 'ArrayBuffer';
  return typeof v === 'object' ? 'object' : typeof v;
}

function isDetached(v: Uint8Array): boolean {
  if (v.byteLength !== 0 || v.buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(v.buffer); // throws on a detached buffer
    return false;
  } catch {
    return true;
  }
}

const EMPTY = new Uint8Array(0);

/** A Uint8Array over a non-shared, attached ArrayBuffer; `optional` maps undefined/null to empty. */
export function bytes(v: unknown, name: string, optional = false): Uint8Array {
  if (v instanceof Uint8Array && v.byteLength > 0 && !(typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer)) return v;
  if (!(v instanceof Uint8Array)) {
    if (optional && (v === undefined || v === null)) return EMPTY;
    throw new TesseraError('ERR_ARGUMENT', `${name} must be a Uint8Array (got ${typeName(v)})`);
  }
  if (typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer)
    throw new TesseraError('ERR_ARGUMENT', `${name} must not be backed by a SharedArrayBuffer`);
  if (isDetached(v)) throw new TesseraError('ERR_ARGUMENT', `${name} is backed by a detached ArrayBuffer`);
  return v;
}

export function checkLen(b: Uint8Array, want: number, code: ErrorCode, name: string): void {
  if (b.length !== want) throw new TesseraError(code, `${name} must be ${want} bytes (got ${b.length})`);
}

/** Whether two views share bytes of one buffer. */
export function overlaps(a: Uint8Array, alen: number, b: Uint8Array): boolean {
  return alen > 0 && b.length > 0 && a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + alen;
}

/** out holds need bytes; it may alias in exactly (in place) and must not overlap aad. */
export function checkOut(out: Uint8Array, need: number, input: Uint8Array | undefined, aad: Uint8Array | undefined): void {
  if (out.length < need) throw new TesseraError('ERR_ARGUMENT', `output buffer too small: need ${need} bytes (got ${out.length})`);
  if (input && overlaps(out, out.length, input) && out.byteOffset !== input.byteOffset)
    throw new TesseraError('ERR_ARGUMENT', 'output buffer partially overlaps the input (in-place must start at the same byte)');
  if (aad && overlaps(out, out.length, aad)) throw new TesseraError('ERR_ARGUMENT', 'output buffer overlaps the associated data');
}

/** An integer in [0, max]. */
export function integer(v: unknown, name: string, max: number): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= max) || !Number.isInteger(v))
    throw new TesseraError('ERR_ARGUMENT', `${name} must be an integer between 0 and ${max}`);
  return v;
}
