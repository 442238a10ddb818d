/**
 * Field-level encryption (lib/keys/fields.ts), blind index
 * (ring.prf(purpose).blindIndex, lib/keys/blind.ts) and masking (lib/keys/mask.ts).
 *
 * Proves: nested paths, '[]' array paths and every value type round-trip
 * (and exactly what does not: -0, Buffer -> Uint8Array); inputs are not
 * mutated; a tampered field and a field moved to another path are
 * ERR_AUTH (audited); plaintext on decrypt is ERR_FORMAT unless
 * allowPlaintext; unsupported values and bad paths are ERR_ARGUMENT; one
 * field of 10 000 records is one AeadKey.sealBatch call and advances the
 * message count by 10 000; records under two key versions decrypt with
 * one openBatch per key; batches respect maxMessages; blind indexes are
 * stable across rotate and reopen, per purpose, truncatable, equal iff
 * the values are, setPolicy keeps the index key; masking examples.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';

import { ringOpener } from './keyring.helpers';
import { rejects, T } from './tessera';

const require = createRequire(import.meta.url);
const F = require('../dist/cjs/keys/fields.js') as typeof import('../dist/cjs/keys/fields');
const { mask } = require('../dist/cjs/keys/mask.js') as typeof import('../dist/cjs/keys/mask');

type Ring = import('../dist/cjs/index').Keyring;
let dir: string;
let n = 0;
const fresh = () => path.join(dir, `ring-${n++}.json`);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-fields-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const open = ringOpener(fresh);

const encrypted = (ring: Ring, purpose: string) =>
  ring
    .status()
    .filter((s) => s.purpose === purpose)
    .reduce((a, s) => a + s.encrypted, 0);

/** Flips one bit in the ciphertext body of a tsr1. string. */
function tamper(text: string): string {
  const m = Buffer.from(text.slice(5), 'base64url');
  m[m.length - 20]! ^= 1;
  return 'tsr1.' + m.toString('base64url');
}

describe('encryptFields / decryptFields', () => {
  test('nested paths, arrays and every value type round-trip; the input is not mutated', async () => {
    const { ring } = await open();
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const rec = {
      id: 7,
      email: 'alice@example.com',
      name: 'Zoë 🙂',
      empty: '',
      blob: bytes,
      buf: Buffer.from('buffer'),
      n: 42.5,
      neg: -17,
      big: Number.MAX_SAFE_INTEGER,
      yes: true,
      no: false,
      nothing: null,
      address: { street: '1 Main St', city: 'Springfield', geo: { lat: 1.25 } },
      phones: ['+1 415 555 0199', null, '555-0100'],
      contacts: [{ email: 'b@x.io', keep: 1 }, null, { other: 2 }, { email: 'c@x.io' }],
      untouched: { deep: [1, 2] },
    };
    const snapshot = { ...structuredClone(rec), buf: Buffer.from('buffer') }; // structuredClone turns a Buffer into a Uint8Array
    const fields = [
      'email',
      'name',
      'empty',
      'blob',
      'buf',
      'n',
      'neg',
      'big',
      'yes',
      'no',
      'nothing',
      'address.street',
      'address.geo.lat',
      'phones[]',
      'contacts[].email',
      'missing',
      'address.missing.x',
    ];
    const enc = await F.encryptFields(rec, fields, ring, 'user-data');
    expect(rec).toEqual(snapshot); // not mutated (deep)
    expect(rec.address.street).toBe('1 Main St');
    expect(enc).not.toBe(rec);
    for (const f of ['email', 'name', 'empty', 'blob', 'buf', 'n', 'neg', 'big', 'yes', 'no', 'nothing'])
      expect(String(enc[f])).toMatch(/^tsr1\.[A-Za-z0-9_-]+$/);
    const a = enc.address as { street: string; city: string; geo: { lat: string } };
    expect(a.street.startsWith('tsr1.')).toBe(true);
    expect(a.geo.lat.startsWith('tsr1.')).toBe(true);
    expect(a.city).toBe('Springfield');
    const phones = enc.phones as unknown[];
    expect(phones.every((p) => typeof p === 'string' && p.startsWith('tsr1.'))).toBe(true); // null elements are values too
    const contacts = enc.contacts as ({ email?: string; keep?: number } | null)[];
    expect(contacts[0]!.email!.startsWith('tsr1.')).toBe(true);
    expect(contacts[0]!.keep).toBe(1);
    expect(contacts[1]).toBeNull();
    expect(contacts[2]).toEqual({ other: 2 });
    expect('missing' in enc).toBe(false);
    expect(enc.untouched).toBe(rec.untouched); // untouched branches are shared
    expect(enc.id).toBe(7);
    const t = T.parseHeader(Buffer.from((enc.email as string).slice(5), 'base64url'));
    expect(t.keyId).toBe(ring.status().find((s) => s.purpose === 'user-data' && s.primary)!.id);

    const encSnap = structuredClone(enc);
    const dec = await F.decryptFields(enc, fields, ring);
    expect(enc).toEqual(encSnap);
    expect(dec.buf).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(dec.buf)).toBe(false);
    expect(dec.blob).toBeInstanceOf(Uint8Array);
    expect(dec).toEqual({ ...rec, buf: new Uint8Array(Buffer.from('buffer')) });
    await ring.close();
  });

  test('what does not round-trip exactly, and refused values and paths', async () => {
    const { ring } = await open();
    const back = await F.decryptFields(await F.encryptFields({ z: -0, s: 'a\uD800b' }, ['z', 's'], ring, 'p'), ['z', 's'], ring);
    expect(Object.is(back.z, 0)).toBe(true); // -0 -> 0
    expect(back.s).toBe('a\uFFFDb'); // lone surrogate -> U+FFFD
    for (const v of [NaN, Infinity, 10n, { a: 1 }, [1], new Date(0), () => 1, Symbol('x')]) {
      const e = await rejects(F.encryptFields({ v }, ['v'], ring, 'p'));
      expect(e.code).toBe('ERR_ARGUMENT');
      expect(e.message).toContain('"v"');
    }
    for (const fields of [['a..b'], [''], ['__proto__'], ['a.constructor'], ['a', 'a'], ['a', 'a.b'], ['a[]', 'a.b'], 'a', [1]]) {
      expect((await rejects(F.encryptFields({ a: { b: 'x' } }, fields as string[], ring, 'p'))).code).toBe('ERR_ARGUMENT');
    }
    expect((await rejects(F.encryptFields({ a: 'str' }, ['a.b'], ring, 'p'))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(F.encryptFields({ a: { b: 1 } }, ['a[]'], ring, 'p'))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(F.encryptFields(new Date() as object, ['a'], ring, 'p'))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(F.encryptFields({ a: 1 }, ['a'], {} as Ring, 'p'))).code).toBe('ERR_ARGUMENT');
    // a bad value in the second path: nothing is sealed at all
    const before = encrypted(ring, 'p');
    expect((await rejects(F.encryptFieldsBatch([{ a: 'x', b: NaN }], ['a', 'b'], ring, 'p'))).code).toBe('ERR_ARGUMENT');
    expect(encrypted(ring, 'p')).toBe(before);
    await ring.close();
  });

  test('tampered field and moved field are ERR_AUTH (audited); plaintext is ERR_FORMAT unless allowPlaintext', async () => {
    const { ring } = await open();
    const events: { op: string; outcome: string; code?: string; keyId: number | null }[] = [];
    ring.on('audit', (e) => events.push(e));
    const enc = await F.encryptFields({ email: 'a@b.co', ssn: '123-45-6789', n: 5 }, ['email', 'ssn', 'n'], ring, 'pii');
    const bad = { ...enc, ssn: tamper(enc.ssn as string) };
    expect((await rejects(F.decryptFields(bad, ['email', 'ssn'], ring))).code).toBe('ERR_AUTH');
    const fail = events.find((e) => e.op === 'decrypt' && e.outcome === 'failure')!;
    expect(fail.code).toBe('ERR_AUTH');
    expect(fail.keyId).toBe(ring.status()[0]!.id);
    // a ciphertext moved to another field is bound to its path
    expect((await rejects(F.decryptFields({ email: enc.ssn }, ['email'], ring))).code).toBe('ERR_AUTH');
    expect((await rejects(F.decryptFields({ email: 'tsr1.!!' }, ['email'], ring))).code).toBe('ERR_FORMAT');
    // plaintext on decrypt
    for (const v of ['alice@example.com', 12, null, true, new Uint8Array(2)]) {
      expect((await rejects(F.decryptFields({ ...enc, email: v }, ['email', 'ssn'], ring))).code).toBe('ERR_FORMAT');
      const lenient = await F.decryptFields({ ...enc, email: v }, ['email', 'ssn'], ring, { allowPlaintext: true });
      expect(lenient.email).toEqual(v);
      expect(lenient.ssn).toBe('123-45-6789');
    }
    // a message opened from another key ring is ERR_KEY_MISMATCH
    const other = (await open()).ring;
    expect((await rejects(F.decryptFields(enc, ['email'], other))).code).toBe('ERR_KEY_MISMATCH');
    await other.close();
    await ring.close();
  });

  test('10 000 records: one sealBatch per field, message count +10 000 per field; decrypt with one openBatch per key', async () => {
    const { ring } = await open({ countFlushEvery: 1_000_000 });
    const records = Array.from({ length: 10_000 }, (_, i) => ({
      id: i,
      email: `user${i}@example.com`,
      profile: { phone: `+1 415 555 ${String(i).padStart(4, '0')}`, age: i % 90 },
    }));
    await ring.createPurpose('users');
    const seal = vi.spyOn(T.AeadKey.prototype, 'sealBatch');
    const sealOne = vi.spyOn(T.AeadKey.prototype, 'seal');
    const t0 = performance.now();
    const enc = await F.encryptFieldsBatch(records, ['email', 'profile.phone', 'profile.age'], ring, 'users');
    const ms = performance.now() - t0;
    expect(seal).toHaveBeenCalledTimes(3);
    for (const call of seal.mock.calls) expect(call[0]).toHaveLength(10_000);
    expect(sealOne).not.toHaveBeenCalled();
    expect(encrypted(ring, 'users')).toBe(30_000);
    expect(records[9999]!.email).toBe('user9999@example.com');
    expect(ms).toBeLessThan(5000);

    // rotate, encrypt more records under the new key, then decrypt all together
    const oldId = ring.status().find((s) => s.purpose === 'users' && s.primary)!.id;
    const newId = await ring.rotate('users');
    const more = await F.encryptFieldsBatch(records.slice(0, 500), ['email', 'profile.phone', 'profile.age'], ring, 'users');
    expect(T.parseHeader(Buffer.from((more[0]!.email as string).slice(5), 'base64url')).keyId).toBe(newId);
    expect(T.parseHeader(Buffer.from((enc[0]!.email as string).slice(5), 'base64url')).keyId).toBe(oldId);
    const openB = vi.spyOn(T.AeadKey.prototype, 'openBatch');
    const openOne = vi.spyOn(T.AeadKey.prototype, 'open');
    const all = [...enc.slice(0, 2000), ...more, ...enc.slice(2000)];
    const dec = await F.decryptFieldsBatch(all, ['email', 'profile.phone', 'profile.age'], ring);
    expect(openB).toHaveBeenCalledTimes(6); // 3 fields x 2 keys
    expect(openOne).not.toHaveBeenCalled();
    expect(dec).toEqual([...records.slice(0, 2000), ...records.slice(0, 500), ...records.slice(2000)]);
    const st = ring.status();
    expect(st.find((s) => s.id === oldId)!.decrypted).toBe(30_000);
    expect(st.find((s) => s.id === newId)!.decrypted).toBe(1500);
    await ring.close();
  });

  test('batches follow rotation policies: a batch that would cross maxMessages rotates first', async () => {
    const { ring } = await open();
    await ring.createPurpose('lim', { maxMessages: 100 });
    const rows = (k: number) => Array.from({ length: k }, (_, i) => ({ v: `value ${i}` }));
    const a = await F.encryptFieldsBatch(rows(60), ['v'], ring, 'lim');
    const b = await F.encryptFieldsBatch(rows(60), ['v'], ring, 'lim'); // 120 > 100: rotates first
    const c = await F.encryptFieldsBatch(rows(150), ['v'], ring, 'lim'); // fresh key after 60 used: rotates; then 150 on a fresh key
    const id = (r: Record<string, unknown>) => T.parseHeader(Buffer.from((r.v as string).slice(5), 'base64url')).keyId;
    expect(id(b[0]!)).not.toBe(id(a[0]!));
    expect(id(c[0]!)).not.toBe(id(b[0]!));
    const st = ring.status().filter((s) => s.purpose === 'lim');
    expect(st).toHaveLength(3);
    expect(st.map((s) => s.encrypted).sort((x, y) => x - y)).toEqual([60, 60, 150]);
    expect(st.filter((s) => s.primary)).toHaveLength(1);
    expect((await F.decryptFieldsBatch([...a, ...b, ...c], ['v'], ring)).map((r) => r.v)).toEqual([...rows(60), ...rows(60), ...rows(150)].map((r) => r.v));
    await ring.close();
  });
});

describe('blindIndex', () => {
  test('deterministic, per purpose, truncatable; stable across rotate, setPolicy and reopen', async () => {
    const file = fresh();
    const mk = randomBytes(32);
    const { ring } = await open({}, file, mk);
    const events: { op: string; detail?: string }[] = [];
    ring.on('audit', (e) => events.push(e));
    const i1 = await ring.prf('users').blindIndex('alice@example.com');
    expect(i1).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(events.filter((e) => e.op === 'create' && e.detail === 'blind index key')).toHaveLength(1);
    expect(await ring.prf('users').blindIndex('alice@example.com')).toBe(i1);
    expect(await ring.prf('users').blindIndex(new TextEncoder().encode('alice@example.com'))).toBe(i1);
    expect(await ring.prf('users').blindIndex('bob@example.com')).not.toBe(i1);
    expect(await ring.prf('users').blindIndex('Alice@example.com')).not.toBe(i1); // exact bytes by default
    expect(await ring.prf('users').blindIndex('  ALICE@Example.com ', { normalize: true })).toBe(
      await ring.prf('users').blindIndex('alice@example.com', { normalize: true }),
    );
    expect(await ring.prf('other').blindIndex('alice@example.com')).not.toBe(i1);
    for (const b of [8, 12, 16, 24, 32]) {
      const raw = await ring.prf('users').blindIndex('alice@example.com', { bytes: b, output: 'bytes' });
      expect(raw).toBeInstanceOf(Uint8Array);
      expect(raw).toHaveLength(b);
      expect(await ring.prf('users').blindIndex('alice@example.com', { bytes: b })).toBe(Buffer.from(raw).toString('base64url'));
    }
    const full = await ring.prf('users').blindIndex('alice@example.com', { bytes: 32, output: 'bytes' });
    expect(Buffer.from(full.subarray(0, 16)).toString('base64url')).toBe(i1); // truncation = prefix
    for (const b of [7, 33, 16.5, '16']) expect((await rejects(ring.prf('users').blindIndex('x', { bytes: b as number }))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(ring.prf('users').blindIndex(5 as unknown as string))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(ring.prf('bad purpose!').blindIndex('x'))).code).toBe('ERR_ARGUMENT');
    // many distinct values: distinct indexes
    const set = new Set<string>();
    for (let i = 0; i < 2000; i++) set.add(await ring.prf('users').blindIndex(`user${i}`, { bytes: 8 }));
    expect(set.size).toBe(2000);

    await ring.rotate('users');
    await ring.rotate('users');
    await ring.setPolicy('users', { maxMessages: 10 });
    expect(await ring.prf('users').blindIndex('alice@example.com')).toBe(i1);
    const other = await ring.prf('other').blindIndex('alice@example.com');
    await ring.close();
    expect(fs.readFileSync(file, 'utf8')).not.toContain(i1);

    const { ring: again } = await open({}, file, mk);
    expect(await again.prf('users').blindIndex('alice@example.com')).toBe(i1);
    expect(await again.prf('other').blindIndex('alice@example.com')).toBe(other);
    expect(again.purposes().users).toEqual({ maxMessages: 10 });
    await again.close();
    // a second keyring (other index key) gives other indexes
    const { ring: third } = await open();
    expect(await third.prf('users').blindIndex('alice@example.com')).not.toBe(i1);
    await third.close();
    // a tampered index key is caught by the document MAC
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.purposes.users.indexKey = Buffer.from(randomBytes(40)).toString('base64');
    fs.writeFileSync(file, JSON.stringify(doc));
    expect((await rejects(T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) }))).code).toBe('ERR_FORMAT');
  });

  test('autoCreate off: an unknown purpose is ERR_ARGUMENT; closed ring ERR_DISPOSED', async () => {
    const { ring } = await open({ autoCreate: false });
    expect((await rejects(ring.prf('nope').blindIndex('x'))).code).toBe('ERR_ARGUMENT');
    await ring.createPurpose('yes');
    expect(await ring.prf('yes').blindIndex('x')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await ring.close();
    expect((await rejects(ring.prf('yes').blindIndex('x'))).code).toBe('ERR_DISPOSED');
  });
});

describe('mask', () => {
  test('card', () => {
    expect(mask.card('4111111111111111')).toBe('************1111');
    expect(mask.card('4111 1111 1111 1111')).toBe('**** **** **** 1111');
    expect(mask.card('4111-1111-1111-1111')).toBe('****-****-****-1111');
    expect(mask.card('378282246310005')).toBe('***********0005');
    expect(mask.card('1234')).toBe('****'); // too short: nothing revealed
    expect(mask.card('4111x1111 1111 1111')).toBe('********* **** ****');
    expect(mask.card('')).toBe('');
  });
  test('email', () => {
    expect(mask.email('alice@example.com')).toBe('a****@example.com');
    expect(mask.email('a@x.io')).toBe('*@x.io');
    expect(mask.email('zoë.b@mail.example.org')).toBe('z****@mail.example.org');
    expect(mask.email('not-an-email')).toBe('************');
    expect(mask.email('a@b@c.com')).toBe('*********');
    expect(mask.email('@example.com')).toBe('************');
    expect(mask.email('alice@localhost')).toBe('***************');
  });
  test('phone', () => {
    expect(mask.phone('+1 415 555 0199')).toBe('+1 *** *** 0199');
    expect(mask.phone('+44 20 7946 0958')).toBe('+44 ** **** 0958');
    expect(mask.phone('+33 6 12 34 56')).toBe('+33 * ** ** 56');
    expect(mask.phone('(415) 555-0199')).toBe('(***) ***-0199');
    expect(mask.phone('555-0199')).toBe('***-**99');
    expect(mask.phone('+14155550199')).toBe('+*******0199');
    expect(mask.phone('call me')).toBe('**** **');
    expect(mask.phone('12345')).toBe('*****');
  });
  test('non-strings are ERR_ARGUMENT', () => {
    for (const f of [mask.card, mask.email, mask.phone]) {
      expect(() => f(null as unknown as string)).toThrow(T.TesseraError);
      expect(() => f(4111 as unknown as string)).toThrow(/needs a string/);
    }
  });
});
