/**
 * Tampering with sealed data (docs/API.md message format v1, contract: unknown
 * version or algorithm, short input, bad tag: a TesseraError with a stable
 * code, never a partial plaintext; lib/aead.ts: openInto zeroes what it
 * wrote on failure; openBatch is all or nothing).
 *
 * Proves, for each of the four algorithms:
 *  - AeadKey messages: flipping each of the 8 bits of every header byte,
 *    of the first / middle / last ciphertext byte and of every tag byte
 *    makes open / openInto / openAsync / openString fail with
 *      version byte -> ERR_FORMAT, algorithm byte -> ERR_ALGORITHM,
 *      key id bytes -> ERR_KEY_MISMATCH, nonce / ciphertext / tag -> ERR_AUTH;
 *    openInto's out (pre-filled 0xAA) is zero over the plaintext length after
 *    ERR_AUTH and untouched after a header error: no plaintext byte appears;
 *  - truncation by 1..N bytes: ERR_FORMAT below header + tag, ERR_AUTH above;
 *    extension by 1 byte: ERR_AUTH;
 *  - wrong, missing or unexpected aad: ERR_AUTH;
 *  - raw aead.open / openInto with flipped ciphertext, tag, nonce, key: ERR_AUTH;
 *  - openBatch with one tampered message: ERR_AUTH naming the index.
 */
import { describe, expect, test } from 'vitest';
import { T, codeOf } from './tessera';

type Alg = 'aes-256-gcm' | 'chacha20-poly1305' | 'xchacha20-poly1305' | 'xaes-256-gcm';
const ALGS: Alg[] = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'];
const NONCE: Record<Alg, number> = { 'aes-256-gcm': 12, 'chacha20-poly1305': 12, 'xchacha20-poly1305': 24, 'xaes-256-gcm': 24 };
// Recognizable plaintext: a leak of any of it into out would show.
const SECRET = Buffer.from('tessera-tamper-plaintext-0123456789-ABCDEFGHIJ');

async function asyncCodeOf(p: () => Promise<unknown>): Promise<string> {
  try {
    await p();
  } catch (e) {
    if (!(e instanceof T.TesseraError)) return `not a TesseraError: ${String(e)}`;
    return e.code;
  }
  return 'no error';
}

function flipped(msg: Uint8Array, pos: number, bit: number): Buffer {
  const m = Buffer.from(msg);
  m[pos]! ^= 1 << bit;
  return m;
}

/** Byte positions to flip in a v1 message and the code each must give. */
function positions(alg: Alg, ptLen: number): { pos: number; what: string; code: string }[] {
  const hl = 6 + NONCE[alg];
  const out = [
    { pos: 0, what: 'version', code: 'ERR_FORMAT' },
    { pos: 1, what: 'algorithm id', code: 'ERR_ALGORITHM' },
  ];
  for (let i = 2; i < 6; i++) out.push({ pos: i, what: `key id byte ${i - 2}`, code: 'ERR_KEY_MISMATCH' });
  for (let i = 6; i < hl; i++) out.push({ pos: i, what: `nonce byte ${i - 6}`, code: 'ERR_AUTH' });
  if (ptLen > 0) {
    for (const [name, i] of [
      ['first', 0],
      ['middle', ptLen >> 1],
      ['last', ptLen - 1],
    ] as const)
      out.push({ pos: hl + i, what: `${name} ciphertext byte`, code: 'ERR_AUTH' });
  }
  for (let i = 0; i < 16; i++) out.push({ pos: hl + ptLen + i, what: `tag byte ${i}`, code: 'ERR_AUTH' });
  return out;
}

/** Checks openInto on a bad message: fails with `code` and releases no plaintext. */
function checkOpenInto(
  key: ReturnType<typeof T.AeadKey.generate>,
  bad: Buffer,
  code: string,
  hl: number,
  aad: Uint8Array | undefined,
  label: string,
  problems: string[],
) {
  const out = Buffer.alloc(Math.max(bad.length, 1), 0xaa);
  const c = codeOf(() => key.openInto(out, bad, aad ? { aad } : undefined));
  if (c !== code) problems.push(`${label}: openInto gave ${c}, expected ${code}`);
  if (c === 'ERR_AUTH') {
    const n = bad.length - hl - 16;
    if (out.subarray(0, n).some((x) => x !== 0)) problems.push(`${label}: openInto left non-zero bytes in out after ERR_AUTH`);
    if (out.subarray(n).some((x) => x !== 0xaa)) problems.push(`${label}: openInto wrote past the plaintext length`);
  } else if (out.some((x) => x !== 0xaa)) {
    problems.push(`${label}: openInto touched out after ${c}`);
  }
  if (out.includes(SECRET.subarray(0, 8))) problems.push(`${label}: plaintext visible in out`);
}

describe.each(ALGS)('%s', (alg) => {
  const hl = 6 + NONCE[alg];

  for (const ptLen of [0, 1, SECRET.length]) {
    test(`AeadKey message (plaintext ${ptLen} B): every bit of header, ct first/middle/last, tag`, async () => {
      using key = T.AeadKey.generate(alg);
      const pt = SECRET.subarray(0, ptLen);
      for (const aad of [undefined, Buffer.from('context-aad')]) {
        const msg = Buffer.from(key.seal(pt, aad ? { aad } : undefined));
        expect(msg.length).toBe(hl + ptLen + 16);
        expect(Buffer.from(key.open(msg, aad ? { aad } : undefined)).equals(pt)).toBe(true);
        const problems: string[] = [];
        let flips = 0;
        for (const { pos, what, code } of positions(alg, ptLen)) {
          for (let bit = 0; bit < 8; bit++) {
            const bad = flipped(msg, pos, bit);
            const label = `${alg} pt ${ptLen} aad ${aad ? 'yes' : 'no'}: ${what} (offset ${pos}) bit ${bit}`;
            const c = codeOf(() => key.open(bad, aad ? { aad } : undefined));
            if (c !== code) problems.push(`${label}: open gave ${c}, expected ${code}`);
            checkOpenInto(key, bad, code, hl, aad, label, problems);
            flips++;
          }
        }
        expect(problems).toEqual([]);
        expect(flips).toBe(8 * (hl + (ptLen > 0 ? 3 : 0) + 16));
        // The text form and the async path classify the same way (one bit per class).
        for (const { pos, code } of positions(alg, ptLen).filter((p, i, all) => all.findIndex((q) => q.code === p.code) === i)) {
          const bad = flipped(msg, pos, 0);
          expect(await asyncCodeOf(() => key.openAsync(bad, aad ? { aad } : undefined))).toBe(code);
          expect(codeOf(() => key.openString('tsr1.' + bad.toString('base64url'), aad ? { aad } : undefined))).toBe(code);
        }
      }
    });
  }

  test('AeadKey message: truncated by 1..N bytes and extended by 1 byte', () => {
    using key = T.AeadKey.generate(alg);
    const msg = Buffer.from(key.seal(SECRET, { aad: Buffer.from('a') }));
    const problems: string[] = [];
    for (let cut = 1; cut <= msg.length; cut++) {
      const bad = Buffer.from(msg.subarray(0, msg.length - cut));
      const want = bad.length < hl + 16 ? 'ERR_FORMAT' : 'ERR_AUTH';
      const c = codeOf(() => key.open(bad, { aad: Buffer.from('a') }));
      if (c !== want) problems.push(`truncated to ${bad.length}: open gave ${c}, expected ${want}`);
      checkOpenInto(key, bad, want, hl, Buffer.from('a'), `truncated to ${bad.length}`, problems);
    }
    for (const extra of [0x00, 0xff]) {
      const bad = Buffer.concat([msg, Buffer.from([extra])]);
      expect(codeOf(() => key.open(bad, { aad: Buffer.from('a') }))).toBe('ERR_AUTH');
      checkOpenInto(key, bad, 'ERR_AUTH', hl, Buffer.from('a'), `extended by 0x${extra.toString(16)}`, problems);
    }
    expect(problems).toEqual([]);
  });

  test('AeadKey message: wrong, missing and unexpected aad', async () => {
    using key = T.AeadKey.generate(alg);
    const aad = Buffer.from('tenant=42');
    const msg = key.seal(SECRET, { aad });
    expect(codeOf(() => key.open(msg, { aad: Buffer.from('tenant=43') }))).toBe('ERR_AUTH');
    expect(codeOf(() => key.open(msg, { aad: aad.subarray(0, 8) }))).toBe('ERR_AUTH');
    expect(codeOf(() => key.open(msg, { aad: Buffer.concat([aad, Buffer.from([0])]) }))).toBe('ERR_AUTH');
    expect(codeOf(() => key.open(msg))).toBe('ERR_AUTH');
    expect(codeOf(() => key.open(msg, {}))).toBe('ERR_AUTH');
    expect(codeOf(() => key.open(msg, { aad: new Uint8Array(0) }))).toBe('ERR_AUTH');
    expect(await asyncCodeOf(() => key.openAsync(msg))).toBe('ERR_AUTH');
    const plain = key.seal(SECRET);
    expect(codeOf(() => key.open(plain, { aad }))).toBe('ERR_AUTH');
    // Absent and empty aad are the same associated data.
    expect(Buffer.from(key.open(plain, { aad: new Uint8Array(0) })).equals(SECRET)).toBe(true);
    // The header is part of the AAD: the caller's aad cannot stand in for it.
    const other = T.AeadKey.import(alg, key.exportKey());
    try {
      expect(Buffer.from(other.open(msg, { aad })).equals(SECRET)).toBe(true);
    } finally {
      other.dispose();
    }
  });

  test('AeadKey message under a non-zero key id: any key id change is ERR_KEY_MISMATCH', () => {
    const bytes = T.AeadKey.generate(alg).exportKey();
    using k7 = T.AeadKey.import(alg, bytes, { keyId: 0x01020304 });
    using k0 = T.AeadKey.import(alg, bytes);
    const msg = Buffer.from(k7.seal(SECRET));
    expect([...msg.subarray(0, 6)]).toEqual([1, msg[1], 1, 2, 3, 4]);
    expect(codeOf(() => k0.open(msg))).toBe('ERR_KEY_MISMATCH');
    const zeroed = Buffer.from(msg);
    zeroed.fill(0, 2, 6);
    expect(codeOf(() => k7.open(zeroed))).toBe('ERR_KEY_MISMATCH');
    // With the id matching the key again, the header is still authenticated.
    expect(codeOf(() => k0.open(zeroed))).toBe('ERR_AUTH');
  });

  test('raw aead.open / openInto: flipped ciphertext, tag, nonce and key bytes', () => {
    const key = Buffer.alloc(32, 7);
    const nonce = Buffer.alloc(NONCE[alg], 9);
    const aad = Buffer.from('raw-aad');
    const sealed = Buffer.from(T.aead.seal(alg, key, nonce, SECRET, aad));
    const n = SECRET.length;
    const problems: string[] = [];
    const targets: [string, number][] = [
      ['ct first', 0],
      ['ct middle', n >> 1],
      ['ct last', n - 1],
    ];
    for (let i = 0; i < 16; i++) targets.push([`tag ${i}`, n + i]);
    const check = (label: string, k: Buffer, nn: Buffer, s: Buffer, a: Buffer | undefined) => {
      const c = codeOf(() => T.aead.open(alg, k, nn, s, a));
      if (c !== 'ERR_AUTH') problems.push(`${label}: open gave ${c}`);
      const out = Buffer.alloc(s.length, 0xaa);
      const d = codeOf(() => T.aead.openInto(out, alg, k, nn, s, a));
      if (d !== 'ERR_AUTH') problems.push(`${label}: openInto gave ${d}`);
      if (out.subarray(0, s.length - 16).some((x) => x !== 0)) problems.push(`${label}: openInto out not zeroed`);
      if (out.subarray(s.length - 16).some((x) => x !== 0xaa)) problems.push(`${label}: openInto wrote past the plaintext`);
      // In place: the ciphertext buffer itself must end up zeroed, not plaintext.
      const inPlace = Buffer.from(s);
      const e = codeOf(() => T.aead.openInto(inPlace, alg, k, nn, inPlace, a));
      if (e !== 'ERR_AUTH') problems.push(`${label}: in-place openInto gave ${e}`);
      if (inPlace.subarray(0, s.length - 16).some((x) => x !== 0)) problems.push(`${label}: in-place openInto left bytes`);
    };
    for (const [what, pos] of targets) for (let bit = 0; bit < 8; bit++) check(`${what} bit ${bit}`, key, nonce, flipped(sealed, pos, bit), aad);
    for (let i = 0; i < nonce.length; i++) check(`nonce ${i}`, key, flipped(nonce, i, i % 8), sealed, aad);
    for (let i = 0; i < 32; i++) check(`key ${i}`, flipped(key, i, i % 8), nonce, sealed, aad);
    check('aad missing', key, nonce, sealed, undefined);
    check('aad changed', key, nonce, sealed, flipped(aad, 0, 0));
    for (let cut = 1; cut <= n; cut++) check(`truncated by ${cut}`, key, nonce, sealed.subarray(0, sealed.length - cut), aad);
    check('extended', key, nonce, Buffer.concat([sealed, Buffer.alloc(1)]), aad);
    expect(problems).toEqual([]);
    // Shorter than a tag: ERR_FORMAT.
    for (let len = 0; len < 16; len++) expect(codeOf(() => T.aead.open(alg, key, nonce, sealed.subarray(0, len), aad))).toBe('ERR_FORMAT');
    // And the untampered input still opens.
    expect(Buffer.from(T.aead.open(alg, key, nonce, sealed, aad)).equals(SECRET)).toBe(true);
  });

  test('openBatch with one tampered message throws ERR_AUTH naming its index', () => {
    using key = T.AeadKey.generate(alg);
    const msgs = key.sealBatch([0, 1, 2, 3, 4].map((i) => Buffer.from(`${SECRET.toString()}#${i}`))).map((m) => Buffer.from(m));
    expect(key.openBatch(msgs).map((p) => Buffer.from(p).toString())).toEqual([0, 1, 2, 3, 4].map((i) => `${SECRET.toString()}#${i}`));
    for (const idx of [0, 3, 4]) {
      const batch = msgs.map((m, i) => (i === idx ? flipped(m, m.length - 1, 3) : m));
      let err: unknown;
      try {
        key.openBatch(batch);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(T.TesseraError);
      expect((err as InstanceType<typeof T.TesseraError>).code).toBe('ERR_AUTH');
      expect((err as Error).message).toMatch(new RegExp(`\\b${idx}\\b`));
      expect((err as Error).message).not.toContain(SECRET.toString().slice(0, 12));
    }
    // A header error in one message also fails the whole batch.
    const batch = msgs.map((m, i) => (i === 2 ? flipped(m, 3, 0) : m));
    expect(codeOf(() => key.openBatch(batch))).toBe('ERR_KEY_MISMATCH');
  });
});
