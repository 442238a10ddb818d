/**
 * The TSRF file envelope (docs/API.md "Command line", contract), written by the
 * CLI and the keyring around a Cobblestone ciphertext:
 *
 *   "TSRF" | version 0x01 | header length (uint32 BE) | header (UTF-8 JSON) | Cobblestone ciphertext
 *
 * The whole prefix, magic to the end of the header, is the Cobblestone
 * context, so the commitment authenticates the header: a changed header
 * fails as ERR_COMMITMENT before any chunk is decrypted.
 */
import { TesseraError } from '../errors';

export const ENVELOPE_MAGIC = 'TSRF';
export const ENVELOPE_VERSION = 1;
/** magic + version + header length */
export const ENVELOPE_FIXED = 9;
/** Headers are small JSON objects; anything larger is not ours. */
export const ENVELOPE_MAX_HEADER = 64 * 1024;

export type EnvelopeHeader = Record<string, unknown>;

export function encodeEnvelope(header: EnvelopeHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > ENVELOPE_MAX_HEADER)
    throw new TesseraError('ERR_ARGUMENT', `envelope header too large: ${json.length} bytes (at most ${ENVELOPE_MAX_HEADER})`);
  const out = new Uint8Array(ENVELOPE_FIXED + json.length);
  out.set(new TextEncoder().encode(ENVELOPE_MAGIC));
  out[4] = ENVELOPE_VERSION;
  new DataView(out.buffer).setUint32(5, json.length);
  out.set(json, ENVELOPE_FIXED);
  return out;
}

/**
 * The prefix length once `fixed` (at least ENVELOPE_FIXED bytes) is known;
 * ERR_FORMAT for anything that is not a TSRF v1 envelope.
 */
export function envelopeLength(fixed: Uint8Array): number {
  if (fixed.length < ENVELOPE_FIXED || new TextDecoder().decode(fixed.subarray(0, 4)) !== ENVELOPE_MAGIC)
    throw new TesseraError('ERR_FORMAT', 'not a tessera file (no TSRF envelope)');
  if (fixed[4] !== ENVELOPE_VERSION) throw new TesseraError('ERR_FORMAT', `unknown TSRF envelope version ${fixed[4]} (expected ${ENVELOPE_VERSION})`);
  const n = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength).getUint32(5);
  if (n > ENVELOPE_MAX_HEADER) throw new TesseraError('ERR_FORMAT', `TSRF header length ${n} exceeds ${ENVELOPE_MAX_HEADER} bytes`);
  return ENVELOPE_FIXED + n;
}

/** Parses a complete prefix (envelopeLength bytes). */
export function decodeEnvelope(prefix: Uint8Array): EnvelopeHeader {
  const n = envelopeLength(prefix);
  if (prefix.length !== n) throw new TesseraError('ERR_FORMAT', 'TSRF envelope cut short');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(ENVELOPE_FIXED)));
  } catch {
    throw new TesseraError('ERR_FORMAT', 'TSRF header is not valid UTF-8 JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new TesseraError('ERR_FORMAT', 'TSRF header is not a JSON object');
  return header as EnvelopeHeader;
}
