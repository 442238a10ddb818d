/**
 * Passphrase key derivation (lib/keys/kdf.ts) and what it gives the
 * keyring: known answers for PBKDF2-HMAC-SHA256 and scrypt (RFC 7914
 * sections 11 and 12), Argon2id where the runtime has it (refused with
 * ERR_UNSUPPORTED where it does not), one set of bounds for parameters a
 * caller picks and parameters read back from a store, and a keyring created
 * with `kek.fromPassphrase(pw)` that reopens with `kek.fromPassphrase(pw)`
 * (no parameters), in this process and in a new one, under each KDF.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';

import { root, T } from './tessera';

const kdf = require(path.join(root, 'dist/cjs/keys/kdf.js')) as typeof import('../dist/cjs/keys/kdf');

const PASS = 'correct horse battery staple';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kdf-'));
let n = 0;
const fresh = () => path.join(dir, `ring-${++n}.json`);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(T.TesseraError);
    return (e as InstanceType<typeof T.TesseraError>).code;
  }
  return 'no error';
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('known answers (RFC 7914)', () => {
  test('PBKDF2-HMAC-SHA256, section 11: c = 1 and c = 80000', async () => {
    const a = await kdf.deriveKey(utf8('passwd'), { kdf: 'pbkdf2-sha256', salt: utf8('salt'), iterations: 1 }, 64);
    expect(hex(a)).toBe('55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783');
    const b = await kdf.deriveKey(utf8('Password'), { kdf: 'pbkdf2-sha256', salt: utf8('NaCl'), iterations: 80000 }, 64);
    expect(hex(b)).toBe('4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d');
  });

  test('scrypt, section 12: N = 1024, r = 8, p = 16', async () => {
    const k = await kdf.deriveKey(utf8('password'), { kdf: 'scrypt', salt: utf8('NaCl'), N: 1024, r: 8, p: 16 }, 64);
    expect(hex(k)).toBe('fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640');
  });
});

describe('bounds: one rule for new and stored parameters', () => {
  test('scrypt memory is 128 * r * (N + p + 2) bytes, the figure OpenSSL checks against maxmem', () => {
    expect(kdf.scryptMemory(1 << 17, 8, 1)).toBe(128 * 8 * ((1 << 17) + 3));
  });

  test('new parameters: defaults, floors and ceilings, each refusal naming the parameter', () => {
    const d = kdf.kdfParams({});
    expect(d).toMatchObject({ kdf: 'scrypt', N: 1 << 17, r: 8, p: 1 });
    expect(d.salt).toHaveLength(16);
    expect(kdf.kdfParams({ kdf: 'pbkdf2-sha256' })).toMatchObject({ kdf: 'pbkdf2-sha256', iterations: 600_000 });
    const bad: [object, RegExp][] = [
      [{ N: 1 << 16 }, /2\^17/],
      [{ N: (1 << 17) + 2 }, /power of two/],
      [{ N: 1 << 20, r: 8 }, /1 GiB/], // 1 GiB + 3 KiB
      [{ N: 1 << 17, r: 4, p: 64 }, /2\^24/],
      [{ kdf: 'pbkdf2-sha256', iterations: 99_999 }, /iterations/],
      [{ kdf: 'pbkdf2-sha256', iterations: 10_000_001 }, /iterations/],
      [{ kdf: 'md5' }, /kdf must be/],
      [{ salt: new Uint8Array(15) }, /16/],
    ];
    for (const [o, m] of bad) {
      let err: unknown;
      try {
        kdf.kdfParams(o);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(o)).toBeInstanceOf(T.TesseraError);
      expect((err as InstanceType<typeof T.TesseraError>).code).toBe('ERR_ARGUMENT');
      expect((err as Error).message).toMatch(m);
    }
  });

  test('stored records: below the floors still opens, past a ceiling is ERR_FORMAT before any work', () => {
    const salt = Buffer.alloc(16, 7).toString('base64');
    expect(kdf.kdfFromRecord({ alg: 'scrypt', salt, N: 1024, r: 8, p: 1 }, 'key store')).toMatchObject({ kdf: 'scrypt', N: 1024 });
    expect(kdf.kdfFromRecord({ alg: 'pbkdf2-sha256', salt, iterations: 1000 }, 'key store')).toMatchObject({ iterations: 1000 });
    const hostile = [
      { alg: 'scrypt', salt, N: 1 << 22, r: 32, p: 16 }, // 16 GiB
      { alg: 'scrypt', salt, N: 1 << 20, r: 1, p: 1024 }, // time: N * r * p = 2^30
      { alg: 'pbkdf2-sha256', salt, iterations: 2 ** 31 },
      { alg: 'argon2id', salt, memory: 4 * 1024 * 1024, passes: 3, parallelism: 4 },
      { alg: 'scrypt', salt: 'AAAA', N: 1024, r: 8, p: 1 }, // 3-byte salt
      { alg: 'bcrypt', salt },
    ];
    for (const rec of hostile) {
      let err: unknown;
      try {
        kdf.kdfFromRecord(rec, 'key store');
      } catch (e) {
        err = e;
      }
      const c = (err as InstanceType<typeof T.TesseraError>)?.code;
      // Argon2id where the runtime lacks it is refused as unsupported instead.
      expect(c === 'ERR_FORMAT' || (rec.alg === 'argon2id' && c === 'ERR_UNSUPPORTED' && !kdf.hasArgon2()), JSON.stringify(rec)).toBe(true);
      if (c === 'ERR_FORMAT') expect((err as Error).message).toMatch(/^key store: /);
    }
  });
});

// Argon2id exists from Node 24.7: checked against RFC 9106's parameters
// where it does, refused with a message naming the runtime where it does not.
if (kdf.hasArgon2()) {
  test('Argon2id (crypto.argon2): deterministic per salt, 32 bytes, salt- and passphrase-sensitive', async () => {
    const salt = new Uint8Array(16).fill(2);
    const p = kdf.kdfParams({ kdf: 'argon2id', salt, memory: 19 * 1024, passes: 2, parallelism: 1 });
    const a = await kdf.deriveKey(utf8(PASS), p, 32);
    expect(a).toHaveLength(32);
    expect(hex(await kdf.deriveKey(utf8(PASS), p, 32))).toBe(hex(a));
    expect(hex(await kdf.deriveKey(utf8(`${PASS}!`), p, 32))).not.toBe(hex(a));
    expect(hex(await kdf.deriveKey(utf8(PASS), { ...p, salt: new Uint8Array(16).fill(3) }, 32))).not.toBe(hex(a));
    expect(kdf.kdfParams({ kdf: 'argon2id' })).toMatchObject({ memory: 65536, passes: 3, parallelism: 4 });
  });
} else {
  test(`Argon2id on Node ${process.version} (no crypto.argon2): ERR_UNSUPPORTED naming Node 24.7`, async () => {
    expect(await code(T.kek.fromPassphrase(PASS, { kdf: 'argon2id' }))).toBe('ERR_UNSUPPORTED');
    await expect(T.kek.fromPassphrase(PASS, { kdf: 'argon2id' })).rejects.toThrow(/Node 24\.7/);
  });
}

// The KDFs this runtime has; a keyring is created and reopened under each.
const KDFS: [string, object][] = [
  ['scrypt (default)', {}],
  ['PBKDF2-HMAC-SHA256', { kdf: 'pbkdf2-sha256', iterations: 100_000 }],
  ...(kdf.hasArgon2() ? [['Argon2id', { kdf: 'argon2id', memory: 19 * 1024, passes: 2, parallelism: 1 }] as [string, object]] : []),
];

describe('a keyring reopens with its passphrase alone', () => {
  test.each(KDFS)(
    '%s: created with fromPassphrase(pw, options), reopened with fromPassphrase(pw); a wrong passphrase is ERR_KEK and leaves the store untouched',
    async (_name, options) => {
      const file = fresh();
      const created = await T.Keyring.open(new T.FileKeyStore(file), { kek: await T.kek.fromPassphrase(PASS, options) });
      await created.createPurpose('p');
      const msg = await created.encrypt('p', utf8('hello'));
      await created.close();
      const before = fs.readFileSync(file);
      const rec = JSON.parse(before.toString('utf8')).kekParams;
      expect(rec.alg).toBe((options as { kdf?: string }).kdf ?? 'scrypt');
      expect(JSON.stringify(rec)).not.toContain(PASS);

      // A new provider has fresh parameters of its own (a different salt): the
      // keyring derives the passphrase again under the store's.
      const again = await T.kek.fromPassphrase(PASS);
      expect(hex(again.salt)).not.toBe(Buffer.from(rec.salt, 'base64').toString('hex'));
      const reopened = await T.Keyring.open(new T.FileKeyStore(file), { kek: again });
      expect(Buffer.from(await reopened.decrypt(msg)).toString()).toBe('hello');
      await reopened.close();

      const after = fs.readFileSync(file); // the reopened ring persisted its use counts
      expect(await code(T.Keyring.open(new T.FileKeyStore(file), { kek: await T.kek.fromPassphrase(`${PASS}?`) }))).toBe('ERR_KEK');
      expect(fs.readFileSync(file).equals(after)).toBe(true);
    },
  );

  test('a provider given explicit parameters is not re-derived: other parameters than the store records are ERR_KEK', async () => {
    const file = fresh();
    const first = await T.kek.fromPassphrase(PASS);
    await (await T.Keyring.open(new T.FileKeyStore(file), { kek: first })).close();
    const pinned = await T.kek.fromPassphrase(PASS, { salt: new Uint8Array(16).fill(9) });
    expect(await code(T.Keyring.open(new T.FileKeyStore(file), { kek: pinned }))).toBe('ERR_KEK');
    const same = await T.kek.fromPassphrase(PASS, first.params);
    expect(same.id).toBe(first.id);
    await (await T.Keyring.open(new T.FileKeyStore(file), { kek: same })).close();
  });

  test('a store whose recorded parameters were made hostile is refused before any derivation (ERR_FORMAT)', async () => {
    const file = fresh();
    await (await T.Keyring.open(new T.FileKeyStore(file), { kek: await T.kek.fromPassphrase(PASS) })).close();
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.kekParams = { ...doc.kekParams, N: 1 << 22, r: 32, p: 16 };
    fs.writeFileSync(file, JSON.stringify(doc));
    const t0 = Date.now();
    expect(await code(T.Keyring.open(new T.FileKeyStore(file), { kek: await T.kek.fromPassphrase(PASS) }))).toBe('ERR_FORMAT');
    expect(Date.now() - t0).toBeLessThan(60_000); // not a 16 GiB scrypt
  });

  test('in a new process: a keyring made here opens there with kek.fromPassphrase(pw) and decrypts what was sealed here', async () => {
    const file = fresh();
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: await T.kek.fromPassphrase(PASS, { kdf: 'pbkdf2-sha256', iterations: 100_000 }) });
    await ring.createPurpose('p');
    const msg = await ring.encryptToString('p', utf8('across processes'));
    await ring.close();
    const script = `
      const T = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
      (async () => {
        const ring = await T.Keyring.open(new T.FileKeyStore(process.argv[1]), { kek: await T.kek.fromPassphrase(process.env.PW) });
        process.stdout.write(Buffer.from(await ring.decryptString(process.argv[2])).toString());
        await ring.close();
      })().catch((e) => { console.error(e.code, e.message); process.exit(1); });`;
    const out = execFileSync(process.execPath, ['-e', script, file, msg], { env: { ...process.env, PW: PASS }, encoding: 'utf8' });
    expect(out).toBe('across processes');
  });
});
