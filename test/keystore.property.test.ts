/**
 * Key-store documents under fast-check (docs/API.md "Key manager"): the
 * keyring document a store reads back (lib/keys/store.ts checkDocShape, behind
 * FileKeyStore.load and PostgresKeyStore.load), its authentication at
 * Keyring.open (lib/keys/document.ts, lib/keys/keyring-doc.ts), the stored
 * passphrase parameters (lib/keys/kdf.ts kdfFromRecord: kekParams and
 * `tessera encrypt` headers) and the text of a stored master key
 * (kek.fromEnv / the CLI's --key-env: hex or base64). Documents are edited as
 * parsed JSON (replace, delete, add members, prototype names included, swap
 * sibling values) and as bytes. Cases per property: test/property-runs.ts.
 *
 * Proves:
 *  - checkDocShape on edited and random documents returns a document that
 *    satisfies every rule of the KeyringDoc type (restated here: unique ids in
 *    1 .. 2^32 - 1, each key's purpose an own member of `purposes`, base64
 *    wrapped keys exactly for keys not destroyed, known algorithms, states,
 *    KDF names, safe non-negative counts, ...) or is ERR_FORMAT, nothing else;
 *  - FileKeyStore.load on edited and random file bytes: such a document or
 *    ERR_FORMAT;
 *  - Keyring.open of an edited document opens only when its canonical content
 *    (sorted keys) is unchanged; otherwise ERR_FORMAT (MAC, shape) or ERR_KEK;
 *  - kdfFromRecord on edited and random records: parameters inside the
 *    bounds of lib/keys/kdf.ts (and of RFC 7914 section 2 for scrypt) that
 *    derive a key, or ERR_FORMAT (ERR_UNSUPPORTED: Argon2id before Node 24.7);
 *  - key text: fromEnv and the CLI accept exactly 2n hex digits or base64 /
 *    base64url of n bytes (up to two '=', surrounding whitespace) and give
 *    the KEK of those bytes; anything else is ERR_ARGUMENT / a CLI key error.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { applyByteEdits, applyJsonEdits, awkwardJson, byteEdits, jsonEdit, outcome, outcomeAsync } from './property-arbitraries';
import { params, scaleTimeout } from './property-runs';
import { T } from './tessera';

scaleTimeout(20);

const S = require('../dist/cjs/keys/store.js') as typeof import('../dist/cjs/keys/store');
const K = require('../dist/cjs/keys/kdf.js') as typeof import('../dist/cjs/keys/kdf');
const CliKeys = require('../dist/cjs/cli/keys.js') as typeof import('../dist/cjs/cli/keys');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keystore-property-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const NAMES = [
  'format',
  'version',
  'generation',
  'kekId',
  'macKey',
  'kekParams',
  'purposes',
  'keys',
  'mac',
  'policy',
  'indexKey',
  'id',
  'purpose',
  'algorithm',
  'state',
  'createdAt',
  'stateChangedAt',
  'wrapped',
  'encrypted',
  'decrypted',
  'alg',
  'salt',
  'N',
  'r',
  'p',
  'iterations',
  'memory',
  'passes',
  'parallelism',
];
const VALUES = [
  'tessera-keyring',
  'aes-256-gcm',
  'xaes-256-gcm',
  'pending',
  'active',
  'decrypt-only',
  'retired',
  'destroyed',
  'scrypt',
  'pbkdf2-sha256',
  'argon2id',
  'a',
  'b',
];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const safeCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** The KeyringDoc rules (lib/keys/store.ts types, docs/API.md "Key manager"), restated independently of checkDocShape. */
function docViolations(d: unknown): string[] {
  const bad: string[] = [];
  if (!isObj(d)) return ['not an object'];
  if (d.format !== 'tessera-keyring' || d.version !== 1) bad.push('format / version');
  if (!Number.isSafeInteger(d.generation) || (d.generation as number) < 1) bad.push('generation');
  if (typeof d.kekId !== 'string') bad.push('kekId');
  if (typeof d.macKey !== 'string' || !B64.test(d.macKey)) bad.push('macKey');
  if (typeof d.mac !== 'string' || !/^[0-9a-f]{64}$/.test(d.mac)) bad.push('mac');
  if (d.kekParams !== undefined) {
    const k = d.kekParams;
    const fields: Record<string, string[]> = { scrypt: ['N', 'r', 'p'], 'pbkdf2-sha256': ['iterations'], argon2id: ['memory', 'passes', 'parallelism'] };
    if (!isObj(k) || typeof k.alg !== 'string' || !Object.hasOwn(fields, k.alg) || typeof k.salt !== 'string' || !B64.test(k.salt)) bad.push('kekParams');
    else if (!fields[k.alg]!.every((f) => Number.isSafeInteger(k[f]) && (k[f] as number) >= 1)) bad.push('kekParams fields');
  }
  if (!isObj(d.purposes)) return [...bad, 'purposes'];
  for (const p of Object.values(d.purposes)) {
    if (!isObj(p) || !isObj(p.policy)) bad.push('purpose record');
    else if (p.indexKey !== undefined && (typeof p.indexKey !== 'string' || !B64.test(p.indexKey))) bad.push('indexKey');
  }
  if (!Array.isArray(d.keys)) return [...bad, 'keys'];
  const ids = new Set<unknown>();
  for (const k of d.keys as unknown[]) {
    if (!isObj(k)) {
      bad.push('key record');
      continue;
    }
    if (!Number.isInteger(k.id) || (k.id as number) < 1 || (k.id as number) > 0xffffffff || ids.has(k.id)) bad.push('key id');
    ids.add(k.id);
    if (typeof k.purpose !== 'string' || !Object.hasOwn(d.purposes, k.purpose) || !isObj(d.purposes[k.purpose])) bad.push(`key purpose ${String(k.purpose)}`);
    if (!T.ALGORITHMS.includes(k.algorithm as never)) bad.push('key algorithm');
    if (!['pending', 'active', 'decrypt-only', 'retired', 'destroyed'].includes(k.state as string)) bad.push('key state');
    if (![k.createdAt, k.stateChangedAt, k.encrypted, k.decrypted].every(safeCount)) bad.push('key numbers');
    if (k.state === 'destroyed' ? k.wrapped !== undefined : typeof k.wrapped !== 'string' || !B64.test(k.wrapped)) bad.push('wrapped');
  }
  return bad;
}

/** JSON with object keys sorted: equal exactly when two documents say the same thing. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

type KekProvider = import('../dist/cjs/index').KekProvider;
interface Base {
  doc: Record<string, unknown>;
  text: string;
  kek: KekProvider;
}
let bases: Base[] = [];

/** A store with purposes (policies), a rotation, a destroyed key and a blind-index key. */
async function populate(file: string, kek: KekProvider): Promise<Base> {
  const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek });
  await ring.createPurpose('a', { maxAgeDays: 30 });
  await ring.createPurpose('b', { maxMessages: 1000 });
  const first = ring.status().find((k) => k.purpose === 'a')!.id;
  await ring.rotate('a');
  await ring.setState(first, 'retired');
  await ring.destroy(first);
  await ring.blindIndex('b', 'x');
  await ring.close();
  const text = fs.readFileSync(file, 'utf8');
  return { doc: JSON.parse(text) as Record<string, unknown>, text, kek };
}

beforeAll(async () => {
  const passKek = await T.kek.fromPassphrase('property passphrase', { kdf: 'pbkdf2-sha256', iterations: 100_000 });
  bases = [await populate(path.join(dir, 'key.json'), T.kek.fromKey(randomBytes(32))), await populate(path.join(dir, 'pass.json'), passKek)];
  expect(bases[1]!.doc.kekParams).toBeDefined();
  for (const b of bases) expect(docViolations(b.doc)).toEqual([]);
}, 60_000);

const edits = fc.array(jsonEdit([...NAMES, ...VALUES]), { minLength: 1, maxLength: 3 });
const baseIndex = fc.constantFrom(0, 1);

function checkShape(v: unknown): void {
  let doc: unknown;
  const o = outcome(() => (doc = S.checkDocShape(v, 'property')));
  if (o !== 'ok') {
    expect(o).toBe('ERR_FORMAT');
    return;
  }
  expect(docViolations(doc)).toEqual([]);
}

/** Stored KDF records: edits of real ones, and records built around the bounds. */
const kdfRecord = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        { alg: 'scrypt', salt: randomBytes(16).toString('base64'), N: 16, r: 1, p: 1 },
        { alg: 'pbkdf2-sha256', salt: randomBytes(16).toString('base64'), iterations: 1000 },
        { alg: 'argon2id', salt: randomBytes(16).toString('base64'), memory: 64, passes: 1, parallelism: 1 },
      ),
      fc.array(jsonEdit(['alg', 'salt', 'N', 'r', 'p', 'iterations', 'memory', 'passes', 'parallelism', 'scrypt', 'pbkdf2-sha256', 'argon2id']), {
        maxLength: 2,
      }),
    )
    .map(([r, e]) => applyJsonEdits(r as Record<string, unknown>, e)),
  fc.record(
    {
      alg: fc.constantFrom('scrypt', 'pbkdf2-sha256', 'argon2id', 'bcrypt', '__proto__', 'constructor'),
      salt: fc.oneof(
        fc.integer({ min: 0, max: 1100 }).map((n) => randomBytes(n).toString('base64')),
        fc.string({ maxLength: 8 }),
      ),
      N: fc.oneof(
        fc.integer({ min: 0, max: 31 }).map((e) => 2 ** e),
        fc.integer(),
      ),
      r: fc.oneof(fc.constantFrom(1, 1, 2, 8, 1024, 1025), fc.integer({ min: -1, max: 2000 })),
      p: fc.oneof(fc.constantFrom(1, 1, 2, 1024, 1025), fc.integer({ min: -1, max: 2000 })),
      iterations: fc.oneof(fc.constantFrom(1, 1000, 1e7, 1e7 + 1), fc.integer()),
      memory: fc.oneof(fc.constantFrom(8, 64, 2 ** 20, 2 ** 20 + 1), fc.integer()),
      passes: fc.integer({ min: -1, max: 20 }),
      parallelism: fc.integer({ min: -1, max: 20 }),
    },
    { requiredKeys: ['alg'] },
  ),
  awkwardJson(['scrypt']),
);

describe('keyring document', () => {
  test('checkDocShape on edited and random documents: a valid KeyringDoc or ERR_FORMAT', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(baseIndex, edits).map(([i, e]) => applyJsonEdits(bases[i]!.doc, e)),
          fc.tuple(baseIndex, kdfRecord).map(([i, rec]) => ({ ...bases[i]!.doc, kekParams: rec })),
          awkwardJson(NAMES),
        ),
        (v) => {
          // As FileKeyStore and PostgresKeyStore hand it over: parsed JSON.
          checkShape(JSON.parse(JSON.stringify(v ?? null)));
        },
      ),
      params(),
    );
  });

  test('FileKeyStore.load on edited and random file bytes: a valid KeyringDoc or ERR_FORMAT', async () => {
    const file = path.join(dir, 'load.json');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(baseIndex, byteEdits).map(([i, e]) => applyByteEdits(Buffer.from(bases[i]!.text), e)),
          fc.tuple(baseIndex, edits).map(([i, e]) => Buffer.from(JSON.stringify(applyJsonEdits(bases[i]!.doc, e), null, 1))),
          fc.uint8Array({ maxLength: 64 }),
        ),
        async (bytes) => {
          fs.writeFileSync(file, bytes);
          let doc: unknown;
          const o = await outcomeAsync(async () => (doc = await new T.FileKeyStore(file).load()));
          if (o !== 'ok') {
            expect(o).toBe('ERR_FORMAT');
            return;
          }
          expect(docViolations(doc)).toEqual([]);
        },
      ),
      params({ timeout: 10_000 }),
    );
  });

  test('Keyring.open of an edited document opens only when its canonical content is unchanged; otherwise ERR_FORMAT or ERR_KEK', async () => {
    const file = path.join(dir, 'open.json');
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(baseIndex, fc.array(jsonEdit([...NAMES, ...VALUES]), { maxLength: 3 }), async (i, e) => {
        const base = bases[i]!;
        const edited = applyJsonEdits(base.doc, e);
        fs.writeFileSync(file, JSON.stringify(edited, null, 1));
        let ring: Awaited<ReturnType<typeof T.Keyring.open>> | undefined;
        const o = await outcomeAsync(async () => (ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: base.kek })));
        await ring?.close();
        seen.add(o);
        if (canonical(edited) === canonical(base.doc)) expect(o).toBe('ok');
        else expect(['ERR_FORMAT', 'ERR_KEK']).toContain(o);
      }),
      params({ timeout: 10_000 }),
    );
    expect(seen.has('ERR_FORMAT')).toBe(true);
  });
});

describe('stored KDF parameters', () => {
  test('kdfFromRecord: parameters inside the bounds that derive a key, or ERR_FORMAT (ERR_UNSUPPORTED for Argon2id without runtime support)', async () => {
    await fc.assert(
      fc.asyncProperty(kdfRecord, async (rec) => {
        let p: ReturnType<typeof K.kdfFromRecord> | undefined;
        const o = outcome(() => (p = K.kdfFromRecord(rec, 'property')));
        if (o !== 'ok') {
          expect(o === 'ERR_FORMAT' || (o === 'ERR_UNSUPPORTED' && !K.hasArgon2())).toBe(true);
          return;
        }
        expect(p!.salt.length).toBeGreaterThanOrEqual(16);
        expect(p!.salt.length).toBeLessThanOrEqual(1024);
        let cost: number;
        if (p!.kdf === 'pbkdf2-sha256') {
          expect(p!.iterations).toBeLessThanOrEqual(10_000_000);
          cost = p!.iterations;
        } else if (p!.kdf === 'argon2id') {
          expect(p!.memory * 1024).toBeLessThanOrEqual(2 ** 30);
          expect(p!.passes).toBeLessThanOrEqual(16);
          cost = p!.memory * p!.passes;
        } else {
          const { N, r, p: par } = p as { N: number; r: number; p: number };
          expect(K.scryptMemory(N, r, par)).toBeLessThanOrEqual(2 ** 30);
          expect(N * r * par).toBeLessThanOrEqual(2 ** 24);
          cost = N * r * par;
        }
        // Derive where it is cheap (the bounds themselves are checked above for every record).
        if (cost <= 2 ** 16) {
          const d = await outcomeAsync(() => K.deriveKey(new Uint8Array([1, 2, 3]), p!, 32));
          expect(d).toBe('ok');
        }
      }),
      params({ timeout: 10_000 }),
    );
  });
});

/** Key text per the grammar of lib/keys/kek.ts decodeKeyText: the key, or undefined. */
function keyTextOracle(text: string, n: number): Buffer | undefined {
  const t = text.replace(/^[ \t\n\v\f\r]+/, '').replace(/[ \t\n\v\f\r]+$/, '');
  if (t.length === 2 * n && /^[0-9a-fA-F]*$/.test(t)) return Buffer.from(t, 'hex');
  const u = t.replace(/={1,2}$/, '');
  if (u.length > 0 && /^[A-Za-z0-9+/_-]*$/.test(u) && Math.floor((u.length * 6) / 8) === n)
    return Buffer.from(u.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return undefined;
}

const ws = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r', '\v', '\f'), maxLength: 3 });
/** A key rendered as hex (any case) or base64 / base64url (padded or not), in whitespace; or an edit of that; or any string. */
const keyText = (n: number) =>
  fc.oneof(
    fc
      .record({
        key: fc.uint8Array({ minLength: n, maxLength: n }),
        form: fc.constantFrom('hex', 'HEX', 'base64', 'base64url', 'base64-unpadded', 'base64url-padded'),
        pre: ws,
        post: ws,
      })
      .map(({ key, form, pre, post }) => {
        const b = Buffer.from(key);
        const body =
          form === 'hex'
            ? b.toString('hex')
            : form === 'HEX'
              ? b.toString('hex').toUpperCase()
              : form === 'base64'
                ? b.toString('base64')
                : form === 'base64url'
                  ? b.toString('base64url')
                  : form === 'base64-unpadded'
                    ? b.toString('base64').replace(/=+$/, '')
                    : b.toString('base64url') + '='.repeat((4 - (b.toString('base64url').length % 4)) % 4);
        return pre + body + post;
      }),
    fc
      .tuple(
        fc.uint8Array({ minLength: n, maxLength: n }),
        fc.array(fc.record({ at: fc.nat(), ch: fc.constantFrom(...'aZ09+/-_= \n.!\u00e9'.split('')) }), { minLength: 1, maxLength: 2 }),
      )
      .map(([key, ed]) =>
        ed.reduce((s, e) => s.slice(0, e.at % (s.length + 1)) + e.ch + s.slice((e.at % (s.length + 1)) + 1), Buffer.from(key).toString('base64')),
      ),
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF+/-_= \t'.split('')), maxLength: 70 }),
    fc.string({ maxLength: 70 }).filter((s) => !s.includes('\u0000')),
  );

describe('key text', () => {
  const ENV = 'TESSERA_PROPERTY_KEY_TEXT';
  afterAll(() => {
    delete process.env[ENV];
  });

  test('kek.fromEnv accepts exactly the hex / base64 text of 32 bytes and gives the KEK of those bytes', () => {
    fc.assert(
      fc.property(keyText(32), (text) => {
        process.env[ENV] = text;
        const want = keyTextOracle(Buffer.from(text, 'utf8').toString('latin1'), 32);
        let got: { id: string } | undefined;
        const o = outcome(() => (got = T.kek.fromEnv(ENV)));
        if (!want) {
          expect(o).toBe('ERR_ARGUMENT');
          return;
        }
        expect(o).toBe('ok');
        expect(got!.id).toBe(T.kek.fromKey(want).id);
      }),
      params(),
    );
  });

  test('the CLI --key-env text of 16 and 32 bytes: exactly the oracle key, else a key error (exit 3)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16, 32).chain((n) => fc.tuple(fc.constant(n), keyText(n))),
        ([n, text]) => {
          process.env[ENV] = text;
          const want = text.length > 0 ? keyTextOracle(Buffer.from(text, 'latin1').toString('latin1'), n) : undefined;
          let got: Buffer | undefined;
          let err: unknown;
          try {
            got = CliKeys.rawKey({ kind: 'env', name: ENV }, n);
          } catch (e) {
            err = e;
          }
          if (!want) {
            expect(err instanceof CliKeys.CliError && err.exitCode === CliKeys.EXIT.key, String(err)).toBe(true);
            return;
          }
          expect(err).toBeUndefined();
          expect(got!.toString('hex')).toBe(want.toString('hex'));
        },
      ),
      params(),
    );
  });
});

// Inputs the properties above found, kept as fixed cases.
describe('regressions', () => {
  const salt = Buffer.alloc(16, 7).toString('base64');
  const withParams = (kekParams: unknown) => ({ ...bases[0]!.doc, kekParams });

  test('checkDocShape: a kekParams alg that is not a string naming a KDF is ERR_FORMAT', async () => {
    const file = path.join(dir, 'regression-alg.json');
    for (const [alg, was] of [
      ['__proto__', 'TypeError: fields.every is not a function'],
      ['constructor', 'TypeError: fields.every is not a function'],
      ['toString', 'TypeError: fields.every is not a function'],
      ['hasOwnProperty', 'TypeError: fields.every is not a function'],
      [['scrypt'], 'accepted: String(["scrypt"]) is "scrypt"'],
      [{ toString: 'version' }, 'TypeError: Cannot convert object to primitive value'],
    ] as const) {
      const doc = withParams({ alg, salt, N: 16, r: 1, p: 1 });
      expect(
        outcome(() => S.checkDocShape(JSON.parse(JSON.stringify(doc)), 'regression')),
        `${JSON.stringify(alg)} (was ${was})`,
      ).toBe('ERR_FORMAT');
      fs.writeFileSync(file, JSON.stringify(doc));
      expect(await outcomeAsync(() => new T.FileKeyStore(file).load())).toBe('ERR_FORMAT');
      expect(await outcomeAsync(() => T.Keyring.open(new T.FileKeyStore(file), { kek: bases[0]!.kek }))).toBe('ERR_FORMAT');
    }
  });

  test("checkDocShape: a key whose purpose is '__proto__' (no such member of purposes) is ERR_FORMAT (was accepted: Object.prototype is an object)", () => {
    const doc = JSON.parse(JSON.stringify(bases[0]!.doc)) as { keys: { purpose: string }[] };
    doc.keys[doc.keys.length - 1]!.purpose = '__proto__';
    expect(outcome(() => S.checkDocShape(doc, 'regression'))).toBe('ERR_FORMAT');
    // A purpose really named so (an own member, as JSON.parse makes it) is still a purpose record like any other.
    const own = JSON.parse(JSON.stringify(bases[0]!.doc).replace('"purposes":{', '"purposes":{"__proto__":{"policy":{}},')) as typeof doc;
    own.keys[own.keys.length - 1]!.purpose = '__proto__';
    expect(outcome(() => S.checkDocShape(own, 'regression'))).toBe('ok');
  });

  test('scrypt with N >= 2^(16 r) (RFC 7914 section 2) is refused by the parameter checks, not by OpenSSL with a RangeError', async () => {
    for (const rec of [
      { alg: 'scrypt', salt, N: 2 ** 16, r: 1, p: 1 },
      { alg: 'scrypt', salt, N: 2 ** 20, r: 1, p: 1 },
      { alg: 'scrypt', salt, r: 1, p: 1 }, // N defaults to 2^17
      { alg: 'scrypt', salt, N: null, r: 1, p: 1 },
    ])
      expect(
        outcome(() => K.kdfFromRecord(rec, 'regression')),
        JSON.stringify(rec),
      ).toBe('ERR_FORMAT');
    const ok = K.kdfFromRecord({ alg: 'scrypt', salt, N: 2 ** 15, r: 1, p: 1 }, 'regression');
    expect(await outcomeAsync(() => K.deriveKey(new Uint8Array(1), ok, 32))).toBe('ok');
    // New material: r = 1 with the default N = 2^17 was a RangeError from kek.fromPassphrase.
    expect(await outcomeAsync(() => T.kek.fromPassphrase('pw', { r: 1 }))).toBe('ERR_ARGUMENT');
    // A store recording such parameters: a passphrase KEK made without a salt takes them (kekForStored) and gets ERR_FORMAT.
    const file = path.join(dir, 'regression-scrypt.json');
    fs.writeFileSync(file, JSON.stringify(withParams({ alg: 'scrypt', salt, N: 2 ** 16, r: 1, p: 1 })));
    const passKek = await T.kek.fromPassphrase('pw', { kdf: 'pbkdf2-sha256', iterations: 100_000 });
    expect(await outcomeAsync(() => T.Keyring.open(new T.FileKeyStore(file), { kek: passKek }))).toBe('ERR_FORMAT');
  });
});
