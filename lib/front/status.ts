/**
 * The one mapping from the C core's status codes (tsr_status in
 * native/aead/tsr_aead.h) to TesseraError, for both backends: the WASM
 * backend calls it with the status an export returned, the native binding
 * calls it (registered by lib/backend/native.ts) when a C function fails.
 * Statuses that only follow an argument the front layer should have refused
 * (TSR_ERR_ARGUMENT, TSR_ERR_FORMAT on a short message) get a plain message:
 * lib/args.ts and lib/format.ts word those before the call.
 */
import { TesseraError } from '../errors';

export const STATUS = {
  OK: 0,
  AUTH: -1,
  ALGORITHM: -2,
  FORMAT: -3,
  LENGTH: -4,
  NOMEM: -5,
  INTERNAL: -6,
  TRUNCATED: -7,
  COMMITMENT: -8,
  BACKEND: -9,
  ARGUMENT: -10,
} as const;

/** Operations on chunk runs (c2sp.org/chunked-encryption) word AUTH and LENGTH for chunks. */
const CHUNK_OPS = new Set(['encrypt chunks', 'decrypt chunks']);

/**
 * op names the operation ("open", "decrypt chunks", ...). detail: for
 * TSR_ERR_BACKEND the reason the kernel cannot run, for a failed batch
 * message its index, for TSR_ERR_NOMEM where memory ran out.
 */
export function statusError(st: number, op: string, detail?: string | number): TesseraError {
  switch (st) {
    case STATUS.AUTH:
      if (CHUNK_OPS.has(op)) return new TesseraError('ERR_AUTH', 'chunked ciphertext: a chunk failed authentication (tampered, reordered or foreign data)');
      if (typeof detail === 'number') return new TesseraError('ERR_AUTH', `${op}: message ${detail} failed authentication`);
      return new TesseraError('ERR_AUTH', `${op}: authentication failed (wrong key, nonce, associated data, or tampered data)`);
    case STATUS.ALGORITHM:
      return new TesseraError('ERR_ALGORITHM', `${op}: unknown algorithm id`);
    case STATUS.FORMAT:
      return new TesseraError('ERR_FORMAT', `${op}: malformed message`);
    case STATUS.LENGTH:
      if (CHUNK_OPS.has(op)) return new TesseraError('ERR_ARGUMENT', 'chunked message: past the 2^38 chunk limit of c2sp.org/chunked-encryption');
      return new TesseraError('ERR_ARGUMENT', `${op}: input longer than the algorithm allows`);
    case STATUS.TRUNCATED:
      return new TesseraError('ERR_TRUNCATED', `${op}: ciphertext truncated or extended (the final chunk is missing or has an impossible length)`);
    case STATUS.COMMITMENT:
      return new TesseraError('ERR_COMMITMENT', `${op}: key commitment mismatch (wrong key, wrong context, or a tampered header)`);
    case STATUS.NOMEM:
      return new TesseraError('ERR_SECURE_MEMORY', `${op}: secure memory allocation failed (${detail ?? 'see secureMemoryStats()'})`);
    case STATUS.BACKEND:
      return new TesseraError('ERR_BACKEND', `${op}: ${detail ?? 'the native kernel cannot run on this CPU'}`);
    case STATUS.ARGUMENT:
      return new TesseraError('ERR_ARGUMENT', `${op}: output buffer too small or length out of range`);
    default:
      return new TesseraError('ERR_INTERNAL', `${op}: the crypto core reported an error`);
  }
}
