/**
 * KEK providers (lib/keys/kek.ts, lib/keys/kek-rsa.ts; contract
 * `kek.fromKey/fromKeyFile/fromEnv/fromPassphrase/rsa`; docs/API.md "Key
 * manager").
 *
 * Proves: fromKey wraps exactly as keywrap.wrapPad; fromKeyFile and fromEnv
 * accept the CLI's key formats (raw, hex, base64/base64url, surrounding
 * whitespace; differentially against lib/cli/keys.ts) and give the same KEK
 * as fromKey, refuse group/other-accessible files (ERR_ARGUMENT naming the
 * path and chmod 600), missing files (ERR_IO), unset/empty/malformed
 * variables (ERR_ARGUMENT); fromPassphrase is scrypt (checked against
 * node:crypto scryptSync) + AES-KWP, deterministic for the same
 * passphrase/salt/params and re-derivable from provider.params, different
 * for another salt, refuses N < 2^17 and bad parameters (as rejections),
 * reports a wrong passphrase as ERR_KEK, and leaves the event loop running
 * while it derives; rsa is RSA-OAEP-SHA256 with MGF1-SHA256 (interop with
 * WebCrypto both ways), 2048/3072 round trips, public-only wrap and refused
 * unwrap (ERR_KEK), < 2048 bits refused, tampering ERR_AUTH, randomized
 * output; ids are stable, distinct and reveal nothing; and no error message
 * of the whole suite carries key bytes, passphrases or variable contents.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, generateKeyPairSync, randomBytes, scryptSync, webcrypto, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { root, T } from './tessera';

const cliKeys = require(path.join(root, 'dist/cjs/cli/keys.js')) as typeof import('../dist/cjs/cli/keys');
const kekModule = require(path.join(root, 'dist/cjs/keys/kek.js')) as typeof import('../dist/cjs/keys/kek');

type Provider = import('../dist/cjs/keys/kek').KekProvider;
type TErr = InstanceType<typeof T.TesseraError>;

/** Every error the suite provokes, and every secret it used: checked at the end. */
const errors: TErr[] = [];
const secrets: Uint8Array[] = [];
const secretStrings: string[] = [];

function secret(n = 32): Uint8Array {
  const b = new Uint8Array(randomBytes(n));
  secrets.push(b.slice());
  return b;
}

function record(e: unknown, code: string, ...patterns: RegExp[]): TErr {
  if (!(e instanceof T.TesseraError))
    throw new Error(`expected a TesseraError ${code}, got ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
  errors.push(e);
  expect(e.code).toBe(code);
  for (const p of patterns) expect(e.message).toMatch(p);
  return e;
}

function throws(fn: () => unknown, code: string, ...patterns: RegExp[]): TErr {
  try {
    fn();
  } catch (e) {
    return record(e, code, ...patterns);
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** fn must return a promise (no synchronous throw) that rejects with code. */
async function rejects(fn: () => Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<TErr> {
  const p = fn();
  expect(p).toBeInstanceOf(Promise);
  let err: unknown;
  await p.then(
    () => (err = new Error(`expected ${code}, the promise resolved`)),
    (e) => (err = e),
  );
  return record(err, code, ...patterns);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

async function roundTrip(p: Provider, n = 32): Promise<void> {
  const dk = secret(n);
  const w = await p.wrap(dk);
  expect(w).toBeInstanceOf(Uint8Array);
  expect(hex(await p.unwrap(w))).toBe(hex(dk));
}

describe('kek.fromKey', () => {
  test('wrap equals keywrap.wrapPad(masterKey, dataKey); unwrap inverts it; tampering is ERR_AUTH', async () => {
    const mk = secret();
    const p = T.kek.fromKey(mk);
    for (const n of [1, 16, 31, 32, 64]) {
      const dk = secret(n);
      const w = await p.wrap(dk);
      expect(hex(w)).toBe(hex(T.keywrap.wrapPad(mk, dk)));
      expect(hex(await p.unwrap(w))).toBe(hex(dk));
      const bad = w.slice();
      bad[0]! ^= 1;
      await rejects(() => p.unwrap(bad), 'ERR_AUTH');
    }
    expect(p.id).toMatch(/^aes-kwp:[0-9a-f]{16}$/);
    expect(T.kek.fromKey(mk).id).toBe(p.id);
    expect(T.kek.fromKey(secret()).id).not.toBe(p.id);
    const other = T.kek.fromKey(secret());
    await rejects(async () => other.unwrap(await p.wrap(secret())), 'ERR_AUTH');
  });
});

// ---------------------------------------------------------------- key files and env

describe('kek.fromKeyFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kek-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, data: string | Uint8Array, mode = 0o600) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, data, { mode });
    fs.chmodSync(f, mode); // umask-independent
    return f;
  };

  test('raw 32 bytes, hex (either case), base64, base64url, with surrounding whitespace: the KEK of fromKey', async () => {
    const mk = secret();
    const ref = T.kek.fromKey(mk);
    const dk = secret();
    const forms: [string, string | Uint8Array][] = [
      ['raw', mk],
      ['hex', hex(mk)],
      ['hex-nl', `${hex(mk)}\n`],
      ['HEX-ws', `  \t${hex(mk).toUpperCase()}\r\n\n`],
      ['b64', b64(mk)],
      ['b64-nl', `${b64(mk)}\n`],
      ['b64url', b64url(mk)],
      ['b64-nopad', b64(mk).replace(/=+$/, '')],
    ];
    for (const [name, data] of forms) {
      const p = T.kek.fromKeyFile(write(name, data));
      expect(p.id, name).toBe(ref.id);
      expect(hex(await p.wrap(dk)), name).toBe(hex(T.keywrap.wrapPad(mk, dk)));
      await roundTrip(p);
    }
  });

  test('a raw key that looks like neither text form, and one whose bytes are whitespace at the ends', async () => {
    const mk = new Uint8Array(32).fill(0x20);
    mk[5] = 0xff;
    secrets.push(mk.slice());
    expect(T.kek.fromKeyFile(write('spaces', mk)).id).toBe(T.kek.fromKey(mk).id);
  });

  test('permissions: 0600 and 0400 accepted; 0644, 0640, 0604, 0620 refused with ERR_ARGUMENT naming the path and chmod 600', () => {
    const mk = secret();
    for (const mode of [0o600, 0o400]) expect(T.kek.fromKeyFile(write(`ok-${mode.toString(8)}`, hex(mk), mode)).id).toBe(T.kek.fromKey(mk).id);
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o666]) {
      const f = write(`bad-${mode.toString(8)}`, hex(mk), mode);
      const e = throws(() => T.kek.fromKeyFile(f), 'ERR_ARGUMENT', /chmod 600/, new RegExp(`0${mode.toString(8)}`));
      expect(e.message).toContain(f);
    }
    // A symlink is followed; the mode checked is the target's.
    const target = write('target', hex(mk), 0o600);
    const link = path.join(dir, 'link');
    fs.symlinkSync(target, link);
    expect(T.kek.fromKeyFile(link).id).toBe(T.kek.fromKey(mk).id);
    fs.chmodSync(target, 0o644);
    throws(() => T.kek.fromKeyFile(link), 'ERR_ARGUMENT', /chmod 600/);
  });

  test('missing file: ERR_IO naming the path; a directory: ERR_ARGUMENT', () => {
    const f = path.join(dir, 'does-not-exist.key');
    const e = throws(() => T.kek.fromKeyFile(f), 'ERR_IO', /ENOENT/);
    expect(e.message).toContain(f);
    const d = path.join(dir, 'a-dir');
    fs.mkdirSync(d, { mode: 0o700 });
    throws(() => T.kek.fromKeyFile(d), 'ERR_ARGUMENT', /not a regular file/);
  });

  test('unreadable paths: ERR_IO with the system error (EACCES at mode 0000 unless root, ENOTDIR, ENAMETOOLONG)', () => {
    const f = write('noperm', hex(secret()), 0o000);
    if (process.getuid?.() !== 0) throws(() => T.kek.fromKeyFile(f), 'ERR_IO', /EACCES/);
    throws(() => T.kek.fromKeyFile(path.join(f, 'below-a-file')), 'ERR_IO', /ENOTDIR/);
    throws(() => T.kek.fromKeyFile(path.join(dir, 'x'.repeat(300))), 'ERR_IO', /ENAMETOOLONG/);
  });

  test('malformed contents: ERR_ARGUMENT without echoing them', () => {
    const mk = secret();
    const bad: [string, string | Uint8Array][] = [
      ['empty', ''],
      ['31 raw', mk.subarray(0, 31)],
      ['33 raw', Buffer.concat([mk, Buffer.from([7])])],
      ['16-byte hex', `${hex(mk.subarray(0, 16))}\n`], // (without the newline it would be 32 raw bytes)
      ['63 hex digits', hex(mk).slice(0, 63)],
      ['hex with a g', `${hex(mk).slice(0, 63)}g`],
      ['hex with inner space', `${hex(mk).slice(0, 32)} ${hex(mk).slice(32)}`],
      ['base64 of 33 bytes', b64(Buffer.concat([mk, Buffer.from([1])]))],
      ['base64 with 3 =', `${b64(mk)}==`],
      ['base64 with a !', `!${b64(mk).slice(1)}`],
      ['too large', 'a'.repeat(5000)],
    ];
    for (const [name, data] of bad) {
      const f = write(`bad-${name.replace(/\W/g, '_')}`, data);
      let e: TErr | undefined;
      expect(() => (e = throws(() => T.kek.fromKeyFile(f), 'ERR_ARGUMENT')), name).not.toThrow();
      expect(e!.message, name).toContain(f);
    }
    throws(() => T.kek.fromKeyFile('' as string), 'ERR_ARGUMENT');
    throws(() => T.kek.fromKeyFile(42 as unknown as string), 'ERR_ARGUMENT');
  });
});

describe('kek.fromEnv', () => {
  const NAME = 'TESSERA_TEST_KEK_ENV';
  afterAll(() => {
    delete process.env[NAME];
  });

  test('hex and base64 (with whitespace): the KEK of fromKey', async () => {
    const mk = secret();
    for (const v of [hex(mk), ` ${hex(mk).toUpperCase()}\n`, b64(mk), b64url(mk), `${b64(mk)}\n`]) {
      process.env[NAME] = v;
      const p = T.kek.fromEnv(NAME);
      expect(p.id).toBe(T.kek.fromKey(mk).id);
      await roundTrip(p);
    }
  });

  test('unset, empty and malformed: ERR_ARGUMENT naming the variable, never its value', () => {
    delete process.env[NAME];
    throws(() => T.kek.fromEnv(NAME), 'ERR_ARGUMENT', /TESSERA_TEST_KEK_ENV is not set/);
    process.env[NAME] = '';
    throws(() => T.kek.fromEnv(NAME), 'ERR_ARGUMENT', /not set/);
    const mk = secret();
    for (const v of [hex(mk).slice(2), hex(mk.subarray(0, 16)), `${hex(mk)}00`, 'correct horse battery staple', Buffer.from(mk).toString('latin1')]) {
      process.env[NAME] = v;
      secretStrings.push(v);
      throws(() => T.kek.fromEnv(NAME), 'ERR_ARGUMENT', /TESSERA_TEST_KEK_ENV/, /64 hex digits or base64/);
    }
    throws(() => T.kek.fromEnv(''), 'ERR_ARGUMENT');
  });
});

describe('key text parser: the formats of the CLI (lib/cli/keys.ts), differentially', () => {
  test('decodeKeyText agrees with the CLI on valid and invalid key texts', () => {
    const NAME = 'TESSERA_TEST_KEK_DIFF';
    const cli = (v: string): string | undefined => {
      process.env[NAME] = v;
      try {
        return cliKeys.rawKey({ kind: 'env', name: NAME }, 32).toString('hex');
      } catch {
        return undefined;
      }
    };
    const ours = (v: string): string | undefined => {
      const k = kekModule.decodeKeyText(Buffer.from(v, 'latin1'));
      return k && hex(k);
    };
    const cases: string[] = [];
    for (let i = 0; i < 200; i++) {
      const k = randomBytes(i % 7 === 0 ? 31 + (i % 3) : 32);
      const ws = [' ', '\n', '\t', '\r\n', ''][i % 5]!;
      const forms = [hex(k), hex(k).toUpperCase(), b64(k), b64url(k), b64(k).replace(/=+$/, ''), `${b64(k)}=`, `${b64(k)}==`];
      let t = forms[i % forms.length]!;
      if (i % 11 === 3) t = t.slice(0, 10) + '*' + t.slice(11);
      if (i % 13 === 5) t = t.slice(1);
      cases.push(`${ws}${t}${ws}`);
    }
    cases.push('', ' ', '=', '==', 'A'.repeat(43), 'A'.repeat(44), `${'A'.repeat(43)}=`, 'a'.repeat(64), 'g'.repeat(64), `${'A'.repeat(42)}==`);
    try {
      for (const c of cases) expect(ours(c), JSON.stringify(c)).toBe(cli(c));
    } finally {
      delete process.env[NAME];
    }
    expect(cases.filter((c) => cli(c) !== undefined).length).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------- passphrases

describe('kek.fromPassphrase', () => {
  const PASS = 'tessera test passphrase: grüne Äpfel';
  secretStrings.push(PASS);

  test('scrypt (N = 2^17, r = 8, p = 1 by default) then AES-KWP; deterministic for the same passphrase, salt and params', async () => {
    const salt = new Uint8Array(randomBytes(16));
    const [a, b] = await Promise.all([T.kek.fromPassphrase(PASS, { salt }), T.kek.fromPassphrase(PASS, { salt })]);
    expect(a.id).toMatch(/^scrypt-kwp:[0-9a-f]{16}$/);
    expect(b.id).toBe(a.id);
    expect(a.params).toEqual({ kdf: 'scrypt', salt, N: 2 ** 17, r: 8, p: 1 });
    expect(hex(a.salt)).toBe(hex(salt));
    const derived = scryptSync(Buffer.from(PASS, 'utf8'), salt, 32, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 << 20 });
    secrets.push(new Uint8Array(derived));
    const dk = secret();
    const w = await a.wrap(dk);
    expect(hex(w)).toBe(hex(T.keywrap.wrapPad(derived, dk)));
    expect(hex(await b.wrap(dk))).toBe(hex(w));
    expect(hex(await b.unwrap(w))).toBe(hex(dk));
    // The id is a domain-separated hash of the derived key (the fromKey hash), not the key.
    expect(a.id.split(':')[1]).toBe(T.kek.fromKey(derived).id.split(':')[1]);
    expect(a.id).not.toContain(hex(derived).slice(0, 16));
  });

  test('string, UTF-8 Uint8Array and SecureBuffer passphrases derive the same KEK; params re-derive it; the salt is copied', async () => {
    const salt = new Uint8Array(randomBytes(24));
    const a = await T.kek.fromPassphrase(PASS, { salt });
    const bytes = new Uint8Array(Buffer.from(PASS, 'utf8'));
    const b = await T.kek.fromPassphrase(bytes, { salt });
    expect(hex(bytes)).toBe(hex(Buffer.from(PASS, 'utf8'))); // the caller's bytes are not wiped
    const sb = T.SecureBuffer.from(bytes);
    const c = await T.kek.fromPassphrase(sb, a.params);
    sb.dispose();
    expect(b.id).toBe(a.id);
    expect(c.id).toBe(a.id);
    salt.fill(0);
    const s = a.salt;
    s.fill(0);
    a.params.salt.fill(0);
    expect(hex(a.salt)).not.toBe(hex(new Uint8Array(24)));
    const d = await T.kek.fromPassphrase(PASS, a.params);
    expect(d.id).toBe(a.id);
  });

  test('a random 16-byte salt when none is given; another salt or another N gives another KEK (ERR_KEK on unwrap)', async () => {
    const [a, b, c] = await Promise.all([T.kek.fromPassphrase(PASS), T.kek.fromPassphrase(PASS), T.kek.fromPassphrase(PASS, { N: 2 ** 18 })]);
    expect(a.salt.length).toBe(16);
    expect(hex(a.salt)).not.toBe(hex(b.salt));
    expect(a.id).not.toBe(b.id);
    const c2 = await T.kek.fromPassphrase(PASS, { salt: c.salt });
    expect(c.params).toMatchObject({ N: 2 ** 18 });
    expect(c2.id).not.toBe(c.id);
    const w = await a.wrap(secret());
    await rejects(() => b.unwrap(w), 'ERR_KEK', /wrong passphrase/);
    await rejects(async () => c2.unwrap(await c.wrap(secret())), 'ERR_KEK');
  });

  test('wrong passphrase: ERR_KEK on unwrap (the AES-KWP integrity failure of a different KEK); the message has no passphrase', async () => {
    const right = await T.kek.fromPassphrase(PASS);
    const wrong = await T.kek.fromPassphrase(`${PASS}!`, right.params);
    secretStrings.push(`${PASS}!`);
    expect(wrong.id).not.toBe(right.id);
    const dk = secret();
    const w = await right.wrap(dk);
    const e = await rejects(() => wrong.unwrap(w), 'ERR_KEK', /wrong passphrase/);
    expect(e.message).not.toContain(PASS);
    expect(hex(await right.unwrap(w))).toBe(hex(dk));
    // The right passphrase on altered bytes fails the same check (AES-KWP cannot tell them apart).
    const bad = w.slice();
    bad[w.length - 1]! ^= 0x80;
    await rejects(() => right.unwrap(bad), 'ERR_KEK');
    // A length no wrapping produces stays ERR_FORMAT.
    await rejects(() => right.unwrap(w.subarray(0, 12)), 'ERR_FORMAT');
  });

  test('N < 2^17 and other bad parameters are refused, as rejected promises', async () => {
    await rejects(() => T.kek.fromPassphrase(PASS, { N: 2 ** 16 }), 'ERR_ARGUMENT', /2\^17/, /65536/);
    await rejects(() => T.kek.fromPassphrase(PASS, { N: 1024 }), 'ERR_ARGUMENT', /2\^17/);
    await rejects(() => T.kek.fromPassphrase(PASS, { N: 2 ** 17 + 2 }), 'ERR_ARGUMENT', /power of two/);
    await rejects(() => T.kek.fromPassphrase(PASS, { N: '131072' as unknown as number }), 'ERR_ARGUMENT');
    await rejects(() => T.kek.fromPassphrase(PASS, { r: 0 }), 'ERR_ARGUMENT', /r/);
    await rejects(() => T.kek.fromPassphrase(PASS, { p: 1.5 }), 'ERR_ARGUMENT', /p/);
    await rejects(() => T.kek.fromPassphrase(PASS, { N: 2 ** 24, r: 64 }), 'ERR_ARGUMENT', /memory/);
    await rejects(() => T.kek.fromPassphrase(PASS, { salt: new Uint8Array(15) }), 'ERR_ARGUMENT', /16/);
    await rejects(() => T.kek.fromPassphrase(PASS, { salt: 'saltsaltsaltsalt' as unknown as Uint8Array }), 'ERR_ARGUMENT');
    await rejects(() => T.kek.fromPassphrase(''), 'ERR_ARGUMENT', /empty/);
    await rejects(() => T.kek.fromPassphrase(new Uint8Array(0)), 'ERR_ARGUMENT', /empty/);
    await rejects(() => T.kek.fromPassphrase(42 as unknown as string), 'ERR_ARGUMENT');
    await rejects(() => T.kek.fromPassphrase(PASS, null as unknown as object), 'ERR_ARGUMENT');
  });

  test('derivation runs off the event loop: timers and setImmediate fire while it derives', async () => {
    let immediates = 0;
    let ticks = 0;
    let running = true;
    const spin = () => {
      immediates++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const timer = setInterval(() => ticks++, 5);
    const t0 = performance.now();
    const p = await T.kek.fromPassphrase(PASS, { N: 2 ** 18 });
    const ms = performance.now() - t0;
    running = false;
    clearInterval(timer);
    expect(p.id).toMatch(/^scrypt-kwp:/);
    // N = 2^18, r = 8 takes well over 50 ms; the loop kept turning throughout.
    expect(ms).toBeGreaterThan(50);
    expect(ticks).toBeGreaterThan(Math.min(5, ms / 20));
    expect(immediates).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------- RSA-OAEP

describe('kek.rsa', () => {
  const pair = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits });
  let k2048: { publicKey: KeyObject; privateKey: KeyObject };
  let k3072: { publicKey: KeyObject; privateKey: KeyObject };
  const pem = (k: KeyObject) => k.export({ type: k.type === 'public' ? 'spki' : 'pkcs8', format: 'pem' }).toString();
  const spkiId = (k: KeyObject) =>
    `rsa-oaep:${createHash('sha256')
      .update(k.export({ type: 'spki', format: 'der' }))
      .digest('hex')
      .slice(0, 32)}`;

  beforeAll(() => {
    k2048 = pair(2048);
    k3072 = pair(3072);
    for (const k of [k2048, k3072]) {
      secrets.push(new Uint8Array(k.privateKey.export({ type: 'pkcs8', format: 'der' })));
      secretStrings.push(pem(k.privateKey).split('\n')[5]!);
    }
  });

  test('round trips at 2048 and 3072 bits, with PEM strings and KeyObjects; ids from the SPKI SHA-256', async () => {
    for (const [bits, k] of [
      [2048, k2048],
      [3072, k3072],
    ] as const) {
      const a = T.kek.rsa({ publicKey: k.publicKey, privateKey: k.privateKey });
      const b = T.kek.rsa({ publicKey: pem(k.publicKey), privateKey: pem(k.privateKey) });
      const c = T.kek.rsa({ privateKey: k.privateKey }); // public half derived
      for (const p of [a, b, c]) {
        expect(p.id).toBe(spkiId(k.publicKey));
        expect(p.modulusLength).toBe(bits);
        expect(p.publicOnly).toBe(false);
        await roundTrip(p);
        await roundTrip(p, 1);
        await roundTrip(p, bits / 8 - 66);
      }
      const w = await a.wrap(secret());
      expect(w.length).toBe(bits / 8);
      expect(hex(await b.unwrap(w))).toBe(hex(await c.unwrap(w)));
      expect(b.publicKeyPem).toBe(pem(k.publicKey));
    }
    expect(spkiId(k2048.publicKey)).not.toBe(spkiId(k3072.publicKey));
    await rejects(() => T.kek.rsa({ publicKey: k2048.publicKey }).wrap(new Uint8Array(2048 / 8 - 65)), 'ERR_ARGUMENT', /1 to 190 bytes/);
    await rejects(() => T.kek.rsa({ publicKey: k2048.publicKey }).wrap(new Uint8Array(0)), 'ERR_ARGUMENT');
    await rejects(() => T.kek.rsa({ publicKey: k2048.publicKey }).wrap('key' as unknown as Uint8Array), 'ERR_ARGUMENT');
  });

  test('public-only: wrap works and the private holder unwraps; unwrap is ERR_KEK saying public-only', async () => {
    const pub = T.kek.rsa({ publicKey: pem(k2048.publicKey) });
    const full = T.kek.rsa({ publicKey: k2048.publicKey, privateKey: k2048.privateKey });
    expect(pub.publicOnly).toBe(true);
    expect(pub.id).toBe(full.id);
    const dk = secret();
    const w = await pub.wrap(dk);
    expect(hex(await full.unwrap(w))).toBe(hex(dk));
    await rejects(() => pub.unwrap(w), 'ERR_KEK', /public-only/);
    await rejects(() => pub.unwrap(new Uint8Array(3)), 'ERR_KEK', /public-only/);
  });

  test('OAEP is randomized: every wrap differs and each unwraps', async () => {
    const p = T.kek.rsa({ publicKey: k2048.publicKey, privateKey: k2048.privateKey });
    const dk = secret();
    const ws = await Promise.all(Array.from({ length: 8 }, () => p.wrap(dk)));
    expect(new Set(ws.map(hex)).size).toBe(8);
    for (const w of ws) expect(hex(await p.unwrap(w))).toBe(hex(dk));
  });

  test('tampered or foreign wrapped keys: ERR_AUTH; wrong length: ERR_FORMAT', async () => {
    const p = T.kek.rsa({ publicKey: k2048.publicKey, privateKey: k2048.privateKey });
    const w = await p.wrap(secret());
    for (const i of [0, 1, 100, 255]) {
      const bad = w.slice();
      bad[i]! ^= 0x01;
      await rejects(() => p.unwrap(bad), 'ERR_AUTH', /RSA-OAEP/);
    }
    const other = pair(2048);
    const foreign = await T.kek.rsa({ publicKey: other.publicKey }).wrap(secret());
    await rejects(() => p.unwrap(foreign), 'ERR_AUTH');
    await rejects(() => p.unwrap(w.subarray(1)), 'ERR_FORMAT', /256 bytes/);
    await rejects(() => p.unwrap(new Uint8Array(0)), 'ERR_FORMAT');
    await rejects(() => p.unwrap([1, 2] as unknown as Uint8Array), 'ERR_ARGUMENT');
  });

  test('RSA-OAEP with SHA-256 and MGF1-SHA-256: interoperates with WebCrypto both ways', async () => {
    const p = T.kek.rsa({ publicKey: k2048.publicKey, privateKey: k2048.privateKey });
    const alg = { name: 'RSA-OAEP', hash: 'SHA-256' };
    const priv = await webcrypto.subtle.importKey('pkcs8', k2048.privateKey.export({ type: 'pkcs8', format: 'der' }), alg, false, ['decrypt']);
    const pubC = await webcrypto.subtle.importKey('spki', k2048.publicKey.export({ type: 'spki', format: 'der' }), alg, false, ['encrypt']);
    const dk = secret();
    expect(hex(new Uint8Array(await webcrypto.subtle.decrypt({ name: 'RSA-OAEP' }, priv, await p.wrap(dk))))).toBe(hex(dk));
    const w = new Uint8Array(await webcrypto.subtle.encrypt({ name: 'RSA-OAEP' }, pubC, dk));
    expect(hex(await p.unwrap(w))).toBe(hex(dk));
    // SHA-1 OAEP (the old default) is not accepted.
    const sha1 = await webcrypto.subtle.importKey('spki', k2048.publicKey.export({ type: 'spki', format: 'der' }), { name: 'RSA-OAEP', hash: 'SHA-1' }, false, [
      'encrypt',
    ]);
    await rejects(async () => p.unwrap(new Uint8Array(await webcrypto.subtle.encrypt({ name: 'RSA-OAEP' }, sha1, dk))), 'ERR_AUTH');
  });

  test('keys refused: 1024 bits (ERR_KEY_LENGTH), non-RSA, RSA-PSS, a mismatched pair, garbage', () => {
    const small = pair(1024);
    throws(() => T.kek.rsa({ publicKey: small.publicKey }), 'ERR_KEY_LENGTH', /2048/, /1024/);
    throws(() => T.kek.rsa({ publicKey: pem(small.publicKey), privateKey: pem(small.privateKey) }), 'ERR_KEY_LENGTH');
    throws(() => T.kek.rsa({ privateKey: small.privateKey }), 'ERR_KEY_LENGTH');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    throws(() => T.kek.rsa({ publicKey: ec.publicKey }), 'ERR_ARGUMENT', /RSA/);
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    throws(() => T.kek.rsa({ publicKey: pss.publicKey }), 'ERR_ARGUMENT', /rsa-pss/);
    throws(() => T.kek.rsa({ publicKey: k2048.publicKey, privateKey: k3072.privateKey }), 'ERR_ARGUMENT', /private half/);
    throws(() => T.kek.rsa({ publicKey: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n' }), 'ERR_ARGUMENT');
    throws(() => T.kek.rsa({ publicKey: k2048.publicKey, privateKey: `${pem(k2048.privateKey).slice(0, 200)}` }), 'ERR_ARGUMENT', /privateKey/);
    throws(() => T.kek.rsa({ publicKey: k2048.publicKey, privateKey: k2048.publicKey }), 'ERR_ARGUMENT', /private/);
    throws(() => T.kek.rsa({ publicKey: new Uint8Array(32) as unknown as string }), 'ERR_ARGUMENT');
    throws(() => T.kek.rsa({}), 'ERR_ARGUMENT');
    throws(() => T.kek.rsa(undefined as unknown as object), 'ERR_ARGUMENT');
  });
});

// ---------------------------------------------------------------- ids and leaks

describe('ids and secrecy', () => {
  test('providers expose no key bytes: only id, wrap, unwrap (and the public parameters)', async () => {
    const mk = secret();
    const p = T.kek.fromKey(mk);
    const q = await T.kek.fromPassphrase('another passphrase for the leak check');
    secretStrings.push('another passphrase for the leak check');
    for (const prov of [p, q, T.kek.rsa({ publicKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey })]) {
      const seen = JSON.stringify(prov, (_k, v) => (v instanceof Uint8Array ? hex(v) : v));
      for (const s of secrets) if (s.length >= 8) expect(seen).not.toContain(hex(s).slice(0, 16));
    }
    expect(Object.keys(p).sort()).toEqual(['id', 'unwrap', 'wrap']);
    expect(Object.keys(q).sort()).toEqual(['id', 'params', 'salt', 'unwrap', 'wrap']);
  });

  test('no error message of this suite carries key bytes, passphrases or variable contents', () => {
    expect(errors.length).toBeGreaterThan(60);
    const needles: string[] = [...secretStrings];
    for (const s of secrets) {
      if (s.length < 8) continue;
      const h = hex(s);
      needles.push(h.slice(0, 16), h.slice(0, 16).toUpperCase(), b64(s).slice(0, 12), b64url(s).slice(0, 12), Buffer.from(s.subarray(0, 8)).toString('latin1'));
    }
    for (const e of errors) {
      const text = `${e.message} ${e.cause === undefined ? '' : String(e.cause)}`;
      for (const n of needles) expect(text.includes(n), `${e.code}: ${e.message}`).toBe(false);
    }
  });
});
