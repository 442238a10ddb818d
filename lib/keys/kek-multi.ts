/**
 * Multi-KEK envelopes (`kek.multi`, lib/keys/kek.ts): a data key wrapped
 * under several KEKs at once (two regions, two clouds, an HSM and a
 * passphrase), so that losing any one of them loses nothing.
 *
 * - wrap: every member wraps the data key (concurrently); if any member
 *   fails, so does the wrap (an envelope that silently left out a KEK would
 *   not be what the caller asked for).
 * - unwrap: members are tried one after another in the order given to
 *   `kek.multi`, each on its own entry; the first that answers wins. When
 *   none does, the error names each member's failure code (never a key
 *   byte); the code is the members' common code when they all failed alike
 *   (ERR_AUTH for an altered entry under every KEK), else ERR_KEK.
 * - id: 'multi:' + a domain-separated SHA-256 of the sorted member ids,
 *   truncated: the same members in any order are the same KEK, so the order
 *   of preference can change without re-wrapping anything.
 *
 * The envelope (untrusted input, parsed with exact bounds; ERR_FORMAT):
 *   "TKM1" | count (1 byte, 1..16) | count x [ id length (2 bytes, big
 *   endian, 1..256) | id (UTF-8) | wrapped length (4 bytes, big endian,
 *   1..65536) | wrapped ]
 * and nothing after the last entry.
 */
import { createHash } from 'node:crypto';

import { type ErrorCode, TesseraError } from '../errors';
import { describe } from '../format';
import type { KekProvider } from './kek-provider';

const MAGIC = [0x54, 0x4b, 0x4d, 0x31]; // "TKM1"
const MAX_MEMBERS = 16;
const MAX_ID = 256;
const MAX_WRAPPED = 65536;

function bad(what: string): never {
  throw new TesseraError('ERR_FORMAT', `multi-KEK envelope: ${what}`);
}

/** The envelope's entries, id -> wrapped bytes (views into `b`). */
export function parseMulti(b: Uint8Array): Map<string, Uint8Array> {
  if (!(b instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `wrapped must be a Uint8Array (got ${describe(b)})`);
  if (b.length < 5 || MAGIC.some((m, i) => b[i] !== m)) bad('not a multi-KEK envelope');
  const count = b[4]!;
  if (count < 1 || count > MAX_MEMBERS) bad(`${count} entries (1 to ${MAX_MEMBERS})`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Map<string, Uint8Array>();
  let at = 5;
  for (let i = 0; i < count; i++) {
    if (at + 2 > b.length) bad('cut short');
    const idLen = dv.getUint16(at);
    at += 2;
    if (idLen < 1 || idLen > MAX_ID || at + idLen + 4 > b.length) bad('bad id length');
    let id: string;
    try {
      id = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(at, at + idLen));
    } catch {
      bad('id is not UTF-8');
    }
    at += idLen;
    const n = dv.getUint32(at);
    at += 4;
    if (n < 1 || n > MAX_WRAPPED || at + n > b.length) bad('bad wrapped length');
    if (out.has(id)) bad('a KEK id appears twice');
    out.set(id, b.subarray(at, at + n));
    at += n;
  }
  if (at !== b.length) bad('bytes after the last entry');
  return out;
}

function encode(entries: [string, Uint8Array][]): Uint8Array {
  const ids = entries.map(([id]) => new TextEncoder().encode(id));
  const size = 5 + entries.reduce((s, [, w], i) => s + 2 + ids[i]!.length + 4 + w.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(MAGIC);
  out[4] = entries.length;
  let at = 5;
  entries.forEach(([, w], i) => {
    dv.setUint16(at, ids[i]!.length);
    out.set(ids[i]!, at + 2);
    at += 2 + ids[i]!.length;
    dv.setUint32(at, w.length);
    out.set(w, at + 4);
    at += 4 + w.length;
  });
  return out;
}

function codeOf(e: unknown): string {
  return e instanceof TesseraError ? e.code : 'error';
}

export interface MultiKekProvider extends KekProvider {
  /** The member ids in the order unwrap tries them. */
  readonly members: readonly string[];
}

/** Order-independent: the same members in any order are the same KEK. */
function multiId(ids: string[]): string {
  const h = createHash('sha256').update('tessera kek multi v1\0');
  for (const id of [...ids].sort()) h.update(id).update('\0');
  return `multi:${h.digest('hex').slice(0, 16)}`;
}

export function multi(members: readonly KekProvider[]): MultiKekProvider {
  if (!Array.isArray(members) || members.length < 1 || members.length > MAX_MEMBERS)
    throw new TesseraError('ERR_ARGUMENT', `kek.multi takes an array of 1 to ${MAX_MEMBERS} KEK providers (got ${describe(members)})`);
  for (const m of members)
    if (!m || typeof m.id !== 'string' || typeof m.wrap !== 'function' || typeof m.unwrap !== 'function')
      throw new TesseraError('ERR_ARGUMENT', 'kek.multi: every member must be a KekProvider');
  const list = members.slice();
  const ids = list.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new TesseraError('ERR_ARGUMENT', 'kek.multi: the same KEK is given twice');
  for (const id of ids)
    if (id.length === 0 || new TextEncoder().encode(id).length > MAX_ID)
      throw new TesseraError('ERR_ARGUMENT', `kek.multi: member id ${JSON.stringify(id.slice(0, 40))} is empty or too long`);
  const id = multiId(ids);
  // A member that had another id before (an HSM key's pre-RFC 7512 form) made another multi id.
  const former = list.map((m) => m.formerIds?.[0] ?? m.id);
  const formerIds = former.some((f, i) => f !== ids[i]) ? [multiId(former)] : undefined;
  return Object.freeze({
    id,
    ...(formerIds && { formerIds }),
    members: Object.freeze(ids.slice()),
    async wrap(dataKey: Uint8Array): Promise<Uint8Array> {
      const wrapped = await Promise.all(list.map((m) => m.wrap(dataKey)));
      for (const w of wrapped)
        if (!(w instanceof Uint8Array) || w.length < 1 || w.length > MAX_WRAPPED)
          throw new TesseraError('ERR_INTERNAL', 'kek.multi: a member returned an unusable wrapped key');
      return encode(list.map((m, i) => [m.id, wrapped[i]!]));
    },
    async unwrap(wrapped: Uint8Array): Promise<Uint8Array> {
      const entries = parseMulti(wrapped);
      const failures: [string, string][] = [];
      for (const m of list) {
        const w = entries.get(m.id) ?? m.formerIds?.map((f: string) => entries.get(f)).find((x: Uint8Array | undefined) => x !== undefined);
        if (w === undefined) continue;
        try {
          return await m.unwrap(w);
        } catch (e) {
          failures.push([m.id, codeOf(e)]);
        }
      }
      if (failures.length === 0)
        throw new TesseraError(
          'ERR_KEK',
          `kek.multi: the data key is wrapped under ${[...entries.keys()].join(', ')}; none of them is a member (${ids.join(', ')})`,
        );
      const codes = new Set(failures.map(([, c]) => c));
      const one = failures[0]![1];
      const code = codes.size === 1 && one !== 'error' ? (one as ErrorCode) : 'ERR_KEK';
      throw new TesseraError(code, `kek.multi: no member could unwrap (${failures.map(([i, c]) => `${i}: ${c}`).join('; ')})`);
    },
  });
}
