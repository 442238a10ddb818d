/**
 * Message format v1 (docs/API.md, contract) as seen from TypeScript:
 * algorithm names and ids, sizes, header inspection and the `tsr1.` text
 * form, and the one parser of the header. Sealing and opening happen in
 * the C code both backends run (native/message/tsr_message.c).
 */
import { TesseraError } from './errors';
import type { AlgId } from './backend/types';

export type Algorithm = 'aes-256-gcm' | 'chacha20-poly1305' | 'xchacha20-poly1305' | 'xaes-256-gcm';

export const ALGORITHMS: readonly Algorithm[] = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'];

const IDS = new Map<unknown, AlgId>([
  ['aes-256-gcm', 1],
  ['chacha20-poly1305', 2],
  ['xchacha20-poly1305', 3],
  ['xaes-256-gcm', 4],
]);

export const VERSION = 1;
export const KEY_BYTES = 32;
export const TAG_BYTES = 16;
export const TEXT_PREFIX = 'tsr1.';

export function algorithmId(alg: Algorithm): AlgId {
  const id = IDS.get(alg);
  if (id === undefined) {
    throw new TesseraError('ERR_ALGORITHM', `unknown algorithm ${describe(alg)} (expected one of ${ALGORITHMS.join(', ')})`);
  }
  return id;
}

/**
 * Names a wrong value without echoing it: a key or plaintext passed in the
 * wrong position must not end up in an error message. Only short
 * identifier-like strings are quoted.
 */
export function describe(v: unknown): string {
  if (typeof v === 'string') return v.length <= 24 && /^[A-Za-z0-9_.-]*$/.test(v) ? JSON.stringify(v) : `(a ${v.length}-character string)`;
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `(a ${v.length}-byte ${v.constructor.name})`;
  if (typeof v === 'object') return `(an object)`;
  return `(a ${typeof v})`;
}

export function algorithmName(id: number): Algorithm {
  const name = ALGORITHMS[id - 1];
  if (name === undefined) throw new TesseraError('ERR_ALGORITHM', `unknown algorithm id ${id}`);
  return name;
}

/**
 * Nonce length by algorithm id: 12 bytes (NIST SP 800-38D, RFC 8439), or 24
 * for the extended-nonce algorithms (draft-irtf-cfrg-xchacha, c2sp.org/XAES-256-GCM).
 * @internal
 */
export function nonceLengthOf(id: AlgId): number {
  return id === 3 || id === 4 ? 24 : 12;
}

/** Header length by algorithm id: version, algorithm, key id, nonce. @internal */
export function headerLengthOf(id: AlgId): number {
  return 6 + nonceLengthOf(id);
}

/** Nonce length: 12 bytes, or 24 for the extended-nonce algorithms. */
export function nonceLength(alg: Algorithm): number {
  return nonceLengthOf(algorithmId(alg));
}

export function headerLength(alg: Algorithm): number {
  return headerLengthOf(algorithmId(alg));
}

export interface MessageHeader {
  version: number;
  algorithm: Algorithm;
  keyId: number;
  nonce: Uint8Array;
  headerLength: number;
}

/**
 * The one parser of the message header: fields in wire order, each checked
 * before the length that depends on it, so a flipped byte gets the same
 * error whatever the message length. With `expect`, the message must also
 * belong to that key (algorithm, then key id). Both backends open only
 * messages that passed here (native/message/tsr_message.h).
 */
function readHeader(m: Uint8Array, expect?: { alg: AlgId; keyId: number }): number {
  if (m.length >= 1 && m[0] !== VERSION) throw new TesseraError('ERR_FORMAT', `unknown message format version ${m[0]} (expected 1)`);
  const id = m.length >= 2 ? m[1]! : (expect?.alg ?? 1);
  if (id < 1 || id > 4) throw new TesseraError('ERR_ALGORITHM', `message names an unknown algorithm id ${id}`);
  if (expect && id !== expect.alg)
    throw new TesseraError('ERR_ALGORITHM', `message was sealed with ${ALGORITHMS[id - 1]}, this key is ${ALGORITHMS[expect.alg - 1]}`);
  const hl = headerLengthOf(id as AlgId);
  if (m.length < hl + TAG_BYTES) throw new TesseraError('ERR_FORMAT', `message too short: ${m.length} bytes (at least ${hl + TAG_BYTES})`);
  if (expect) {
    const keyId = keyIdOf(m);
    if (keyId !== expect.keyId) throw new TesseraError('ERR_KEY_MISMATCH', `message was sealed under key id ${keyId}, this key has id ${expect.keyId}`);
  }
  return hl;
}

function keyIdOf(m: Uint8Array): number {
  return ((m[2]! << 24) | (m[3]! << 16) | (m[4]! << 8) | m[5]!) >>> 0;
}

/** Reads the header of a v1 message without decrypting it (e.g. to find the key id). */
export function parseHeader(message: Uint8Array): MessageHeader {
  if (!(message instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', 'message must be a Uint8Array');
  const hl = readHeader(message);
  return { version: VERSION, algorithm: ALGORITHMS[message[1]! - 1]!, keyId: keyIdOf(message), nonce: message.subarray(6, hl), headerLength: hl };
}

/** Checks that message is a v1 message of this key (algorithm id, key id); returns its header length. */
export function checkMessage(message: Uint8Array, alg: AlgId, keyId: number): number {
  return readHeader(message, { alg, keyId });
}

const B64URL = /^[A-Za-z0-9_-]*$/;

// Node's Buffer where it exists; btoa/atob in browsers (the same alphabet, no padding).
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

function b64urlEncode(b: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64urlDecode(body: string): Uint8Array {
  if (NodeBuffer) {
    const b = NodeBuffer.from(body, 'base64url');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const bin = atob(body.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (body.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** `tsr1.` + base64url (no padding) of the message bytes. */
export function toText(message: Uint8Array): string {
  return TEXT_PREFIX + b64urlEncode(message);
}

export function fromText(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TesseraError('ERR_ARGUMENT', `text must be a string (got ${typeof text})`);
  if (!text.startsWith(TEXT_PREFIX)) throw new TesseraError('ERR_FORMAT', `text form must start with "${TEXT_PREFIX}"`);
  const body = text.slice(TEXT_PREFIX.length);
  // Buffer's decoder skips junk; insist on canonical base64url so one
  // message has exactly one text form.
  if (!B64URL.test(body) || body.length % 4 === 1) throw new TesseraError('ERR_FORMAT', 'text form is not valid base64url');
  const bytes = b64urlDecode(body);
  if (b64urlEncode(bytes) !== body) throw new TesseraError('ERR_FORMAT', 'text form is not canonical base64url');
  return bytes;
}
