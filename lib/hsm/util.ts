/** Small helpers of the PKCS#11 bridge (lib/hsm/pkcs11.ts). */
import { TesseraError } from '../errors';
import { describe } from '../format';
import type { Handle } from './errors';

/** A key in the token: its label (a string is a label) or its CKA_ID. */
export type Pkcs11KeyRef = string | { label: string } | { id: Uint8Array };

export const SESSION_GONE = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_OPERATION_ACTIVE',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
]);
export const HANDLE_GONE = new Set(['CKR_OBJECT_HANDLE_INVALID', 'CKR_KEY_HANDLE_INVALID']);
/**
 * The explicit answers to a failed AES-KWP integrity check or GCM tag check
 * (or input of a length no such check accepts): ERR_AUTH from unwrap and
 * decrypt. Not CKR_GENERAL_ERROR (ERR_PKCS11_DEVICE: SoftHSM reports a failed
 * check that way, but so does a token that is failing) nor
 * CKR_FUNCTION_FAILED (ERR_PKCS11: says nothing about the data).
 */
export const AUTH_FAILED = new Set(['CKR_WRAPPED_KEY_INVALID', 'CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_WRAPPED_KEY_LEN_RANGE']);
export const MAX_GCM = 64 * 1024;
export const GCM_IV = 12;
export const GCM_TAG = 16;

export function bytes(v: unknown, what: string, min = 0, max = Infinity): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `${what} must be a Uint8Array (got ${describe(v)})`);
  if (v.length < min || v.length > max) throw new TesseraError('ERR_ARGUMENT', `${what} must be ${min} to ${max} bytes (got ${v.length})`);
  return v;
}

export function refKey(ref: Pkcs11KeyRef): { key: string; label?: string; id?: Buffer; name: string } {
  if (typeof ref === 'string') ref = { label: ref };
  if (ref && typeof ref === 'object' && 'label' in ref && typeof ref.label === 'string' && ref.label.length > 0)
    return { key: `label:${ref.label}`, label: ref.label, name: `labelled '${ref.label}'` };
  if (ref && typeof ref === 'object' && 'id' in ref && ref.id instanceof Uint8Array && ref.id.length > 0) {
    const hex = Buffer.from(ref.id).toString('hex');
    return { key: `id:${hex}`, id: Buffer.from(ref.id), name: `with CKA_ID ${hex}` };
  }
  throw new TesseraError('ERR_ARGUMENT', `a key is named by a non-empty label or { id: Uint8Array } (got ${describe(ref)})`);
}

export function slotId(h: Handle): bigint {
  return h.length >= 8 ? h.readBigUInt64LE(0) : BigInt(h.readUInt32LE(0));
}

export function ulong(v: Buffer): number {
  return v.length >= 4 ? v.readUInt32LE(0) : v.readUInt8(0);
}

export function kwpLength(n: number): number {
  return n <= 8 ? 16 : 8 + Math.ceil(n / 8) * 8;
}
