/**
 * Key wrapping (lib/keys/keywrap.ts; contract `keywrap.wrap/unwrap/
 * wrapPad/unwrapPad`): every vector of vectors/wycheproof/aes_wrap_test.json
 * (AES-KW, RFC 3394) and aes_kwp_test.json (AES-KWP, RFC 5649), counts
 * checked against numberOfTests.
 *  - valid: wrap(key, msg) === ct and unwrap(key, ct) === msg;
 *  - invalid: unwrap(key, ct) throws ERR_AUTH (integrity / padding) or
 *    ERR_FORMAT (a length no wrapping produces), and wrapping msg (when it is
 *    a wrappable size) does not give ct;
 *  - acceptable (KW of an 8-byte key, RFC 3394 section 2 only): refused by
 *    policy (SP 800-38F): wrap is ERR_ARGUMENT, unwrap ERR_FORMAT.
 * Plus argument errors and a differential round trip over random sizes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';

import { codeOf, T, vectorsDir } from './tessera';

interface V {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  msg: string;
  ct: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
const load = (f: string) =>
  JSON.parse(fs.readFileSync(path.join(vectorsDir, 'wycheproof', f), 'utf8')) as { numberOfTests: number; testGroups: { keySize: number; tests: V[] }[] };
const hex = (s: string) => Buffer.from(s, 'hex');

for (const [file, pad] of [
  ['aes_wrap_test.json', false],
  ['aes_kwp_test.json', true],
] as const) {
  describe(file, () => {
    const data = load(file);
    const wrap = pad ? T.keywrap.wrapPad : T.keywrap.wrap;
    const unwrap = pad ? T.keywrap.unwrapPad : T.keywrap.unwrap;
    test(`every vector (${data.numberOfTests})`, () => {
      const count = { valid: 0, invalid: 0, acceptable: 0 };
      const failures: string[] = [];
      const codes = new Map<string, number>();
      for (const g of data.testGroups) {
        for (const t of g.tests) {
          count[t.result]++;
          const key = hex(t.key),
            msg = hex(t.msg),
            ct = hex(t.ct);
          const id = `tcId ${t.tcId} (${t.comment || t.flags.join(',')})`;
          if (t.result === 'valid') {
            const w = Buffer.from(wrap(key, msg));
            if (!w.equals(ct)) failures.push(`${id}: wrap differs`);
            const u = Buffer.from(unwrap(key, ct));
            if (!u.equals(msg)) failures.push(`${id}: unwrap differs`);
          } else if (t.result === 'invalid') {
            const code = codeOf(() => unwrap(key, ct));
            codes.set(code, (codes.get(code) ?? 0) + 1);
            if (code !== 'ERR_AUTH' && code !== 'ERR_FORMAT') failures.push(`${id}: unwrap gave ${code}`);
            let w: Uint8Array | undefined;
            try {
              w = wrap(key, msg);
            } catch (e) {
              if (!(e instanceof T.TesseraError)) failures.push(`${id}: wrap threw ${String(e)}`);
            }
            if (w && Buffer.from(w).equals(ct)) failures.push(`${id}: wrap produced the invalid ciphertext`);
          } else {
            if (codeOf(() => wrap(key, msg)) !== 'ERR_ARGUMENT') failures.push(`${id}: wrap of an 8-byte key not refused`);
            if (codeOf(() => unwrap(key, ct)) !== 'ERR_FORMAT') failures.push(`${id}: unwrap of a 16-byte KW value not refused`);
          }
        }
      }
      expect(failures).toEqual([]);
      expect(count.valid + count.invalid + count.acceptable).toBe(data.numberOfTests);
      // Both failure kinds occur: integrity failures are ERR_AUTH, impossible lengths ERR_FORMAT.
      expect(codes.get('ERR_AUTH')).toBeGreaterThan(0);
      if (!pad) expect(codes.get('ERR_FORMAT')).toBeGreaterThan(0);
      expect(count.acceptable).toBe(pad ? 0 : 3);
    });
  });
}

describe('keywrap arguments and round trips', () => {
  test('KEK sizes, input types and sizes are checked; messages carry no key bytes', () => {
    const key = randomBytes(32);
    expect(codeOf(() => T.keywrap.wrapPad(randomBytes(20), key))).toBe('ERR_KEY_LENGTH');
    expect(codeOf(() => T.keywrap.wrap('k' as unknown as Uint8Array, key))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.keywrap.wrapPad(randomBytes(32), new Uint8Array(0)))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.keywrap.wrap(randomBytes(32), randomBytes(20)))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.keywrap.unwrap(randomBytes(32), randomBytes(20)))).toBe('ERR_FORMAT');
    expect(codeOf(() => T.keywrap.unwrapPad(randomBytes(32), randomBytes(8)))).toBe('ERR_FORMAT');
    let err: any;
    try {
      T.keywrap.unwrapPad(randomBytes(32), T.keywrap.wrapPad(randomBytes(32), key));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(T.TesseraError);
    expect(err.code).toBe('ERR_AUTH');
    expect(err.message).not.toContain(key.toString('hex').slice(0, 8));
  });

  test('round trips for every KEK size and key sizes 1..80 (KWP) / 16..80 step 8 (KW); a flipped bit is ERR_AUTH', () => {
    for (const kl of [16, 24, 32]) {
      const kek = randomBytes(kl);
      for (let n = 1; n <= 80; n++) {
        const key = randomBytes(n);
        const w = T.keywrap.wrapPad(kek, key);
        expect(w.length).toBe(Math.ceil(n / 8) * 8 + 8);
        expect(Buffer.from(T.keywrap.unwrapPad(kek, w)).equals(key)).toBe(true);
        const bad = Buffer.from(w);
        bad[n % bad.length]! ^= 1;
        expect(codeOf(() => T.keywrap.unwrapPad(kek, bad))).toBe('ERR_AUTH');
        if (n >= 16 && n % 8 === 0) {
          const w2 = T.keywrap.wrap(kek, key);
          expect(w2.length).toBe(n + 8);
          expect(Buffer.from(T.keywrap.unwrap(kek, w2)).equals(key)).toBe(true);
          expect(codeOf(() => T.keywrap.unwrap(randomBytes(kl), w2))).toBe('ERR_AUTH');
        }
      }
    }
  });
});
