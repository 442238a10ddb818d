/**
 * The header of a keyring file (docs/API.md "Command line": the TSRF envelope;
 * lib/keys/envelope-file.ts writes and reads these files, and
 * keyring-streaming.ts streams of the same format): UTF-8 JSON
 *   { "suite": "cobblestone-256", "key": "kek",
 *     "kek": { "id": "<KekProvider.id>", "wrapped": "<base64 wrapped data key>" },
 *     "purpose": "files", "created": "<ISO 8601>", "metadata": { ... } }
 * Checking what a new header may hold (suite, metadata size), reading a
 * prefix off a file, the fields a keyring needs from a header (ERR_FORMAT,
 * naming `tessera encrypt` for a CLI file), and what a header says
 * (EnvelopeInfo, inspectEnvelope: readable without a key, unauthenticated
 * until the file decrypts).
 */
import { decodeEnvelope, type EnvelopeHeader, ENVELOPE_FIXED, ENVELOPE_VERSION, envelopeLength } from '../chunked/envelope';
import { openInput } from '../chunked/file';
import { type Input, readFull } from '../chunked/io';
import { type Suite, SUITES } from '../chunked/options';
import { TesseraError } from '../errors';
import { describe } from '../format';

/** What a keyring file's header says (inspectEnvelope, decrypt results). Unauthenticated until decrypted. */
export interface EnvelopeInfo {
  version: number;
  /** Prefix length: magic, version, length and header; the Cobblestone ciphertext starts here. */
  headerLength: number;
  /** 'kek' for keyring files; 'raw' / 'scrypt' for `tessera encrypt` files (whose other fields are undefined). */
  kind: 'kek' | 'raw' | 'scrypt' | 'unknown';
  suite: string | undefined;
  kekId: string | undefined;
  purpose: string | undefined;
  createdAt: string | undefined;
  metadata: Record<string, unknown> | undefined;
}

const MAX_METADATA = 16 * 1024;
/** RSA-OAEP 16384 bits gives 2048 bytes; anything longer is not a wrapped key. */
const MAX_WRAPPED = 4096;

/** The suite and metadata of a new keyring file or stream: ERR_ALGORITHM, ERR_ARGUMENT. */
export function sealOptions(opts: { suite?: Suite; metadata?: Record<string, unknown> }): { suite: Suite; metadata: Record<string, unknown> | undefined } {
  const suite = opts.suite ?? 'cobblestone-256';
  if (!SUITES.includes(suite)) throw new TesseraError('ERR_ALGORITHM', `unknown suite ${describe(suite)} (expected ${SUITES.join(' or ')})`);
  return { suite, metadata: checkMetadata(opts.metadata) };
}
function checkMetadata(m: unknown): Record<string, unknown> | undefined {
  if (m === undefined) return undefined;
  if (m === null || typeof m !== 'object' || Array.isArray(m))
    throw new TesseraError('ERR_ARGUMENT', `options.metadata must be a plain JSON object (got ${describe(m)})`);
  let json: string;
  try {
    json = JSON.stringify(m);
  } catch {
    throw new TesseraError('ERR_ARGUMENT', 'options.metadata must be JSON-serializable');
  }
  if (Buffer.byteLength(json) > MAX_METADATA) throw new TesseraError('ERR_ARGUMENT', `options.metadata is larger than ${MAX_METADATA} bytes as JSON`);
  return JSON.parse(json) as Record<string, unknown>;
}

/** Reads the TSRF prefix from the input's current position (files and pipes alike). */
export async function readPrefix(input: Input): Promise<Uint8Array> {
  const fixed = Buffer.alloc(ENVELOPE_FIXED);
  if ((await readFull(input, fixed, null)) < ENVELOPE_FIXED) throw new TesseraError('ERR_FORMAT', 'not a tessera file (too short)');
  const prefix = Buffer.alloc(envelopeLength(fixed));
  fixed.copy(prefix);
  if ((await readFull(input, prefix.subarray(ENVELOPE_FIXED), null)) < prefix.length - ENVELOPE_FIXED)
    throw new TesseraError('ERR_FORMAT', 'TSRF envelope cut short');
  return prefix;
}

function bad(what: string): never {
  throw new TesseraError('ERR_FORMAT', `TSRF header: ${what}`);
}

export function keyringFields(h: EnvelopeHeader): { suite: Suite; kekId: string; wrapped: Uint8Array } {
  if (h.kek === undefined && (h.key === 'raw' || h.kdf !== undefined))
    bad(`this file was made by \`tessera encrypt\` with a ${h.key === 'raw' ? 'raw key' : 'passphrase'}, not by a keyring (use \`tessera decrypt\`)`);
  if (h.key !== 'kek') bad('not a keyring file (no "key": "kek")');
  const suite = h.suite as Suite;
  if (!SUITES.includes(suite)) bad('unknown suite');
  const k = h.kek as Record<string, unknown> | null;
  if (k === null || typeof k !== 'object' || typeof k.id !== 'string' || typeof k.wrapped !== 'string') bad('no KEK id and wrapped key');
  if (k.wrapped.length > (MAX_WRAPPED * 4) / 3 + 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(k.wrapped) || k.wrapped.length % 4 !== 0)
    bad('the wrapped key is not base64');
  const w = Buffer.from(k.wrapped, 'base64');
  if (w.length === 0) bad('empty wrapped key');
  return { suite, kekId: k.id, wrapped: new Uint8Array(w.buffer, w.byteOffset, w.length) };
}

export function infoOf(h: EnvelopeHeader, headerLength: number): EnvelopeInfo {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const kek = h.kek !== null && typeof h.kek === 'object' ? (h.kek as Record<string, unknown>) : undefined;
  const meta = h.metadata !== null && typeof h.metadata === 'object' && !Array.isArray(h.metadata) ? (h.metadata as Record<string, unknown>) : undefined;
  const kind = h.key === 'kek' ? 'kek' : h.key === 'raw' ? 'raw' : h.kdf !== undefined ? 'scrypt' : 'unknown';
  return {
    version: ENVELOPE_VERSION,
    headerLength,
    kind,
    suite: str(h.suite),
    kekId: str(kek?.id),
    purpose: str(h.purpose),
    createdAt: str(h.created),
    metadata: meta,
  };
}

/** Reads a TSRF file's header without any key (keyring and CLI files). Nothing in it is authenticated until the file decrypts. */
export async function inspectEnvelope(path: string): Promise<EnvelopeInfo> {
  if (typeof path !== 'string') throw new TesseraError('ERR_ARGUMENT', `path must be a string (got ${describe(path)})`);
  const [input] = await openInput(path);
  try {
    const prefix = await readPrefix(input);
    return infoOf(decodeEnvelope(prefix), prefix.length);
  } finally {
    await input.close().catch(() => undefined);
  }
}
