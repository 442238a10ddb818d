/**
 * Authentication of the keyring document (docs/API.md "Key manager"): key
 * material is stored wrapped by the KEK, and the metadata is authenticated.
 *
 * The MAC key is 32 random bytes made when the keyring is initialized and
 * stored wrapped by the KEK (`macKey`), so a KEK provider that can only
 * wrap and unwrap (AES-KWP, RSA-OAEP, an HSM) suffices. The MAC is
 * HMAC-SHA-256 over a domain label and the canonical serialization of every
 * field except `mac` (object keys sorted, no whitespace), so any edit of a
 * state, a count, a policy, a key id or wrapped key bytes is detected.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { TesseraError } from '../errors';
import type { KeyringDoc } from './store';

const LABEL = 'tessera keyring mac v1\0';

/** Deterministic JSON: sorted object keys, undefined members dropped. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(o[k])}`);
  }
  return `{${parts.join(',')}}`;
}

export function computeMac(macKey: Uint8Array, doc: Omit<KeyringDoc, 'mac'> | KeyringDoc): string {
  const { mac: _ignored, ...body } = doc as KeyringDoc;
  return createHmac('sha256', macKey).update(LABEL).update(canonicalJson(body)).digest('hex');
}

/** ERR_FORMAT if the document's MAC does not verify under macKey. */
export function verifyMac(macKey: Uint8Array, doc: KeyringDoc, where: string): void {
  const want = Buffer.from(computeMac(macKey, doc), 'hex');
  const got = Buffer.from(doc.mac, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new TesseraError('ERR_FORMAT', `${where}: the keyring document failed authentication (edited or corrupted)`);
  }
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function unb64(s: string): Uint8Array {
  const b = Buffer.from(s, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A deep copy (the documents are plain JSON). */
export function cloneDoc<T>(d: T): T {
  return JSON.parse(JSON.stringify(d)) as T;
}
