/**
 * kek.multi (lib/keys/kek-multi.ts): a data key wrapped under several KEKs;
 * unwrap answers if any member does, in the order given; the envelope is
 * parsed with exact bounds; a keyring made with a multi-KEK reopens with
 * the same members in any order and survives one member being down.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';

import { code } from './kek.helpers';
import { root, T } from './tessera';

type Provider = import('../dist/cjs/keys/kek').KekProvider;
const multiModule = require(path.join(root, 'dist/cjs/keys/kek-multi.js')) as typeof import('../dist/cjs/keys/kek-multi');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kek-multi-'));
let n = 0;
const fresh = () => path.join(dir, `ring-${++n}.json`);

/** A member that can be taken down (its calls fail with `failWith`) and counts its unwraps. */
function switchable(inner: Provider, failWith = 'ERR_IO') {
  const state = { down: false, unwraps: 0 };
  const p: Provider = {
    id: inner.id,
    wrap: (k) => (state.down ? Promise.reject(new T.TesseraError(failWith as 'ERR_IO', 'member down')) : inner.wrap(k)),
    unwrap: (w) => {
      state.unwraps++;
      return state.down ? Promise.reject(new T.TesseraError(failWith as 'ERR_IO', 'member down')) : inner.unwrap(w);
    },
  };
  return { p, state };
}

const mkA = randomBytes(32),
  mkB = randomBytes(32);
const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = rsaPair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

describe('kek.multi', () => {
  test("wrap under every member; each entry is that member's own wrap; unwrap round-trips", async () => {
    const a = T.kek.fromKey(mkA),
      b = T.kek.fromKey(mkB),
      r = T.kek.rsa({ privateKey: pem });
    const m = T.kek.multi([a, b, r]);
    expect(m.id).toMatch(/^multi:[0-9a-f]{16}$/);
    expect(m.members).toEqual([a.id, b.id, r.id]);
    const dk = randomBytes(32);
    const w = await m.wrap(dk);
    const entries = multiModule.parseMulti(w);
    expect([...entries.keys()]).toEqual([a.id, b.id, r.id]);
    expect(Buffer.from(T.keywrap.unwrapPad(mkA, entries.get(a.id)!)).equals(dk)).toBe(true);
    expect(Buffer.from(await r.unwrap(entries.get(r.id)!)).equals(dk)).toBe(true);
    expect(Buffer.from(await m.unwrap(w)).equals(dk)).toBe(true);
    expect(Buffer.from(w).includes(dk)).toBe(false);
  });

  test('unwrap tries members in the order given and stops at the first that answers', async () => {
    const A = switchable(T.kek.fromKey(mkA)),
      B = switchable(T.kek.fromKey(mkB));
    const w = await T.kek.multi([A.p, B.p]).wrap(randomBytes(32));
    await T.kek.multi([A.p, B.p]).unwrap(w);
    expect([A.state.unwraps, B.state.unwraps]).toEqual([1, 0]);
    await T.kek.multi([B.p, A.p]).unwrap(w);
    expect([A.state.unwraps, B.state.unwraps]).toEqual([1, 1]);
    A.state.down = true;
    await T.kek.multi([A.p, B.p]).unwrap(w); // A fails, B answers
    expect([A.state.unwraps, B.state.unwraps]).toEqual([2, 2]);
  });

  test('the id ignores order; a wrap fails if any member fails; all members failing names each code, never key bytes', async () => {
    const A = switchable(T.kek.fromKey(mkA)),
      B = switchable(T.kek.fromKey(mkB), 'ERR_KEK');
    expect(T.kek.multi([A.p, B.p]).id).toBe(T.kek.multi([B.p, A.p]).id);
    expect(T.kek.multi([A.p]).id).not.toBe(T.kek.multi([A.p, B.p]).id);
    const m = T.kek.multi([A.p, B.p]);
    const dk = randomBytes(32);
    const w = await m.wrap(dk);
    B.state.down = true;
    expect((await code(m.wrap(dk)))[0]).toBe('ERR_KEK');
    A.state.down = true;
    const [c, msg] = await code(m.unwrap(w));
    expect(c).toBe('ERR_KEK'); // mixed failures (ERR_IO, ERR_KEK)
    expect(msg).toContain(`${A.p.id}: ERR_IO`);
    expect(msg).toContain(`${B.p.id}: ERR_KEK`);
    for (const secret of [dk, mkA, mkB]) expect(msg).not.toContain(Buffer.from(secret).toString('hex').slice(0, 12));
  });

  test('an entry altered under every member is ERR_AUTH; wrapped under none of the members is ERR_KEK', async () => {
    const a = T.kek.fromKey(mkA),
      b = T.kek.fromKey(mkB);
    const w = await T.kek.multi([a, b]).wrap(randomBytes(32));
    const bad = Uint8Array.from(w);
    bad[bad.length - 1]! ^= 1; // b's entry
    const e = multiModule.parseMulti(bad);
    const aEntry = e.get(a.id)!;
    aEntry[0]! ^= 1; // a's entry (a view into bad)
    expect((await code(T.kek.multi([a, b]).unwrap(bad)))[0]).toBe('ERR_AUTH');
    const other = T.kek.multi([T.kek.fromKey(randomBytes(32))]);
    expect((await code(other.unwrap(w)))[0]).toBe('ERR_KEK');
  });

  test('malformed envelopes are ERR_FORMAT at every cut, with bad counts, lengths, duplicate ids, trailing bytes', async () => {
    const m = T.kek.multi([T.kek.fromKey(mkA), T.kek.fromKey(mkB)]);
    const w = await m.wrap(randomBytes(32));
    for (let cut = 0; cut < w.length; cut++) expect((await code(m.unwrap(w.subarray(0, cut))))[0], `cut at ${cut}`).toBe('ERR_FORMAT');
    const variants: Uint8Array[] = [
      Buffer.concat([w, Buffer.from([0])]), // trailing byte
      Uint8Array.from(w, (x, i) => (i === 0 ? 0x58 : x)), // magic
      Uint8Array.from(w, (x, i) => (i === 4 ? 0 : x)), // count 0
      Uint8Array.from(w, (x, i) => (i === 4 ? 17 : x)), // count 17
      Uint8Array.from(w, (x, i) => (i === 5 ? 0xff : x)), // id length past the end
    ];
    // The first entry twice.
    const first = 5 + 2 + w[6]! + 4 + new DataView(w.buffer, w.byteOffset).getUint32(5 + 2 + w[6]!);
    variants.push(Buffer.concat([Buffer.from([0x54, 0x4b, 0x4d, 0x31, 2]), w.subarray(5, first), w.subarray(5, first)]));
    for (const v of variants) expect((await code(m.unwrap(v)))[0]).toBe('ERR_FORMAT');
    for (let i = 0; i < 200; i++) expect(['ERR_FORMAT', 'ERR_AUTH', 'ERR_KEK']).toContain((await code(m.unwrap(randomBytes(1 + (i % 90)))))[0]);
  });

  test('arguments: 1 to 16 distinct providers', () => {
    const a = T.kek.fromKey(mkA);
    for (const bad of [[], [a, a], [{ id: 'x' }], Array.from({ length: 17 }, () => T.kek.fromKey(randomBytes(32))), 'a'])
      expect(() => T.kek.multi(bad as Provider[])).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });

  test('a keyring made with multi([A, B]) reopens with multi([B, A]), and with A down; not with A alone', async () => {
    const file = fresh();
    const A = switchable(T.kek.fromKey(mkA)),
      B = switchable(T.kek.rsa({ privateKey: pem }));
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.multi([A.p, B.p]) });
    await ring.createPurpose('p');
    const msg = await ring.encrypt('p', Buffer.from('two regions'));
    await ring.close();
    A.state.down = true;
    const again = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.multi([A.p, B.p]) });
    expect(Buffer.from(await again.decrypt(msg)).toString()).toBe('two regions');
    await again.close();
    A.state.down = false;
    const reordered = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.multi([B.p, A.p]) });
    expect(Buffer.from(await reordered.decrypt(msg)).toString()).toBe('two regions');
    await reordered.close();
    expect((await code(T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mkA) })))[0]).toBe('ERR_KEK');
  });
});
