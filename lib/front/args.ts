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

export const EMPTY = new Uint8Array(0);
/** SharedArrayBuffer, or a class nothing is an instance of where it is absent (browsers without cross-origin isolation). */
const SAB: abstract new (...a: never[]) => unknown = globalThis.SharedArrayBuffer ?? class {};
/** The buffer of an absent optional argument: shares bytes with nothing. */
const NO_BUFFER = new ArrayBuffer(0);

/** The worded refusal of v, or v if it is an empty view over an attached, non-shared buffer. */
function refuse(v: unknown, name: string, optional: boolean): Uint8Array {
  if (!(v instanceof Uint8Array)) {
    if (optional && (v === undefined || v === null)) return EMPTY;
    throw new TesseraError('ERR_ARGUMENT', `${name} must be a Uint8Array (got ${typeName(v)})`);
  }
  if (v.buffer instanceof SAB) throw new TesseraError('ERR_ARGUMENT', `${name} must not be backed by a SharedArrayBuffer`);
  if (isDetached(v)) throw new TesseraError('ERR_ARGUMENT', `${name} is backed by a detached ArrayBuffer`);
  return v;
}

/**
 * A Uint8Array over a non-shared, attached ArrayBuffer; `optional` maps
 * undefined/null to empty. `index` names an array element (`name[index]`),
 * the message built only when the element is refused.
 */
export function bytes(v: unknown, name: string, optional = false, index?: number): Uint8Array {
  if (v instanceof Uint8Array && v.length !== 0 && !(v.buffer instanceof SAB)) return v;
  return refuse(v, index === undefined ? name : `${name}[${index}]`, optional);
}

/**
 * The checks of bytes(), returning the view's buffer: reading `.buffer` is
 * the costly part of a typed array check, so the output rules below take it
 * from here instead of reading it again.
 */
export function bufferOf(v: unknown, name: string, optional = false): ArrayBufferLike {
  if (v instanceof Uint8Array) {
    const b = v.buffer;
    if (v.length !== 0 && !(b instanceof SAB)) return b;
    refuse(v, name, optional);
    return b;
  }
  refuse(v, name, optional);
  return NO_BUFFER;
}

export function checkLen(b: Uint8Array, want: number, code: ErrorCode, name: string): void {
  if (b.length !== want) throw new TesseraError(code, `${name} must be ${want} bytes (got ${b.length})`);
}

/** Whether [a, a + alen) and [b, b + blen) of one buffer share a byte. */
export function spans(a: number, alen: number, b: number, blen: number): boolean {
  return alen > 0 && blen > 0 && a < b + blen && b < a + alen;
}

export function tooSmall(need: number, got: number): TesseraError {
  return new TesseraError('ERR_ARGUMENT', `output buffer too small: need ${need} bytes (got ${got})`);
}

export function partialOverlap(): TesseraError {
  return new TesseraError('ERR_ARGUMENT', 'output buffer partially overlaps the input (in-place must start at the same byte)');
}

/** out (buffer ob) must not share a byte with aad (buffer ab). */
export function checkAad(out: Uint8Array, ob: ArrayBufferLike, aad: Uint8Array, ab: ArrayBufferLike): void {
  if (ob === ab && spans(out.byteOffset, out.length, aad.byteOffset, aad.length))
    throw new TesseraError('ERR_ARGUMENT', 'output buffer overlaps the associated data');
}

/** An integer in [0, max]. */
export function integer(v: unknown, name: string, max: number): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= max) || !Number.isInteger(v))
    throw new TesseraError('ERR_ARGUMENT', `${name} must be an integer between 0 and ${max}`);
  return v;
}
