/**
 * What the property suites (test/*.property.test.ts) share: mutations of
 * valid inputs (bytes and parsed JSON documents), strings and values that
 * parsers written in JavaScript tend to mishandle (prototype property names,
 * lone surrogates, numbers at integer bounds), and the outcome of a call as
 * "ok" or a TesseraError code, so that a property can require one of an
 * expected set of codes and nothing else.
 */
import fc from 'fast-check';

import { prng, T } from './tessera';

/** A call's outcome: 'ok', the TesseraError code, or a description of any other throw (never an expected code). */
export function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof T.TesseraError ? e.code : `not a TesseraError: ${e instanceof Error ? e.stack : String(e)}`;
  }
}

/** outcome() of a promise. */
export async function outcomeAsync(p: () => Promise<unknown>): Promise<string> {
  try {
    await p();
    return 'ok';
  } catch (e) {
    return e instanceof T.TesseraError ? e.code : `not a TesseraError: ${e instanceof Error ? e.stack : String(e)}`;
  }
}

export const equalBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** n bytes from a seeded generator: large inputs without generating every byte through fast-check (shrinks by length). */
export function seededBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.int(256);
  return out;
}

/** Object keys that code reading `obj[name]` can confuse with inherited properties. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'length', '0'] as const;

/** Strings a parser of ours may meet: any string, lone surrogates, base64 / hex look-alikes, prototype names, and `extra` (the format's own names). */
export function awkwardString(extra: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 24 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.constantFrom(...PROTO_KEYS, '', ' ', '\u0000', '\ud800', '\udfff', 'A', 'AA==', 'AAAA', '====', '0'.repeat(64), 'f'.repeat(63), '-_', '+/', ...extra),
    fc.base64String({ maxLength: 64 }),
    fc.stringMatching(/^[0-9a-f]{0,70}$/),
  );
}

/** JSON values a document field may be replaced with: anything JSON, plus values at the edges of the checks. */
export function awkwardJson(extra: readonly string[] = []): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    { weight: 3, arbitrary: awkwardString(extra) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        null,
        true,
        false,
        0,
        -0,
        1,
        -1,
        2,
        1.5,
        1e-9,
        0xffffffff,
        2 ** 32,
        2 ** 53,
        2 ** 53 + 2,
        Number.MAX_SAFE_INTEGER,
        -Number.MAX_SAFE_INTEGER,
        1e308,
        [],
        {},
        [null],
        { '': null },
      ),
    },
    { weight: 1, arbitrary: fc.integer() },
  );
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * A structural edit of a parsed JSON document: walk `path` (each number picks
 * a child, modulo the children there), then at the node reached replace a
 * child, delete one, add a member (any key, prototype names included, set as
 * an own property as JSON.parse would), or replace the node's whole value.
 */
export interface JsonEdit {
  path: number[];
  op: 'replace' | 'delete' | 'add' | 'swap';
  key: string;
  value: unknown;
  /** swap: the sibling (modulo the siblings there) whose value trades places. */
  other: number;
}

export function jsonEdit(extra: readonly string[] = []): fc.Arbitrary<JsonEdit> {
  return fc.record({
    path: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
    op: fc.constantFrom('replace', 'replace', 'delete', 'add', 'swap'),
    key: fc.oneof(fc.constantFrom(...PROTO_KEYS), awkwardString(extra)),
    value: awkwardJson(extra),
    other: fc.nat(),
  });
}

const isContainer = (v: unknown): v is Json[] | Record<string, Json> => typeof v === 'object' && v !== null;
const setOwn = (o: object, k: string | number, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/** The document after edits (a deep copy: the input is not changed). */
export function applyJsonEdits<T>(doc: T, edits: readonly JsonEdit[]): T {
  const root: { v: unknown } = { v: JSON.parse(JSON.stringify(doc)) };
  for (const e of edits) {
    let parent: Json[] | Record<string, Json> = root as unknown as Record<string, Json>;
    let slot: string | number = 'v';
    for (const pick of e.path) {
      const cur: unknown = (parent as Record<string, unknown>)[slot];
      if (!isContainer(cur)) break;
      const keys: (string | number)[] = Array.isArray(cur) ? cur.map((_, i) => i) : Object.keys(cur);
      if (keys.length === 0) break;
      parent = cur;
      slot = keys[pick % keys.length]!;
    }
    const target = (parent as Record<string, unknown>)[slot];
    switch (e.op) {
      case 'replace':
        setOwn(parent, slot, JSON.parse(JSON.stringify(e.value ?? null)));
        break;
      case 'delete':
        if (parent === (root as unknown)) setOwn(parent, slot, null);
        else if (Array.isArray(parent)) parent.splice(slot as number, 1);
        else delete parent[slot as string];
        break;
      case 'add':
        if (Array.isArray(target)) target.push(JSON.parse(JSON.stringify(e.value ?? null)));
        else if (isContainer(target)) setOwn(target, e.key, JSON.parse(JSON.stringify(e.value ?? null)));
        else setOwn(parent, slot, [target, e.value ?? null]);
        break;
      case 'swap': {
        // The value of one member moves to a sibling (a type-correct but wrong value).
        const keys = Array.isArray(parent) ? parent.map((_, i) => i) : Object.keys(parent);
        const other = keys[e.other % keys.length]!;
        const tmp = (parent as Record<string, unknown>)[other];
        setOwn(parent, other, target);
        setOwn(parent, slot, tmp);
        break;
      }
    }
  }
  return root.v as T;
}

/** One edit of a byte string; applied in order by applyByteEdits. */
export type ByteEdit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; data: Uint8Array }
  | { op: 'insert'; at: number; data: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'duplicate'; at: number; n: number; to: number };

export const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), data: fc.uint8Array({ minLength: 1, maxLength: 48 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }), to: fc.nat() }) },
);

/** The bytes after edits (a copy; positions are taken modulo the current length). */
export function applyByteEdits(input: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  let b = Buffer.from(input);
  for (const e of edits) {
    const n = b.length;
    switch (e.op) {
      case 'flip':
        if (n > 0) b[e.at % n]! ^= 1 << e.bit;
        break;
      case 'set':
        if (n > 0) b[e.at % n] = e.value;
        break;
      case 'truncate':
        b = b.subarray(0, n > 0 ? e.at % n : 0);
        break;
      case 'append':
        b = Buffer.concat([b, e.data]);
        break;
      case 'insert': {
        const at = e.at % (n + 1);
        b = Buffer.concat([b.subarray(0, at), e.data, b.subarray(at)]);
        break;
      }
      case 'delete': {
        if (n === 0) break;
        const at = e.at % n;
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
        break;
      }
      case 'duplicate': {
        if (n === 0) break;
        const at = e.at % n;
        const to = e.to % (n + 1);
        b = Buffer.concat([b.subarray(0, to), b.subarray(at, at + e.n), b.subarray(to)]);
        break;
      }
    }
  }
  return new Uint8Array(b);
}

export const byteEdits = fc.array(byteEdit, { minLength: 1, maxLength: 3 });
