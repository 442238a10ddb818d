// Random and half-valid input to every opening entry point (unknown version
// or algorithm, short input, bad tag: a TesseraError with a stable code,
// never a partial plaintext). 20 000 inputs per algorithm:
// uniformly random bytes, and random bytes behind a valid header prefix, at
// every length up to 120 bytes. Each must throw a TesseraError with one of
// the expected codes; none may crash the process or return plaintext.
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { T } from './tessera';

const ALLOWED = new Set(['ERR_AUTH', 'ERR_FORMAT', 'ERR_ALGORITHM', 'ERR_KEY_MISMATCH']);

function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'returned';
  } catch (e) {
    return e instanceof T.TesseraError ? e.code : `foreign error: ${String(e)}`;
  }
}

describe.each(['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'] as const)('%s', (alg) => {
  test('garbage and half-valid messages are refused with a stable code', () => {
    using key = T.AeadKey.generate(alg);
    const id = T.ALGORITHMS.indexOf(alg) + 1;
    const seen = new Map<string, number>();
    const out = new Uint8Array(256);
    for (let i = 0; i < 20_000; i++) {
      const len = i % 121;
      const msg = randomBytes(len);
      if (i % 2 === 1 && len >= 2) {
        msg[0] = 1; // a valid version and algorithm, then noise
        msg[1] = id;
        if (len >= 6 && i % 4 === 1) msg.fill(0, 2, 6); // and this key's id
      }
      for (const code of [
        outcome(() => key.open(msg)),
        outcome(() => key.openInto(out, msg)),
        outcome(() => T.aead.open(alg, randomBytes(32), randomBytes(T.nonceLength(alg)), msg)),
      ]) {
        seen.set(code, (seen.get(code) ?? 0) + 1);
        if (!ALLOWED.has(code)) expect.fail(`len ${len}: ${code}`);
      }
    }
    // Both the parsing and the authentication paths were reached.
    expect(seen.get('ERR_FORMAT')).toBeGreaterThan(0);
    expect(seen.get('ERR_AUTH')).toBeGreaterThan(1000);
    expect(out.every((b) => b === 0)).toBe(true); // openInto never left plaintext behind
  });

  test('openBatch and openString on garbage', async () => {
    using key = T.AeadKey.generate(alg);
    const good = key.seal(Buffer.from('fine'));
    for (let i = 0; i < 500; i++) {
      const bad = randomBytes(i % 90);
      expect(ALLOWED.has(outcome(() => key.openBatch([good, bad])))).toBe(true);
      expect(ALLOWED.has(outcome(() => key.openString('tsr1.' + bad.toString('base64url'))))).toBe(true);
      await expect(key.openAsync(bad)).rejects.toBeInstanceOf(T.TesseraError);
    }
  });
});
