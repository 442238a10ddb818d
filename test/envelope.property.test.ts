/**
 * The TSRF envelope (docs/API.md "Command line": "TSRF" | version 0x01 |
 * header length uint32 BE | UTF-8 JSON header | Cobblestone ciphertext whose
 * context is that whole prefix) under fast-check: the codec
 * (lib/chunked/envelope.ts), the keyring-file header reader
 * (lib/keys/envelope-header.ts) and the two decrypters that trust nothing
 * before the commitment: keyring files (streamingAead(kek).decryptIterable)
 * and `tessera decrypt` files (lib/cli/crypt.ts). Cases per property:
 * test/property-runs.ts.
 *
 * Proves:
 *  - encodeEnvelope / decodeEnvelope round-trip any JSON object header, and
 *    envelopeLength gives the prefix length;
 *  - any bytes: decodeEnvelope returns a plain object (the prefix being exactly
 *    envelopeLength bytes) or is ERR_FORMAT; envelopeLength never exceeds
 *    9 + 64 KiB; nothing else is thrown (JSON nesting, invalid UTF-8, a BOM,
 *    length fields that lie);
 *  - keyringFields on any header object (edited keyring headers, random
 *    objects) returns a known suite, a string KEK id and the non-empty
 *    base64-decoded wrapped key, or is ERR_FORMAT; infoOf never throws and
 *    returns strings or undefined; inspectEnvelope on a file is one or the
 *    other of EnvelopeInfo and ERR_FORMAT;
 *  - keyring files: a header edit (re-encoded with a correct length) is
 *    ERR_FORMAT / ERR_KEK / ERR_COMMITMENT with nothing released; byte edits
 *    of the whole file and random bytes fail with those or ERR_AUTH /
 *    ERR_TRUNCATED, releasing at most a prefix of the plaintext; only the
 *    unchanged file decrypts, from any split of its bytes;
 *  - `tessera decrypt` files (raw key and passphrase): a header edit fails
 *    with ERR_FORMAT / ERR_COMMITMENT or a CLI key error (exit 3), writes no
 *    output, and throws nothing else.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';

import {
  applyByteEdits,
  applyJsonEdits,
  awkwardJson,
  awkwardString,
  byteEdits,
  equalBytes,
  jsonEdit,
  outcome,
  outcomeAsync,
  seededBytes,
} from './property-arbitraries';
import { params, scaleTimeout } from './property-runs';
import { T } from './tessera';

scaleTimeout(20);

const E = require('../dist/cjs/chunked/envelope.js') as typeof import('../dist/cjs/chunked/envelope');
const H = require('../dist/cjs/keys/envelope-header.js') as typeof import('../dist/cjs/keys/envelope-header');
const Crypt = require('../dist/cjs/cli/crypt.js') as typeof import('../dist/cjs/cli/crypt');
const CliKeys = require('../dist/cjs/cli/keys.js') as typeof import('../dist/cjs/cli/keys');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-envelope-property-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const NAMES = ['TSRF', 'suite', 'key', 'kek', 'id', 'wrapped', 'purpose', 'created', 'metadata', 'kdf', 'alg', 'salt', 'N', 'r', 'p'];
const VALUES = ['cobblestone-256', 'cobblestone-128', 'kek', 'raw', 'scrypt', 'files', 'aes-kwp:0000000000000000'];
const FILE_CODES = new Set(['ERR_FORMAT', 'ERR_KEK', 'ERR_COMMITMENT', 'ERR_AUTH', 'ERR_TRUNCATED']);
const HEADER_CODES = new Set(['ERR_FORMAT', 'ERR_KEK', 'ERR_COMMITMENT']);
const utf8 = new TextEncoder();

const headerObject = fc.dictionary(fc.oneof(awkwardString(NAMES), fc.constantFrom(...NAMES)), awkwardJson(VALUES), { maxKeys: 6 });

/** Bytes after the 9 fixed bytes: random, JSON text (maybe edited), a BOM, invalid UTF-8, deep nesting. */
const headerBody = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.json({ maxDepth: 3 }).map((s) => utf8.encode(s)),
  fc.tuple(headerObject, byteEdits).map(([h, ed]) => applyByteEdits(utf8.encode(JSON.stringify(h)), ed)),
  headerObject.map((h) => utf8.encode('\ufeff' + JSON.stringify(h))),
  fc.constantFrom(
    utf8.encode('{"a":"\udc00"}'),
    new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    utf8.encode('['.repeat(30_000) + ']'.repeat(30_000)),
    utf8.encode('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)),
    utf8.encode('{"__proto__":{"key":"kek"}}'),
    utf8.encode('null'),
    utf8.encode('[]'),
    utf8.encode('"x"'),
  ),
);

/** A prefix around a body: right magic/version/length most of the time, sometimes not. */
const prefixBytes = fc
  .record({
    body: headerBody,
    magic: fc.oneof({ weight: 4, arbitrary: fc.constant('TSRF') }, { weight: 1, arbitrary: fc.constantFrom('TSRG', 'tsrf', 'TSR', '\u00ef\u00bb\u00bfT') }),
    version: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    lie: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }) }, { weight: 1, arbitrary: fc.nat() }),
    tail: fc.uint8Array({ maxLength: 8 }),
  })
  .map(({ body, magic, version, lie, tail }) => {
    const fixed = Buffer.alloc(9);
    Buffer.from(magic, 'latin1').copy(fixed, 0, 0, 4);
    fixed[4] = version;
    fixed.writeUInt32BE(Math.max(0, body.length + lie) >>> 0, 5);
    return new Uint8Array(Buffer.concat([fixed, body, tail]));
  });

describe('TSRF codec', () => {
  test('encodeEnvelope / decodeEnvelope round-trip any JSON object header', () => {
    fc.assert(
      fc.property(headerObject, (h) => {
        const prefix = E.encodeEnvelope(h);
        expect(Buffer.from(prefix.subarray(0, 5)).toString('latin1')).toBe('TSRF\u0001');
        expect(E.envelopeLength(prefix)).toBe(prefix.length);
        expect(Buffer.from(prefix).readUInt32BE(5)).toBe(prefix.length - 9);
        expect(JSON.stringify(E.decodeEnvelope(prefix))).toBe(JSON.stringify(h));
      }),
      params(),
    );
  });

  test('any bytes: decodeEnvelope returns a plain object or is ERR_FORMAT; envelopeLength stays within 9 + 64 KiB', () => {
    fc.assert(
      fc.property(fc.oneof(prefixBytes, fc.uint8Array({ maxLength: 32 })), (b) => {
        let n: number | undefined;
        const lo = outcome(() => (n = E.envelopeLength(b)));
        if (lo === 'ok') {
          expect(n).toBeGreaterThanOrEqual(9);
          expect(n).toBeLessThanOrEqual(9 + 64 * 1024);
        } else expect(lo).toBe('ERR_FORMAT');
        let h: unknown;
        const o = outcome(() => (h = E.decodeEnvelope(b)));
        if (o !== 'ok') {
          expect(o).toBe('ERR_FORMAT');
          return;
        }
        expect(b.length).toBe(n);
        expect(typeof h === 'object' && h !== null && !Array.isArray(h)).toBe(true);
      }),
      params(),
    );
  });
});

const kekBytes = randomBytes(32);
const kek = T.kek.fromKey(kekBytes);
const kekOther = T.kek.fromKey(randomBytes(32));

async function keyringFile(pt: Uint8Array, s: 'cobblestone-256' | 'cobblestone-128', metadata?: Record<string, unknown>): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  for await (const c of T.streamingAead(kek, 'files').encryptIterable([pt], { suite: s, metadata })) out.push(c);
  return new Uint8Array(Buffer.concat(out));
}

/** A keyring file's header object and the Cobblestone ciphertext behind it. */
function parseFile(file: Uint8Array): { header: Record<string, unknown>; body: Uint8Array } {
  const n = E.envelopeLength(file);
  return { header: E.decodeEnvelope(file.subarray(0, n)), body: file.subarray(n) };
}

async function decryptFile(file: Uint8Array, cuts: number[]): Promise<{ code: string; released: Buffer }> {
  const at = [...new Set(cuts.map((c) => (file.length > 0 ? c % file.length : 0)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, file.length]) {
    if (c > prev) parts.push(file.subarray(prev, c));
    prev = c;
  }
  const out: Uint8Array[] = [];
  const code = await outcomeAsync(async () => {
    for await (const c of T.streamingAead(kek).decryptIterable(parts)) out.push(c);
  });
  return { code, released: Buffer.concat(out) };
}

const suite = fc.constantFrom<'cobblestone-256' | 'cobblestone-128'>('cobblestone-256', 'cobblestone-128');
const plaintext = fc.tuple(fc.oneof(fc.nat(64), fc.nat(3 * 16384)), fc.integer()).map(([n, s]) => seededBytes(n, s));
const metadata = fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }), { nil: undefined });
const cuts = fc.array(fc.nat(), { maxLength: 5 });

describe('keyring files', () => {
  test('keyringFields and infoOf on any header object: the fields, or ERR_FORMAT; infoOf never throws', async () => {
    const base = parseFile(await keyringFile(new Uint8Array(3), 'cobblestone-256', { a: 1 })).header;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(jsonEdit([...NAMES, ...VALUES]), { minLength: 1, maxLength: 3 }).map((ed) => applyJsonEdits(base, ed)),
          headerObject,
        ),
        (h) => {
          if (h === null || typeof h !== 'object' || Array.isArray(h)) return;
          let f: ReturnType<typeof H.keyringFields> | undefined;
          const o = outcome(() => (f = H.keyringFields(h)));
          if (o === 'ok') {
            expect(T.SUITES).toContain(f!.suite);
            expect(typeof f!.kekId).toBe('string');
            expect(f!.wrapped.length).toBeGreaterThan(0);
            expect(Buffer.from(f!.wrapped).toString('base64')).toBe(Buffer.from((h.kek as { wrapped: string }).wrapped, 'base64').toString('base64'));
          } else expect(o).toBe('ERR_FORMAT');
          let info: ReturnType<typeof H.infoOf> | undefined;
          expect(outcome(() => (info = H.infoOf(h, 100)))).toBe('ok');
          expect(['kek', 'raw', 'scrypt', 'unknown']).toContain(info!.kind);
          for (const v of [info!.suite, info!.kekId, info!.purpose, info!.createdAt]) expect(['string', 'undefined']).toContain(typeof v);
          expect(info!.metadata === undefined || (typeof info!.metadata === 'object' && !Array.isArray(info!.metadata))).toBe(true);
        },
      ),
      params(),
    );
  });

  test('inspectEnvelope on any file: EnvelopeInfo or ERR_FORMAT', async () => {
    const file = path.join(dir, 'inspect.tsrf');
    await fc.assert(
      fc.asyncProperty(fc.oneof(prefixBytes, fc.uint8Array({ maxLength: 24 })), async (b) => {
        fs.writeFileSync(file, b);
        let info: Awaited<ReturnType<typeof T.inspectEnvelope>> | undefined;
        const o = await outcomeAsync(async () => (info = await T.inspectEnvelope(file)));
        if (o !== 'ok') {
          expect(o).toBe('ERR_FORMAT');
          return;
        }
        expect(info!.headerLength).toBe(E.envelopeLength(b));
        expect(['kek', 'raw', 'scrypt', 'unknown']).toContain(info!.kind);
      }),
      params({ timeout: 10_000 }),
    );
  });

  test('a header edit is ERR_FORMAT / ERR_KEK / ERR_COMMITMENT and releases nothing; the unchanged file decrypts from any split', async () => {
    await fc.assert(
      fc.asyncProperty(
        suite,
        plaintext,
        metadata,
        fc.array(jsonEdit([...NAMES, ...VALUES, kek.id, kekOther.id]), { maxLength: 3 }),
        cuts,
        async (s, pt, meta, edits, at) => {
          const file = await keyringFile(pt, s, meta);
          const { header, body } = parseFile(file);
          const edited = applyJsonEdits(header, edits);
          if (edited === null || typeof edited !== 'object' || Array.isArray(edited)) return;
          const prefix = E.encodeEnvelope(edited);
          const input = new Uint8Array(Buffer.concat([prefix, body]));
          const r = await decryptFile(input, at);
          if (equalBytes(input, file)) {
            expect(r.code).toBe('ok');
            expect(equalBytes(r.released, pt)).toBe(true);
            return;
          }
          expect(HEADER_CODES.has(r.code), r.code).toBe(true);
          expect(r.released.length).toBe(0);
        },
      ),
      params({ timeout: 30_000 }),
    );
  });

  test('byte edits and random bytes fail with a file code, releasing at most a prefix of the plaintext', async () => {
    await fc.assert(
      fc.asyncProperty(suite, plaintext, fc.oneof(byteEdits, prefixBytes), cuts, async (s, pt, edit, at) => {
        const file = await keyringFile(pt, s);
        const input = edit instanceof Uint8Array ? edit : applyByteEdits(file, edit);
        const r = await decryptFile(input, at);
        if (equalBytes(input, file)) {
          expect(r.code).toBe('ok');
          return;
        }
        expect(FILE_CODES.has(r.code), r.code).toBe(true);
        expect(equalBytes(r.released, pt.subarray(0, r.released.length))).toBe(true);
        expect(r.released.length % 16384).toBe(0);
      }),
      params({ timeout: 30_000 }),
    );
  });
});

describe('`tessera decrypt` files', () => {
  // The key the CLI is given (hex of the suite's key size) and the passphrase.
  const KEY_ENV = { 'cobblestone-256': 'TESSERA_PROPERTY_KEY_256', 'cobblestone-128': 'TESSERA_PROPERTY_KEY_128' } as const;
  const PASS_ENV = 'TESSERA_PROPERTY_PASS';
  const rawKey = randomBytes(32);
  process.env[KEY_ENV['cobblestone-256']] = rawKey.toString('hex');
  process.env[KEY_ENV['cobblestone-128']] = rawKey.subarray(0, 16).toString('hex');
  process.env[PASS_ENV] = 'correct horse battery staple';
  afterAll(() => {
    for (const v of [...Object.values(KEY_ENV), PASS_ENV]) delete process.env[v];
  });

  /** A file as `tessera encrypt` writes it; scrypt at N = 16 so that a case costs microseconds (stored parameters down to N = 2 open). */
  function cliFile(pt: Uint8Array, s: 'cobblestone-256' | 'cobblestone-128', pass: boolean): Uint8Array {
    const len = s === 'cobblestone-128' ? 16 : 32;
    const salt = randomBytes(16);
    const header = pass ? { suite: s, kdf: { alg: 'scrypt', N: 16, r: 1, p: 1, salt: salt.toString('base64') } } : { suite: s, key: 'raw' };
    const key = pass ? scryptSync(process.env[PASS_ENV]!, salt, len, { N: 16, r: 1, p: 1 }) : rawKey.subarray(0, len);
    const prefix = E.encodeEnvelope(header);
    return new Uint8Array(Buffer.concat([prefix, T.encryptChunked(key, pt, { context: prefix, suite: s })]));
  }

  /** Cheap enough to run per case: scrypt with N * r * p <= 2^17, kdf.ts's defaults for what is missing (the bounds themselves: keystore.property). */
  function cheap(h: unknown): boolean {
    const k = (h as { kdf?: Record<string, unknown> } | null)?.kdf;
    if (k === null || typeof k !== 'object') return true;
    const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
    return num(k.N, 2 ** 17) * num(k.r, 8) * num(k.p, 1) <= 2 ** 17;
  }

  const src = path.join(dir, 'cli.tsrf');
  const dst = path.join(dir, 'cli.out');

  /** `tessera decrypt src dst` with the raw key or the passphrase; what it threw. */
  async function decryptCli(input: Uint8Array, pass: boolean, s: 'cobblestone-256' | 'cobblestone-128'): Promise<unknown> {
    fs.writeFileSync(src, input);
    fs.rmSync(dst, { force: true });
    try {
      await Crypt.crypt(
        {
          mode: 'decrypt',
          input: src,
          output: dst,
          key: pass ? { kind: 'passphrase-env', name: PASS_ENV } : { kind: 'env', name: KEY_ENV[s] },
          suite: 'cobblestone-256',
          threads: 1,
          quiet: true,
          force: true,
        },
        new AbortController().signal,
      );
    } catch (e) {
      return e;
    }
    return undefined;
  }

  /** A CLI failure the way `tessera` reports it: a CliError exit code or a TesseraError code; anything else is a crash. */
  function cliOutcome(err: unknown): string {
    if (err === undefined) return 'ok';
    if (err instanceof CliKeys.CliError) return `exit ${err.exitCode}`;
    if (err instanceof T.TesseraError) return err.code;
    return `not a TesseraError or CliError: ${err instanceof Error ? err.stack : String(err)}`;
  }

  test('a header edit fails with ERR_FORMAT / ERR_COMMITMENT or a CLI key error, writes no output, throws nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(suite, fc.boolean(), plaintext, fc.array(jsonEdit([...NAMES, ...VALUES]), { maxLength: 3 }), async (s, pass, pt, edits) => {
        const file = cliFile(pt, s, pass);
        const n = E.envelopeLength(file);
        const edited = applyJsonEdits(E.decodeEnvelope(file.subarray(0, n)), edits);
        if (edited === null || typeof edited !== 'object' || Array.isArray(edited)) return;
        fc.pre(cheap(edited));
        const input = new Uint8Array(Buffer.concat([E.encodeEnvelope(edited), file.subarray(n)]));
        const o = cliOutcome(await decryptCli(input, pass, s));
        if (equalBytes(input, file)) {
          expect(o).toBe('ok');
          expect(equalBytes(fs.readFileSync(dst), pt)).toBe(true);
          return;
        }
        expect(fs.existsSync(dst)).toBe(false);
        expect(['ERR_FORMAT', 'ERR_COMMITMENT', `exit ${CliKeys.EXIT.key}`]).toContain(o);
      }),
      params({ timeout: 30_000 }),
    );
  });

  // Inputs the property above found, kept as fixed cases.
  test('regression: "kdf": null with a passphrase is ERR_FORMAT (was a TypeError: cannot read properties of null)', async () => {
    const file = cliFile(new Uint8Array(5), 'cobblestone-256', true);
    const n = E.envelopeLength(file);
    const input = new Uint8Array(Buffer.concat([E.encodeEnvelope({ suite: 'cobblestone-256', kdf: null }), file.subarray(n)]));
    expect(cliOutcome(await decryptCli(input, true, 'cobblestone-256'))).toBe('ERR_FORMAT');
    expect(fs.existsSync(dst)).toBe(false);
  });

  test('regression: scrypt r = 1 with N missing or null (the default 2^17, not below 2^16) is ERR_FORMAT (was a RangeError from OpenSSL)', async () => {
    const file = cliFile(new Uint8Array(5), 'cobblestone-256', true);
    const n = E.envelopeLength(file);
    const kdf = (E.decodeEnvelope(file.subarray(0, n)) as { kdf: Record<string, unknown> }).kdf;
    for (const N of [undefined, null, 2 ** 16]) {
      const input = new Uint8Array(Buffer.concat([E.encodeEnvelope({ suite: 'cobblestone-256', kdf: { ...kdf, N } }), file.subarray(n)]));
      expect(cliOutcome(await decryptCli(input, true, 'cobblestone-256')), String(N)).toBe('ERR_FORMAT');
    }
  });
});
