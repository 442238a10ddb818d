/**
 * Field-level encryption: encrypt chosen fields of plain objects (database
 * rows, JSON documents) into `tsr1.` strings with a Keyring, and back.
 *
 * API
 *   encryptFields(obj, fields, ring, purpose)          -> Promise<new object>
 *   decryptFields(obj, fields, ring, opts?)            -> Promise<new object>
 *   encryptFieldsBatch(records, fields, ring, purpose) -> Promise<new objects>
 *   decryptFieldsBatch(records, fields, ring, opts?)   -> Promise<new objects>
 * The single-object forms are the batch forms with one record.
 *
 * Native calls: for each field path, every value of that path across all
 * records (and all array elements, below) is sealed with ONE
 * AeadKey.sealBatch call under the purpose's primary key
 * (ring.aead(purpose).encryptBatch: same create / rotation-policy / count
 * rules as encrypt, counting one message per value). Decryption groups each
 * path's messages by key id and calls AeadKey.openBatch once per key
 * (ring.aead().decryptBatch), so records written under several key versions
 * (before and after a rotation) decrypt together.
 *
 * Paths: property names joined by '.', e.g. 'email', 'address.street'. A
 * segment ending in '[]' means "every element of this array":
 * 'phones[]' (each element is a value), 'contacts[].email' (each element
 * is an object). Property names containing '.', '[' or ']' cannot be
 * named; '__proto__', 'constructor' and 'prototype' are refused
 * (ERR_ARGUMENT), as are duplicate paths and a path that is a prefix of
 * another ('a' with 'a.b'). A missing property, or an undefined value, is
 * skipped (left absent / undefined), as is a null or missing object or
 * array on the way; anything else on the way that is not a plain object
 * (or an array for '[]') is ERR_ARGUMENT.
 *
 * Values and what round-trips (the first plaintext byte is a type tag):
 *   string      -> 's' + UTF-8            -> the same string (lone
 *                  surrogates become U+FFFD, as UTF-8 requires)
 *   Uint8Array  -> 'b' + the bytes        -> a Uint8Array with the same
 *                  bytes (a Buffer comes back as a plain Uint8Array)
 *   number (finite), boolean, null -> 'j' + JSON -> the same value,
 *                  except -0 which comes back as 0
 * Anything else (NaN, Infinity, bigint, objects, arrays as values, Dates,
 * functions, symbols) is ERR_ARGUMENT naming the path; no value of any
 * path is sealed before every value has been checked.
 *
 * Binding: each message's associated data is "tessera field v1" || 0x00
 * || the path as written, so a ciphertext moved to another field (or a
 * field renamed after encryption) fails with ERR_AUTH. Ciphertexts of the
 * same path can still be swapped between records (one sealBatch shares one
 * aad); use ring.aead(purpose).encrypt with a per-row aad where that matters.
 *
 * Decrypt: a string starting with 'tsr1.' is opened (a malformed one is
 * ERR_FORMAT, a tampered one ERR_AUTH, and the failure is audited). Any
 * other present value (plain text, numbers, null) is ERR_FORMAT by default,
 * so that a plaintext value written into an encrypted column is noticed;
 * with { allowPlaintext: true } such values are left as they are (useful
 * while migrating a column to encryption).
 *
 * No input is mutated: the result shares untouched branches with the input
 * and copies every object and array on the paths it writes. Plaintext
 * encodings and opened buffers are wiped after use (strings cannot be).
 */
import { TesseraError } from '../errors';
import { describe, fromText, toText } from '../format';
import type { Keyring } from './keyring';

/** Options of decryptFields / decryptFieldsBatch. */
export interface DecryptFieldsOptions {
  /** Leave values that are not tsr1. strings as they are (default false: ERR_FORMAT). */
  allowPlaintext?: boolean;
}

type Obj = Record<string, unknown>;
interface Seg {
  key: string;
  each: boolean;
}
interface Slot {
  holder: Obj | unknown[];
  key: string | number;
  value: unknown;
}
interface Path {
  text: string;
  segs: Seg[];
  aad: Uint8Array;
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const SEG = /^([^.[\]]+)(\[\])?$/;
const AAD_LABEL = 'tessera field v1\0';
const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });
const TAG_STRING = 0x73; // 's'
const TAG_BYTES = 0x62; // 'b'
const TAG_JSON = 0x6a; // 'j'

function isPlain(v: unknown): v is Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function parsePaths(fields: unknown): Path[] {
  if (!Array.isArray(fields)) throw new TesseraError('ERR_ARGUMENT', 'fields must be an array of path strings');
  const paths: Path[] = [];
  for (const f of fields) {
    if (typeof f !== 'string' || f === '') throw new TesseraError('ERR_ARGUMENT', `field path must be a non-empty string (got ${describe(f)})`);
    const segs = f.split('.').map((s) => {
      const m = SEG.exec(s);
      if (!m || FORBIDDEN.has(m[1]!)) throw new TesseraError('ERR_ARGUMENT', `invalid field path ${JSON.stringify(f)}`);
      return { key: m[1]!, each: m[2] !== undefined };
    });
    paths.push({ text: f, segs, aad: utf8.encode(AAD_LABEL + f) });
  }
  for (const a of paths) {
    for (const b of paths) {
      if (a === b || a.segs.length > b.segs.length) continue;
      if (a.segs.every((s, i) => s.key === b.segs[i]!.key)) {
        throw new TesseraError(
          'ERR_ARGUMENT',
          a.segs.length === b.segs.length
            ? `field path ${JSON.stringify(a.text)} given twice`
            : `field path ${JSON.stringify(a.text)} contains ${JSON.stringify(b.text)}`,
        );
      }
    }
  }
  return paths;
}

/** Copy-on-write: holder[key] replaced by a copy (once per result). */
function own<T extends Obj | unknown[]>(holder: Obj | unknown[], key: string | number, v: T, copied: WeakSet<object>): T {
  if (copied.has(v)) return v;
  const c = (Array.isArray(v) ? v.slice() : Object.assign(Object.create(Object.getPrototypeOf(v)), v)) as T;
  copied.add(c);
  (holder as Obj)[key as string] = c;
  return c;
}

/** Every present value of path in root (a copy made by the caller), with where to write it back. */
function collect(root: Obj, p: Path, copied: WeakSet<object>, out: Slot[]): void {
  const walk = (holder: Obj, i: number): void => {
    const { key, each } = p.segs[i]!;
    if (!Object.prototype.hasOwnProperty.call(holder, key)) return;
    const v = holder[key];
    const last = i === p.segs.length - 1;
    if (v === undefined || (v === null && (each || !last))) return;
    const where = `field ${JSON.stringify(p.text)}`;
    if (!each) {
      if (last) out.push({ holder, key, value: v });
      else if (isPlain(v)) walk(own(holder, key, v, copied), i + 1);
      else throw new TesseraError('ERR_ARGUMENT', `${where}: ${JSON.stringify(key)} is not a plain object`);
      return;
    }
    if (!Array.isArray(v)) throw new TesseraError('ERR_ARGUMENT', `${where}: ${JSON.stringify(key)} is not an array`);
    const arr = own(holder, key, v, copied);
    for (let j = 0; j < arr.length; j++) {
      const e = arr[j];
      if (last) {
        if (e !== undefined) out.push({ holder: arr, key: j, value: e });
      } else if (isPlain(e)) {
        walk(own(arr, j, e, copied), i + 1);
      } else if (e !== undefined && e !== null) {
        throw new TesseraError('ERR_ARGUMENT', `${where}: element ${j} of ${JSON.stringify(key)} is not a plain object`);
      }
    }
  };
  walk(root, 0);
}

/** Copies every record and finds every path's values. */
function gather(records: unknown, fields: unknown): { out: Obj[]; paths: Path[]; slots: Slot[][] } {
  if (!Array.isArray(records)) throw new TesseraError('ERR_ARGUMENT', 'records must be an array of plain objects');
  const paths = parsePaths(fields);
  const copied = new WeakSet<object>();
  const out = records.map((r, i) => {
    if (!isPlain(r)) throw new TesseraError('ERR_ARGUMENT', `record ${i} is not a plain object (got ${describe(r)})`);
    const c = Object.assign(Object.create(Object.getPrototypeOf(r)), r) as Obj;
    copied.add(c);
    return c;
  });
  const slots = paths.map((p) => {
    const s: Slot[] = [];
    for (const r of out) collect(r, p, copied, s);
    return s;
  });
  return { out, paths, slots };
}

function checkRing(ring: unknown): Keyring {
  const r = ring as Keyring;
  if (!r || typeof r.aead !== 'function') throw new TesseraError('ERR_ARGUMENT', 'ring must be a Keyring');
  return r;
}

function encodeValue(v: unknown, path: string): Uint8Array {
  let tag: number;
  let body: Uint8Array;
  if (typeof v === 'string') {
    tag = TAG_STRING;
    body = utf8.encode(v);
  } else if (v instanceof Uint8Array) {
    tag = TAG_BYTES;
    body = v;
  } else if (v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
    tag = TAG_JSON;
    body = utf8.encode(JSON.stringify(v));
  } else {
    throw new TesseraError(
      'ERR_ARGUMENT',
      `field ${JSON.stringify(path)}: cannot encrypt ${typeof v === 'number' ? String(v) : describe(v)} (strings, Uint8Array, finite numbers, booleans and null only)`,
    );
  }
  const out = new Uint8Array(body.length + 1);
  out[0] = tag;
  out.set(body, 1);
  if (tag === TAG_STRING) body.fill(0);
  return out;
}

function decodeValue(pt: Uint8Array, path: string): unknown {
  const body = pt.subarray(1);
  try {
    switch (pt[0]) {
      case TAG_STRING:
        return utf8d.decode(body);
      case TAG_BYTES:
        return body.slice();
      case TAG_JSON: {
        const v: unknown = JSON.parse(utf8d.decode(body));
        if (v === null || typeof v === 'boolean' || typeof v === 'number') return v;
        break;
      }
    }
  } catch {
    // fall through
  }
  throw new TesseraError('ERR_FORMAT', `field ${JSON.stringify(path)}: the decrypted value has an unknown encoding`);
}

/**
 * Encrypts `fields` of every record: one sealBatch per path across all
 * records. Returns new objects; the records are not modified.
 */
export async function encryptFieldsBatch(
  records: readonly object[],
  fields: readonly string[],
  ring: Keyring,
  purpose: string,
): Promise<Record<string, unknown>[]> {
  const aead = checkRing(ring).aead(purpose);
  const { out, paths, slots } = gather(records, fields);
  const plains = paths.map((p, i) => slots[i]!.map((s) => encodeValue(s.value, p.text)));
  try {
    for (let i = 0; i < paths.length; i++) {
      if (slots[i]!.length === 0) continue;
      const sealed = await aead.encryptBatch(plains[i]!, { aad: paths[i]!.aad });
      slots[i]!.forEach((s, j) => {
        (s.holder as Obj)[s.key as string] = toText(sealed[j]!);
      });
    }
  } finally {
    for (const ps of plains) for (const p of ps) p.fill(0);
  }
  return out;
}

/**
 * Decrypts `fields` of every record: per path, the messages are grouped
 * by key id and opened with one openBatch per key. All or nothing.
 */
export async function decryptFieldsBatch(
  records: readonly object[],
  fields: readonly string[],
  ring: Keyring,
  opts?: DecryptFieldsOptions,
): Promise<Record<string, unknown>[]> {
  const aead = checkRing(ring).aead();
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TesseraError('ERR_ARGUMENT', 'options must be an object');
  const allowPlain = opts?.allowPlaintext ?? false;
  if (typeof allowPlain !== 'boolean') throw new TesseraError('ERR_ARGUMENT', 'allowPlaintext must be a boolean');
  const { out, paths, slots } = gather(records, fields);
  const messages = paths.map((p, i) => {
    const ms: Uint8Array[] = [];
    slots[i] = slots[i]!.filter((s) => {
      if (typeof s.value === 'string' && s.value.startsWith('tsr1.')) {
        ms.push(fromText(s.value));
        return true;
      }
      if (allowPlain) return false;
      throw new TesseraError(
        'ERR_FORMAT',
        `field ${JSON.stringify(p.text)}: ${describe(s.value)} is not a tsr1. string (pass allowPlaintext to leave such values as they are)`,
      );
    });
    return ms;
  });
  for (let i = 0; i < paths.length; i++) {
    if (messages[i]!.length === 0) continue;
    const pts = await aead.decryptBatch(messages[i]!, { aad: paths[i]!.aad });
    try {
      slots[i]!.forEach((s, j) => {
        (s.holder as Obj)[s.key as string] = decodeValue(pts[j]!, paths[i]!.text);
      });
    } finally {
      for (const p of pts) p.fill(0);
    }
  }
  return out;
}

/** encryptFieldsBatch of one object. */
export async function encryptFields(obj: object, fields: readonly string[], ring: Keyring, purpose: string): Promise<Record<string, unknown>> {
  return (await encryptFieldsBatch([obj], fields, ring, purpose))[0]!;
}

/** decryptFieldsBatch of one object. */
export async function decryptFields(obj: object, fields: readonly string[], ring: Keyring, opts?: DecryptFieldsOptions): Promise<Record<string, unknown>> {
  return (await decryptFieldsBatch([obj], fields, ring, opts))[0]!;
}
