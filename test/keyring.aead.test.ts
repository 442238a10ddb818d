/**
 * The keyring's AEAD primitive, ring.aead(purpose) (lib/keys/keyring-aead.ts;
 * docs/API.md "Key manager").
 *
 * Proves: the primitive is cached per purpose (the same object for every
 * call); one obtained before rotate() (and before a policy rotation)
 * encrypts under the new primary after it; an unknown purpose with
 * autoCreate off fails ERR_ARGUMENT exactly as ring.encrypt did, and the
 * same primitive works once the purpose is created; bad purpose names and
 * a closed ring reject (never throw) at use; ring.aead() without a purpose
 * opens every message but refuses to encrypt; decryption by key id works
 * across purposes with ERR_KEY_MISMATCH / ERR_KEY_RETIRED /
 * ERR_KEY_DESTROYED as before; reencrypt moves into the primitive's purpose
 * (or, without one, within each message's own purpose); batches round-trip
 * across key versions; concurrent encrypts through one primitive never
 * seal more than maxMessages under a key; 'constructor' is a purpose like
 * any other.
 */
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
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keyring-aead-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const open = ringOpener(fresh);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const idOf = (m: Uint8Array) => T.parseHeader(m).keyId;

describe('ring.aead(purpose)', () => {
  test('cached per purpose; a primitive obtained before rotate() encrypts under the new primary after it', async () => {
    const { ring } = await open();
    const k1 = await ring.createPurpose('user-data');
    const aead = ring.aead('user-data');
    expect(ring.aead('user-data')).toBe(aead);
    expect(ring.aead()).toBe(ring.aead());
    expect(ring.aead('other')).not.toBe(aead);
    expect(aead.purpose).toBe('user-data');
    const m1 = await aead.encrypt(enc('before'));
    expect(idOf(m1)).toBe(k1);
    const k2 = await ring.rotate('user-data');
    const m2 = await aead.encrypt(enc('after'));
    expect(idOf(m2)).toBe(k2);
    expect(idOf(Buffer.from((await aead.encryptToString(enc('s'))).slice(5), 'base64url'))).toBe(k2);
    expect(dec(await aead.decrypt(m1))).toBe('before');
    // A policy rotation (maxMessages) reaches the same primitive too.
    await ring.setPolicy('user-data', { maxMessages: 2 });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(idOf(await aead.encrypt(enc(`${i}`))));
    expect(ids[0]).not.toBe(k2); // k2 had sealed 2 already: due, so a new primary first
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[1]);
    expect(ring.status().find((s) => s.primary)!.id).toBe(ids[2]);
    await ring.close();
  });

  test('unknown purpose with autoCreate off: ERR_ARGUMENT as before; the same primitive works once the purpose exists', async () => {
    const { ring } = await open({ autoCreate: false });
    const typo = ring.aead('typo');
    const e = await rejects(typo.encrypt(enc('x')));
    expect(e.code).toBe('ERR_ARGUMENT');
    expect(e.code).toBe((await rejects(ring.encrypt('typo', enc('x')))).code);
    expect(e.message).toContain('createPurpose');
    expect((await rejects(typo.encryptBatch([enc('x')]))).code).toBe('ERR_ARGUMENT');
    expect(ring.status()).toEqual([]); // nothing was created
    const k = await ring.createPurpose('typo');
    expect(idOf(await typo.encrypt(enc('x')))).toBe(k);
    // Bad names and a closed ring reject at use; ring.aead() itself never throws.
    for (const bad of ['has space', '', 5 as unknown as string]) expect((await rejects(ring.aead(bad).encrypt(enc('x')))).code).toBe('ERR_ARGUMENT');
    await ring.close();
    expect((await rejects(typo.encrypt(enc('x')))).code).toBe('ERR_DISPOSED');
    expect((await rejects(ring.aead('typo').decrypt(new Uint8Array(40)))).code).toBe('ERR_DISPOSED');
  });

  test('ring.aead() without a purpose opens every message, refuses to encrypt', async () => {
    const { ring } = await open();
    const any = ring.aead();
    expect(any.purpose).toBeUndefined();
    const e = await rejects(any.encrypt(enc('x')));
    expect(e.code).toBe('ERR_ARGUMENT');
    expect(e.message).toContain('ring.aead(purpose)');
    expect((await rejects(any.encryptToString(enc('x')))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(any.encryptBatch([enc('x')]))).code).toBe('ERR_ARGUMENT');
    const a = await ring.aead('a').encrypt(enc('of a'));
    const b = await ring.aead('b').encrypt(enc('of b'));
    expect(dec(await any.decrypt(a))).toBe('of a');
    expect(dec(await any.decrypt(b))).toBe('of b');
    await ring.close();
  });

  test('decryption by key id across purposes; unknown, retired and destroyed keys as before', async () => {
    const { ring } = await open();
    const ka = await ring.createPurpose('a');
    const mb = await ring.aead('b').encrypt(enc('of b'), { aad: enc('r') });
    expect(dec(await ring.aead('a').decrypt(mb, { aad: enc('r') }))).toBe('of b'); // a's primitive opens b's message
    expect((await rejects(ring.aead('a').decrypt(mb))).code).toBe('ERR_AUTH');
    const ma = await ring.aead('a').encrypt(enc('old a'));
    await ring.rotate('a');
    expect(dec(await ring.aead('b').decrypt(ma))).toBe('old a'); // decrypt-only still opens
    await ring.setState(ka, 'retired');
    expect((await rejects(ring.aead('a').decrypt(ma))).code).toBe('ERR_KEY_RETIRED');
    expect((await rejects(ring.aead('a').decryptBatch([ma]))).code).toBe('ERR_KEY_RETIRED');
    await ring.destroy(ka);
    expect((await rejects(ring.aead('a').decrypt(ma))).code).toBe('ERR_KEY_DESTROYED');
    expect((await rejects(ring.aead('a').decryptString(T.AeadKey.generate('xaes-256-gcm', { keyId: 7 }).sealToString(enc('x'))))).code).toBe(
      'ERR_KEY_MISMATCH',
    );
    expect((await rejects(ring.aead('a').decrypt(enc('junk')))).code).toBe('ERR_FORMAT');
    await ring.close();
  });

  test("reencrypt moves into the primitive's purpose; without one, within the message's own purpose", async () => {
    const { ring } = await open();
    const aad = enc('ctx');
    const ma = await ring.aead('a').encrypt(enc('payload'), { aad });
    const ka1 = idOf(ma);
    expect(await ring.aead('a').reencrypt(ma, { aad })).toBe(ma); // already under a's primary
    expect(await ring.aead().reencrypt(ma, { aad })).toBe(ma);
    const kb = idOf(await ring.aead('b').encrypt(enc('x')));
    const intoB = await ring.aead('b').reencrypt(ma, { aad }); // moved across purposes on request
    expect(idOf(intoB)).toBe(kb);
    expect(dec(await ring.aead().decrypt(intoB, { aad }))).toBe('payload');
    const ka2 = await ring.rotate('a');
    const moved = await ring.aead().reencrypt(ma, { aad });
    expect(idOf(moved)).toBe(ka2);
    expect(idOf(moved)).not.toBe(ka1);
    expect((await rejects(ring.aead().reencrypt(ma, { aad: enc('other') }))).code).toBe('ERR_AUTH');
    await ring.close();
  });

  test('batches: one seal per call, opened across key versions; all or nothing', async () => {
    const { ring } = await open();
    const aead = ring.aead('rows');
    const first = await aead.encryptBatch([enc('r0'), enc('r1')], { aad: enc('t') });
    await ring.rotate('rows');
    const second = await aead.encryptBatch([enc('r2')], { aad: enc('t') });
    expect(idOf(second[0]!)).not.toBe(idOf(first[0]!));
    expect(await aead.encryptBatch([])).toEqual([]);
    const all = [second[0]!, first[0]!, first[1]!];
    expect((await ring.aead().decryptBatch(all, { aad: enc('t') })).map(dec)).toEqual(['r2', 'r0', 'r1']);
    const bad = Buffer.from(first[1]!);
    bad[bad.length - 1]! ^= 1;
    expect((await rejects(ring.aead().decryptBatch([first[0]!, bad], { aad: enc('t') }))).code).toBe('ERR_AUTH');
    expect((await rejects(aead.encryptBatch('x' as unknown as Uint8Array[]))).code).toBe('ERR_ARGUMENT');
    await ring.close();
  });

  test('concurrent encrypts through one primitive never seal more than maxMessages under a key', async () => {
    const { ring } = await open();
    await ring.createPurpose('lim', { maxMessages: 2 });
    const aead = ring.aead('lim');
    const msgs = await Promise.all(Array.from({ length: 7 }, (_, i) => aead.encrypt(enc(`m${i}`))));
    const perKey = new Map<number, number>();
    for (const m of msgs) perKey.set(idOf(m), (perKey.get(idOf(m)) ?? 0) + 1);
    expect([...perKey.values()].sort()).toEqual([1, 2, 2, 2]);
    const st = ring.status().filter((s) => s.purpose === 'lim');
    expect(st).toHaveLength(4);
    for (const s of st) expect(s.encrypted).toBe(perKey.get(s.id));
    expect((await Promise.all(msgs.map((m) => aead.decrypt(m)))).map(dec)).toEqual(msgs.map((_, i) => `m${i}`));
    await ring.close();
  });

  test("'constructor' and other Object.prototype names are ordinary purposes", async () => {
    const { ring, file, mk } = await open();
    for (const p of ['constructor', 'toString', 'hasOwnProperty']) {
      const m = await ring.aead(p).encrypt(enc(p));
      expect(ring.status().find((s) => s.id === idOf(m))!.purpose).toBe(p);
      expect(dec(await ring.aead().decrypt(m))).toBe(p);
    }
    await ring.setPolicy('constructor', { maxMessages: 5 });
    expect(ring.purposes().constructor).toEqual({ maxMessages: 5 });
    await ring.close();
    const again = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk), autoCreate: false });
    expect(await again.aead('constructor').encrypt(enc('x'))).toBeInstanceOf(Uint8Array);
    expect((await rejects(again.aead('valueOf').encrypt(enc('x')))).code).toBe('ERR_ARGUMENT');
    await again.close();
  });
});
