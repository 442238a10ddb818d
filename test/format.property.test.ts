/**
 * Message format v1 (docs/API.md "Message format v1"; lib/format.ts) under
 * fast-check: the header reader and the `tsr1.` text form are parsers of
 * untrusted input, and so is every open. Cases per property: test/property-runs.ts.
 *
 * Proves:
 *  - toText / fromText: every byte string round-trips; its text is `tsr1.` and
 *    unpadded base64url;
 *  - fromText is canonical: any string it accepts re-encodes to itself
 *    (fromText(s) = b implies toText(b) = s), so one message has one text
 *    form; everything else is ERR_FORMAT (ERR_ARGUMENT for a non-string);
 *  - parseHeader on any bytes returns exactly the fields of the docs/API.md
 *    table (version, algorithm, big-endian key id, nonce, header length) when
 *    the table says the bytes hold a header and tag, and otherwise the code
 *    (ERR_FORMAT / ERR_ALGORITHM) of a rule they break (ERR_ARGUMENT for a
 *    non-Uint8Array);
 *  - open / openString of a sealed message after random byte or character
 *    edits never return plaintext: ERR_FORMAT, ERR_ALGORITHM, ERR_KEY_MISMATCH
 *    or ERR_AUTH: the code of a rule the header breaks (another algorithm or
 *    key id than the key's included), ERR_AUTH exactly when it breaks none;
 *    sealed messages and texts open to their plaintext;
 *  - the native and WASM backends give the same outcome (code or plaintext)
 *    for every random, header-shaped and edited message.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';

import { applyByteEdits, byteEdits, equalBytes, outcome } from './property-arbitraries';
import { params, scaleTimeout } from './property-runs';
import { BACKEND, T } from './tessera';

scaleTimeout(1);

const F = require('../dist/cjs/format.js') as typeof import('../dist/cjs/format');

type Alg = (typeof T.ALGORITHMS)[number];
const KEY_ID = 0x0102a0ff;
const OPEN_CODES = new Set(['ERR_FORMAT', 'ERR_ALGORITHM', 'ERR_KEY_MISMATCH', 'ERR_AUTH']);
const B64URL_BODY = /^[A-Za-z0-9_-]*$/;

/** One key per algorithm on the active backend, and the same key bytes and id on the WASM backend. */
const keyBytes = new Map<Alg, Uint8Array>(T.ALGORITHMS.map((a) => [a, new Uint8Array(32).map((_, i) => i * 7 + a.length)]));
const keys = new Map(T.ALGORITHMS.map((a) => [a, T.AeadKey.import(a, keyBytes.get(a)!, { keyId: KEY_ID })]));
T.useBackend('wasm');
const wasmKeys = new Map(T.ALGORITHMS.map((a) => [a, T.AeadKey.import(a, keyBytes.get(a)!, { keyId: KEY_ID })]));
T.useBackend(BACKEND);
afterAll(() => {
  for (const k of [...keys.values(), ...wasmKeys.values()]) k.dispose();
});

/**
 * docs/API.md "Message format v1", read independently of lib/format.ts: the
 * header, or the codes of every rule the bytes break (the table does not order
 * the checks, so a parser may report any of them).
 */
function specHeader(b: Uint8Array): { codes: string[] } | { alg: Alg; keyId: number; nonce: Uint8Array; hl: number } {
  const codes: string[] = [];
  if (b.length < 6) codes.push('ERR_FORMAT'); // shorter than any header
  if (b.length >= 1 && b[0] !== 1) codes.push('ERR_FORMAT'); // version
  const known = b.length >= 2 && b[1]! >= 1 && b[1]! <= 4;
  if (b.length >= 2 && !known) codes.push('ERR_ALGORITHM');
  const hl = known ? 6 + (b[1]! >= 3 ? 24 : 12) : 0;
  if (known && b.length < hl + 16) codes.push('ERR_FORMAT'); // no room for the nonce and tag
  if (codes.length > 0) return { codes };
  return { alg: T.ALGORITHMS[b[1]! - 1]!, keyId: Buffer.from(b).readUInt32BE(2), nonce: b.subarray(6, hl), hl };
}

/**
 * The codes opening b with this file's key of `alg` may give: a broken header
 * rule's, ERR_ALGORITHM when a version 1 header names another algorithm,
 * ERR_KEY_MISMATCH when it names another key id; ERR_AUTH only when none applies.
 */
function openCodes(b: Uint8Array, alg: Alg): string[] {
  const h = specHeader(b);
  const codes = 'codes' in h ? [...h.codes] : [];
  if (b[0] === 1 && b.length >= 2 && b[1]! >= 1 && b[1]! <= 4 && T.ALGORITHMS[b[1]! - 1] !== alg) codes.push('ERR_ALGORITHM');
  if (b[0] === 1 && b.length >= 6 && Buffer.from(b).readUInt32BE(2) !== KEY_ID) codes.push('ERR_KEY_MISMATCH');
  return codes.length > 0 ? codes : ['ERR_AUTH'];
}

/** Random bytes, often behind a plausible header prefix (version 1, a known algorithm, the keys' id). */
const messageBytes = fc
  .record({
    body: fc.uint8Array({ maxLength: 96 }),
    version: fc.option(fc.integer({ min: 0, max: 2 })),
    alg: fc.option(fc.integer({ min: 0, max: 6 })),
    ourId: fc.boolean(),
  })
  .map(({ body, version, alg, ourId }) => {
    const b = Buffer.from(body);
    if (version !== null && b.length > 0) b[0] = version;
    if (alg !== null && b.length > 1) b[1] = alg;
    if (ourId && b.length >= 6) b.writeUInt32BE(KEY_ID, 2);
    return new Uint8Array(b);
  });

const sealed = fc.record({
  alg: fc.constantFrom(...T.ALGORITHMS),
  pt: fc.uint8Array({ maxLength: 80 }),
  aad: fc.option(fc.uint8Array({ maxLength: 24 }), { nil: undefined }),
});

/** Strings near the text form: any string, `tsr1.` + base64url-alphabet, `tsr1.` + base64url with foreign characters. */
const textCandidates = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,64}$/).map((s) => F.TEXT_PREFIX + s),
  fc.string({ unit: fc.constantFrom(...'AQgw_-09azAZ=+/ .\n\t\r\u0000\u00e9\ud800'.split('')), maxLength: 40 }).map((s) => F.TEXT_PREFIX + s),
  fc.constantFrom('tsr1', 'tsr1.', 'TSR1.AA', 'tsr2.AA', ' tsr1.AA', 'tsr1.AA ', 'tsr1.AA==', 'tsr1.AB', 'tsr1.AQ', 'tsr1.A', 'tsr1.AAAAA'),
);

/** Character edits of a text: replace, insert or delete one character. */
const textEdit = fc.record({
  op: fc.constantFrom('replace', 'insert', 'delete'),
  at: fc.nat(),
  ch: fc.constantFrom(...'AQgw_-09azAZ=+/ .\u00e9'.split('')),
});
function applyTextEdit(s: string, e: { op: string; at: number; ch: string }): string {
  const at = e.at % (s.length + (e.op === 'insert' ? 1 : 0));
  if (e.op === 'insert') return s.slice(0, at) + e.ch + s.slice(at);
  if (e.op === 'delete') return s.slice(0, at) + s.slice(at + 1);
  return s.slice(0, at) + e.ch + s.slice(at + 1);
}

/** The outcome of opening m with key, plaintext included, so that two backends can be compared. */
function openOutcome(key: ReturnType<typeof T.AeadKey.generate>, m: Uint8Array, aad: Uint8Array | undefined): string {
  let pt: Uint8Array | undefined;
  const o = outcome(() => (pt = key.open(m, aad ? { aad } : undefined)));
  return o === 'ok' ? `ok:${Buffer.from(pt!).toString('hex')}` : o;
}

describe('tsr1. text form', () => {
  test('toText / fromText round-trip every byte string; the text is tsr1. + unpadded base64url', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const t = F.toText(b);
        expect(t.startsWith(F.TEXT_PREFIX)).toBe(true);
        expect(B64URL_BODY.test(t.slice(F.TEXT_PREFIX.length))).toBe(true);
        expect(t.length - F.TEXT_PREFIX.length).toBe(Math.ceil((b.length * 4) / 3));
        expect(equalBytes(F.fromText(t), b)).toBe(true);
      }),
      params(),
    );
  });

  test('fromText is canonical: any string it accepts re-encodes to itself; everything else is ERR_FORMAT', () => {
    fc.assert(
      fc.property(textCandidates, (s) => {
        let b: Uint8Array | undefined;
        const o = outcome(() => (b = F.fromText(s)));
        if (o === 'ok') expect(F.toText(b!)).toBe(s);
        else expect(o).toBe('ERR_FORMAT');
      }),
      params(),
    );
  });

  test('a character edit of a valid text never decodes to the same message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.array(textEdit, { minLength: 1, maxLength: 3 }), (b, edits) => {
        const t = F.toText(b);
        const s = edits.reduce(applyTextEdit, t);
        let d: Uint8Array | undefined;
        const o = outcome(() => (d = F.fromText(s)));
        if (o !== 'ok') {
          expect(o).toBe('ERR_FORMAT');
          return;
        }
        expect(equalBytes(d!, b)).toBe(s === t);
      }),
      params(),
    );
  });

  test('anything but a string is ERR_ARGUMENT', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => typeof v !== 'string'),
        (v) => {
          expect(outcome(() => F.fromText(v as string))).toBe('ERR_ARGUMENT');
        },
      ),
      params(),
    );
  });
});

describe('parseHeader', () => {
  test('returns exactly the fields of the docs/API.md table, or the code of a rule the bytes break', () => {
    fc.assert(
      fc.property(messageBytes, (b) => {
        const want = specHeader(b);
        let h: ReturnType<typeof T.parseHeader> | undefined;
        const o = outcome(() => (h = T.parseHeader(b)));
        if ('codes' in want) {
          expect(want.codes).toContain(o);
          return;
        }
        expect(o).toBe('ok');
        expect(h!.version).toBe(1);
        expect(h!.algorithm).toBe(want.alg);
        expect(h!.keyId).toBe(want.keyId);
        expect(h!.headerLength).toBe(want.hl);
        expect(h!.headerLength).toBe(T.headerLength(want.alg));
        expect(equalBytes(h!.nonce, want.nonce)).toBe(true);
      }),
      params(),
    );
  });

  test('anything but a Uint8Array is ERR_ARGUMENT', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => !(v instanceof Uint8Array)),
        (v) => {
          expect(outcome(() => T.parseHeader(v as Uint8Array))).toBe('ERR_ARGUMENT');
        },
      ),
      params(),
    );
  });
});

describe('open', () => {
  test('sealed messages and texts open to their plaintext', () => {
    fc.assert(
      fc.property(sealed, ({ alg, pt, aad }) => {
        const k = keys.get(alg)!;
        const opts = aad ? { aad } : undefined;
        expect(equalBytes(k.open(k.seal(pt, opts), opts), pt)).toBe(true);
        const text = k.sealToString(pt, opts);
        expect(equalBytes(k.openString(text, opts), pt)).toBe(true);
        expect(equalBytes(wasmKeys.get(alg)!.openString(text, opts), pt)).toBe(true);
      }),
      params(),
    );
  });

  test('an edited message never opens; the code is one the header predicts; open and openString agree', () => {
    fc.assert(
      fc.property(sealed, byteEdits, ({ alg, pt, aad }, edits) => {
        const k = keys.get(alg)!;
        const opts = aad ? { aad } : undefined;
        const m = k.seal(pt, opts);
        const bad = applyByteEdits(m, edits);
        const o = outcome(() => k.open(bad, opts));
        if (equalBytes(bad, m)) {
          expect(o).toBe('ok');
          return;
        }
        expect(OPEN_CODES.has(o), o).toBe(true);
        expect(openCodes(bad, alg)).toContain(o);
        expect(outcome(() => k.openString(F.toText(bad), opts))).toBe(o);
      }),
      params(),
    );
  });

  test('a character edit of a sealed text never opens (ERR_FORMAT or an open code)', () => {
    fc.assert(
      fc.property(sealed, fc.array(textEdit, { minLength: 1, maxLength: 3 }), ({ alg, pt, aad }, edits) => {
        const k = keys.get(alg)!;
        const opts = aad ? { aad } : undefined;
        const t = k.sealToString(pt, opts);
        const s = edits.reduce(applyTextEdit, t);
        const o = outcome(() => k.openString(s, opts));
        if (s === t) {
          expect(o).toBe('ok');
          return;
        }
        expect(OPEN_CODES.has(o), o).toBe(true);
      }),
      params(),
    );
  });

  test('the native and WASM backends give the same outcome for random, header-shaped and edited messages', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...T.ALGORITHMS),
        fc.oneof(
          messageBytes.map((b) => ({ b, edits: [] as Parameters<typeof applyByteEdits>[1], pt: undefined })),
          fc.record({ b: fc.constant(undefined), edits: byteEdits, pt: fc.uint8Array({ maxLength: 40 }) }),
        ),
        fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }),
        (alg, input, aad) => {
          const m = input.b ?? applyByteEdits(keys.get(alg)!.seal(input.pt!, aad ? { aad } : undefined), input.edits);
          const native = openOutcome(keys.get(alg)!, m, aad);
          expect(openOutcome(wasmKeys.get(alg)!, m, aad)).toBe(native);
          expect(native.startsWith('ok') || OPEN_CODES.has(native), native).toBe(true);
        },
      ),
      params(),
    );
  });
});
