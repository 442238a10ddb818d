/**
 * Keyring (lib/keys/keyring.ts; docs/API.md "Key manager": Keyring.open, the
 * primitives ring.aead(purpose) / streamingAead / prf, rotate, status;
 * states active -> decrypt-only -> retired -> destroyed; rotation by age
 * and by usage, checked on use). The primitives' own suites are
 * keyring.aead / keyring.streaming / keyring.prf / keyring.monitor.
 *
 * Proves: round trips with aad and the tsr1. form, output is message
 * format v1 with the primary's key id; wrong aad ERR_AUTH; unknown id and
 * bare-key messages ERR_KEY_MISMATCH; rotation keeps old messages
 * decrypting, new ones use the new id, exactly one primary per purpose;
 * policies rotate by message count and by age (injected clock); retired
 * refuses (ERR_KEY_RETIRED) until re-enabled; setState('active') swaps the
 * primary; the primary cannot be retired or destroyed; destroyed ->
 * ERR_KEY_DESTROYED and the wrapped bytes gone from the file and its .bak;
 * reencrypt moves to the primary; status; use counts persisted (batched)
 * and across reopen; autoCreate off; closed ring ERR_DISPOSED; errors never
 * carry plaintext; every deprecated data method of earlier versions
 * (encrypt, encryptToString, decrypt, decryptString, reencrypt, blindIndex,
 * encryptFile, decryptFile, encryptEnvelopeFile, decryptEnvelopeFile)
 * still works and gives what its primitive gives.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { ringOpener } from './keyring.helpers';
import { rejects, T } from './tessera';

let dir: string;
let n = 0;
const fresh = () => path.join(dir, `ring-${n++}.json`);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keyring-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const open = ringOpener(fresh);

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('Keyring', () => {
  test('round trips with aad and the tsr1. form; message format v1 under the primary id', async () => {
    const { ring } = await open();
    const aad = enc('row 17');
    const m = await ring.aead('user-data').encrypt(enc('secret value'), { aad });
    const h = T.parseHeader(m);
    const primary = ring.status().find((s) => s.purpose === 'user-data' && s.primary)!;
    expect(h.version).toBe(1);
    expect(h.algorithm).toBe('xaes-256-gcm');
    expect(h.keyId).toBe(primary.id);
    expect(dec(await ring.aead().decrypt(m, { aad }))).toBe('secret value');
    expect((await rejects(ring.aead().decrypt(m, { aad: enc('row 18') }))).code).toBe('ERR_AUTH');
    expect((await rejects(ring.aead().decrypt(m))).code).toBe('ERR_AUTH');
    const text = await ring.aead('user-data').encryptToString(enc('field'), { aad });
    expect(text.startsWith('tsr1.')).toBe(true);
    expect(dec(await ring.aead().decryptString(text, { aad }))).toBe('field');
    expect((await rejects(ring.aead().decryptString('tsr1.!!!'))).code).toBe('ERR_FORMAT');
    await ring.close();
  });

  test('other algorithms; unknown key ids and bare AeadKey messages are ERR_KEY_MISMATCH', async () => {
    const { ring } = await open({ algorithm: 'chacha20-poly1305' });
    const m = await ring.aead('p').encrypt(enc('x'));
    expect(T.parseHeader(m).algorithm).toBe('chacha20-poly1305');
    expect(dec(await ring.aead().decrypt(m))).toBe('x');
    const bare = T.AeadKey.generate('xaes-256-gcm').seal(enc('x'));
    expect((await rejects(ring.aead().decrypt(bare))).code).toBe('ERR_KEY_MISMATCH');
    const other = await open();
    const foreign = await other.ring.aead('p').encrypt(enc('x'));
    expect((await rejects(ring.aead().decrypt(foreign))).code).toBe('ERR_KEY_MISMATCH');
    expect((await rejects(ring.aead().decrypt(enc('junk')))).code).toBe('ERR_FORMAT');
    await other.ring.close();
    await ring.close();
  });

  test('rotation: old messages still decrypt, new ones use the new id, exactly one primary', async () => {
    const { ring, file, mk } = await open();
    const first = await ring.createPurpose('files');
    const m1 = await ring.aead('files').encrypt(enc('one'));
    const second = await ring.rotate('files');
    expect(second).not.toBe(first);
    const m2 = await ring.aead('files').encrypt(enc('two'));
    expect(T.parseHeader(m1).keyId).toBe(first);
    expect(T.parseHeader(m2).keyId).toBe(second);
    const third = await ring.rotate('files');
    expect(dec(await ring.aead().decrypt(m1))).toBe('one');
    expect(dec(await ring.aead().decrypt(m2))).toBe('two');
    const st = ring.status().filter((s) => s.purpose === 'files');
    expect(st.filter((s) => s.primary).map((s) => s.id)).toEqual([third]);
    expect(st.find((s) => s.id === first)!.state).toBe('decrypt-only');
    expect(st.find((s) => s.id === second)!.state).toBe('decrypt-only');
    expect(new Set(st.map((s) => s.id)).size).toBe(3);
    await ring.close();
    // Committed before use: a new process sees all three and decrypts.
    const again = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
    expect(dec(await again.aead().decrypt(m1))).toBe('one');
    expect(again.status().find((s) => s.primary)!.id).toBe(third);
    expect((await rejects(again.rotate('nope'))).code).toBe('ERR_ARGUMENT');
    await again.close();
  });

  test('policy by message count rotates on use', async () => {
    const { ring } = await open();
    const k1 = await ring.createPurpose('p', { maxMessages: 3 });
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push(T.parseHeader(await ring.aead('p').encrypt(enc(`m${i}`))).keyId);
    expect(ids.slice(0, 3)).toEqual([k1, k1, k1]);
    expect(ids[3]).not.toBe(k1);
    expect(ids.slice(3, 6)).toEqual([ids[3], ids[3], ids[3]]);
    expect(ids[6]).not.toBe(ids[3]);
    const st = ring.status();
    expect(st.filter((s) => s.primary)).toHaveLength(1);
    expect(st.find((s) => s.id === k1)!.encrypted).toBe(3);
    // Concurrent encrypts crossing the limit rotate once per limit, not once per call.
    await ring.setPolicy('p', { maxMessages: 10 });
    const before = ring.status().length;
    await Promise.all(Array.from({ length: 12 }, (_, i) => ring.aead('p').encrypt(enc(`c${i}`))));
    expect(ring.status().length).toBe(before + 1);
    expect(ring.purposes().p).toEqual({ maxMessages: 10 });
    expect((await rejects(ring.setPolicy('p', { maxMessages: 0 }))).code).toBe('ERR_ARGUMENT');
    await ring.close();
  });

  test('policy by age rotates on use (injected clock)', async () => {
    let now = Date.UTC(2030, 0, 1);
    const { ring } = await open({ now: () => now });
    const k1 = await ring.createPurpose('p');
    await ring.setPolicy('p', { maxAgeDays: 30 });
    now += 29 * 86_400_000;
    expect(T.parseHeader(await ring.aead('p').encrypt(enc('a'))).keyId).toBe(k1);
    expect(ring.status()[0]!.ageDays).toBeCloseTo(29, 5);
    now += 1 * 86_400_000;
    const k2 = T.parseHeader(await ring.aead('p').encrypt(enc('b'))).keyId;
    expect(k2).not.toBe(k1);
    const s2 = ring.status().find((s) => s.id === k2)!;
    expect(s2.createdAt.getTime()).toBe(now);
    expect(s2.primary).toBe(true);
    await ring.close();
  });

  test('retired refuses until re-enabled; setState active swaps the primary; the primary cannot be retired', async () => {
    const { ring } = await open();
    const k1 = await ring.createPurpose('p');
    const m = await ring.aead('p').encrypt(enc('old'));
    expect((await rejects(ring.setState(k1, 'retired'))).code).toBe('ERR_ARGUMENT');
    const k2 = await ring.rotate('p');
    await ring.setState(k1, 'retired');
    expect(ring.status().find((s) => s.id === k1)!.state).toBe('retired');
    const e = await rejects(ring.aead().decrypt(m));
    expect(e.code).toBe('ERR_KEY_RETIRED');
    expect(e.message).not.toContain('old');
    await ring.setState(k1, 'decrypt-only');
    expect(dec(await ring.aead().decrypt(m))).toBe('old');
    await ring.setState(k1, 'active');
    const st = ring.status();
    expect(st.find((s) => s.id === k1)!.primary).toBe(true);
    expect(st.find((s) => s.id === k2)!.state).toBe('decrypt-only');
    expect(st.filter((s) => s.primary)).toHaveLength(1);
    expect(T.parseHeader(await ring.aead('p').encrypt(enc('x'))).keyId).toBe(k1);
    expect((await rejects(ring.setState(12345, 'retired'))).code).toBe('ERR_KEY_MISMATCH');
    expect((await rejects(ring.setState(k2, 'bogus' as 'retired'))).code).toBe('ERR_ARGUMENT');
    await ring.close();
  });

  test('destroy: ERR_KEY_DESTROYED, id kept, wrapped bytes gone from the file and the .bak', async () => {
    const { ring, file, mk } = await open();
    const k1 = await ring.createPurpose('p');
    const m = await ring.aead('p').encrypt(enc('gone'));
    expect((await rejects(ring.destroy(k1))).code).toBe('ERR_ARGUMENT'); // the primary
    await ring.rotate('p');
    const wrapped = JSON.parse(fs.readFileSync(file, 'utf8')).keys.find((k: { id: number }) => k.id === k1).wrapped as string;
    expect(wrapped.length).toBeGreaterThan(40);
    await ring.destroy(k1);
    expect((await rejects(ring.aead().decrypt(m))).code).toBe('ERR_KEY_DESTROYED');
    expect(ring.status().find((s) => s.id === k1)!.state).toBe('destroyed');
    for (const f of [file, `${file}.bak`]) {
      const text = fs.readFileSync(f, 'utf8');
      expect(text).not.toContain(wrapped);
      expect(JSON.parse(text).keys.find((k: { id: number }) => k.id === k1)).not.toHaveProperty('wrapped');
    }
    expect((await rejects(ring.setState(k1, 'decrypt-only'))).code).toBe('ERR_KEY_DESTROYED');
    expect((await rejects(ring.exportKey(k1, T.kek.fromKey(randomBytes(32))))).code).toBe('ERR_KEY_DESTROYED');
    await ring.close();
    const again = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
    expect((await rejects(again.aead().decrypt(m))).code).toBe('ERR_KEY_DESTROYED');
    await again.close();
  });

  test('reencrypt moves a message to the primary (unchanged if already there)', async () => {
    const { ring } = await open();
    const aad = enc('ctx');
    await ring.createPurpose('p');
    const m = await ring.aead('p').encrypt(enc('payload'), { aad });
    expect(await ring.aead().reencrypt(m, { aad })).toBe(m);
    const k2 = await ring.rotate('p');
    const moved = await ring.aead().reencrypt(m, { aad });
    expect(T.parseHeader(moved).keyId).toBe(k2);
    expect(dec(await ring.aead().decrypt(moved, { aad }))).toBe('payload');
    expect((await rejects(ring.aead().reencrypt(m, { aad: enc('other') }))).code).toBe('ERR_AUTH');
    await ring.close();
  });

  test('status lists id, purpose, state, createdAt, age and use counts; counts are persisted in the background in batches and at close', async () => {
    let now = Date.UTC(2031, 5, 1);
    const { ring, file, mk } = await open({ now: () => now, countFlushEvery: 5 });
    const k = await ring.createPurpose('p');
    const ms: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) ms.push(await ring.aead('p').encrypt(enc(`${i}`)));
    const stored = () => JSON.parse(fs.readFileSync(file, 'utf8')).keys.find((r: { id: number }) => r.id === k);
    expect(stored().encrypted).toBe(0); // not yet flushed
    // The 5th use reaches countFlushEvery: the counts are written in the
    // background (the call itself does not wait for the store).
    ms.push(await ring.aead('p').encrypt(enc('4')));
    for (let i = 0; i < 200 && stored().encrypted !== 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stored().encrypted).toBe(5);
    await ring.aead('p').encrypt(enc('5'));
    await ring.aead().decrypt(ms[0]!);
    now += 2 * 86_400_000;
    const s = ring.status()[0]!;
    expect(s).toMatchObject({ id: k, purpose: 'p', state: 'active', primary: true, algorithm: 'xaes-256-gcm', encrypted: 6, decrypted: 1 });
    expect(s.ageDays).toBeCloseTo(2, 5);
    expect(s.createdAt).toBeInstanceOf(Date);
    await ring.close();
    expect(stored()).toMatchObject({ encrypted: 6, decrypted: 1 });
    const again = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
    expect(again.status()[0]).toMatchObject({ encrypted: 6, decrypted: 1 });
    await again.close();
  });

  test('autoCreate off requires createPurpose; bad purposes; closed ring', async () => {
    const { ring } = await open({ autoCreate: false });
    expect((await rejects(ring.aead('typo').encrypt(enc('x')))).code).toBe('ERR_ARGUMENT');
    await ring.createPurpose('real');
    expect((await rejects(ring.createPurpose('real'))).code).toBe('ERR_ARGUMENT');
    expect(dec(await ring.aead().decrypt(await ring.aead('real').encrypt(enc('x'))))).toBe('x');
    expect((await rejects(ring.createPurpose('has space'))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(T.Keyring.open(new T.FileKeyStore(fresh()), {} as never))).code).toBe('ERR_ARGUMENT');
    await ring.close();
    expect((await rejects(ring.aead('real').encrypt(enc('x')))).code).toBe('ERR_DISPOSED');
    expect(() => ring.status()).toThrow(T.TesseraError);
  });

  test('error messages never carry plaintext', async () => {
    const { ring } = await open();
    const secret = 'hunter2-very-secret-plaintext';
    const m = await ring.aead('p').encrypt(enc(secret));
    const msgs: string[] = [];
    for (const p of [ring.aead().decrypt(m, { aad: enc('x') }), ring.aead().decrypt(m.subarray(0, 20)), ring.aead().decryptString(secret)])
      msgs.push((await rejects(p)).message);
    for (const s of msgs) {
      expect(s).not.toContain(secret);
      expect(s).not.toContain(Buffer.from(secret).toString('hex'));
    }
    await ring.close();
  });

  test('deprecated delegations still work and match their primitives', async () => {
    const { ring } = await open();
    const aad = enc('row 1');
    const m = await ring.encrypt('dep', enc('one'), { aad });
    const primary = () => ring.status().find((s) => s.purpose === 'dep' && s.primary)!.id;
    expect(T.parseHeader(m).keyId).toBe(primary());
    expect(dec(await ring.decrypt(m, { aad }))).toBe('one');
    expect(dec(await ring.aead('dep').decrypt(m, { aad }))).toBe('one');
    expect((await rejects(ring.decrypt(m))).code).toBe('ERR_AUTH');
    const text = await ring.encryptToString('dep', enc('two'));
    expect(dec(await ring.decryptString(text))).toBe('two');
    expect(dec(await ring.aead().decryptString(text))).toBe('two');
    expect(await ring.reencrypt(m, { aad })).toBe(m);
    const k2 = await ring.rotate('dep');
    const moved = await ring.reencrypt(m, { aad });
    expect(T.parseHeader(moved).keyId).toBe(k2);
    expect(dec(await ring.aead('dep').decrypt(moved, { aad }))).toBe('one');
    const idx = await ring.blindIndex('dep', 'alice');
    expect(idx).toBe(await ring.prf('dep').blindIndex('alice'));
    expect(await ring.blindIndex('dep', 'alice', { output: 'bytes', bytes: 8 })).toEqual(
      await ring.prf('dep').blindIndex('alice', { output: 'bytes', bytes: 8 }),
    );
    const src = path.join(dir, `dep-${n++}.txt`);
    fs.writeFileSync(src, 'file body');
    const tsr = `${src}.tsr`;
    const info = await ring.encryptFile('dep', src, tsr, { metadata: { v: 1 } });
    expect(info).toMatchObject({ kind: 'kek', purpose: 'dep', metadata: { v: 1 } });
    expect(await ring.decryptFile(tsr, `${src}.out`)).toMatchObject({ purpose: 'dep' });
    expect(fs.readFileSync(`${src}.out`, 'utf8')).toBe('file body');
    await ring.streamingAead().decryptFile(tsr, `${src}.out2`);
    expect(fs.readFileSync(`${src}.out2`, 'utf8')).toBe('file body');
    // The KEK-only functions of envelope-file.ts: the same format as streamingAead(kek).
    const kek = T.kek.fromKey(randomBytes(32));
    await T.encryptEnvelopeFile(kek, 'dep', src, `${src}.k.tsr`);
    await T.streamingAead(kek).decryptFile(`${src}.k.tsr`, `${src}.k.out`);
    expect(fs.readFileSync(`${src}.k.out`, 'utf8')).toBe('file body');
    await T.streamingAead(kek, 'dep').encryptFile(src, `${src}.k2.tsr`);
    await T.decryptEnvelopeFile(kek, `${src}.k2.tsr`, `${src}.k2.out`);
    expect(fs.readFileSync(`${src}.k2.out`, 'utf8')).toBe('file body');
    await ring.close();
    for (const p of [
      ring.encrypt('dep', enc('x')),
      ring.decrypt(m),
      ring.blindIndex('dep', 'x'),
      ring.encryptFile('dep', src, `${src}.x`),
      ring.decryptFile(tsr, `${src}.x`),
    ])
      expect((await rejects(p)).code).toBe('ERR_DISPOSED');
  });
});
