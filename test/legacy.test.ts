/**
 * Legacy interop for migration (lib/keys/legacy.ts): legacy.decryptAesCbc
 * (AES-256-CBC / PKCS#7) and migrateLegacy (CBC or Fernet into a keyring).
 *
 * - NIST SP 800-38A F.2.5 / F.2.6 CBC-AES256 known answers, typed in: the
 *   reference (node:crypto, no padding) reproduces them, and the same four
 *   blocks followed by a full PKCS#7 padding block decrypt to the NIST
 *   plaintext (IV || ciphertext, and the IV given separately);
 * - PKCS#7 round trips against node:crypto createCipheriv for every length
 *   0..64 and a few larger ones;
 * - bad padding (every corrupted pad byte, pad 0, pad > 16) is ERR_AUTH with
 *   one generic message; a wrong key is ERR_AUTH or garbage, never the
 *   plaintext; bad lengths are ERR_FORMAT / ERR_KEY_LENGTH / ERR_ARGUMENT;
 * - migrateLegacy moves CBC data and Fernet tokens into a keyring (bytes and
 *   tsr1. string output, with aad), the keyring opens them, and a failed
 *   legacy decryption seals nothing.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { codeOf, T } from './tessera';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// NIST SP 800-38A, F.2.5 CBC-AES256.Encrypt (F.2.6 Decrypt is the same data read backwards).
const NIST = {
  key: hex('603deb1015ca71be2b73aef0857d7781 1f352c073b6108d72d9810a30914dff4'),
  iv: hex('000102030405060708090a0b0c0d0e0f'),
  pt: hex(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
           30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`),
  ct: hex(`f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
           39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b`),
};

function cbcEncrypt(key: Buffer, iv: Buffer, pt: Buffer, pad = true): Buffer {
  const c = createCipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(pad);
  return Buffer.concat([c.update(pt), c.final()]);
}

describe('legacy.decryptAesCbc', () => {
  test('NIST SP 800-38A F.2.5 / F.2.6 CBC-AES256', () => {
    // The reference reproduces the typed known answers (F.2.5).
    expect(cbcEncrypt(NIST.key, NIST.iv, NIST.pt, false).equals(NIST.ct)).toBe(true);
    // F.2.6 as PKCS#7 data: the NIST blocks, then a full padding block (CBC is prefix-preserving).
    const padded = cbcEncrypt(NIST.key, NIST.iv, NIST.pt);
    expect(padded.length).toBe(80);
    expect(padded.subarray(0, 64).equals(NIST.ct)).toBe(true);
    const a = T.legacy.decryptAesCbc(NIST.key, Buffer.concat([NIST.iv, padded]));
    expect(Buffer.from(a).equals(NIST.pt)).toBe(true);
    const b = T.legacy.decryptAesCbc(NIST.key, padded, { iv: NIST.iv });
    expect(Buffer.from(b).equals(NIST.pt)).toBe(true);
    const c = T.legacy.decryptAesCbc(NIST.key, padded, { iv: NIST.iv, format: 'ciphertext' });
    expect(Buffer.from(c).equals(NIST.pt)).toBe(true);
    // The raw NIST ciphertext is not PKCS#7 padded (last byte 0x1b): ERR_AUTH.
    expect(codeOf(() => T.legacy.decryptAesCbc(NIST.key, NIST.ct, { iv: NIST.iv }))).toBe('ERR_AUTH');
  });

  test('PKCS#7 round trips against node:crypto', () => {
    const key = randomBytes(32);
    for (const n of [...Array.from({ length: 65 }, (_, i) => i), 255, 256, 1000, 65_537]) {
      const pt = randomBytes(n);
      const iv = randomBytes(16);
      const ct = cbcEncrypt(key, iv, pt);
      expect(Buffer.from(T.legacy.decryptAesCbc(key, Buffer.concat([iv, ct]))).equals(pt), `length ${n}`).toBe(true);
      expect(Buffer.from(T.legacy.decryptAesCbc(key, ct, { iv })).equals(pt), `length ${n}, separate iv`).toBe(true);
    }
  });

  test('bad padding is ERR_AUTH with one generic message', () => {
    const key = randomBytes(32);
    const iv = randomBytes(16);
    const messages = new Set<string>();
    const check = (block: Buffer) => {
      // Encrypt a crafted last block without padding so that it decrypts to exactly `block`.
      const ct = cbcEncrypt(key, iv, Buffer.concat([randomBytes(16), block]), false);
      let err: unknown;
      try {
        T.legacy.decryptAesCbc(key, ct, { iv });
      } catch (e) {
        err = e;
      }
      expect(
        codeOf(() => {
          throw err;
        }),
        block.toString('hex'),
      ).toBe('ERR_AUTH');
      messages.add((err as Error).message);
    };
    check(Buffer.alloc(16, 0)); // pad byte 0
    for (const v of [17, 32, 0x80, 0xff]) check(Buffer.concat([randomBytes(15), Buffer.from([v])])); // > 16
    for (let n = 2; n <= 16; n++) {
      for (let i = 1; i < n; i++) {
        const b = Buffer.concat([randomBytes(16 - n), Buffer.alloc(n, n)]);
        b[16 - 1 - i]! ^= 0x01; // one wrong byte inside the padding
        check(b);
      }
    }
    expect(messages.size).toBe(1);
    // Valid edge paddings decrypt.
    const ok16 = cbcEncrypt(key, iv, Buffer.concat([randomBytes(16), Buffer.alloc(16, 16)]), false);
    expect(T.legacy.decryptAesCbc(key, ok16, { iv }).length).toBe(16);
  });

  test('wrong key: ERR_AUTH or garbage, never the plaintext', () => {
    const key = randomBytes(32);
    const pt = Buffer.from('legacy record 0001: card ending 4242');
    let auth = 0;
    for (let i = 0; i < 50; i++) {
      const iv = randomBytes(16);
      const data = Buffer.concat([iv, cbcEncrypt(key, iv, pt)]);
      try {
        const out = Buffer.from(T.legacy.decryptAesCbc(randomBytes(32), data));
        expect(out.equals(pt)).toBe(false);
      } catch (e) {
        expect(
          codeOf(() => {
            throw e;
          }),
        ).toBe('ERR_AUTH');
        auth++;
      }
    }
    expect(auth).toBeGreaterThan(40); // about 255/256 of wrong keys fail the padding check
  });

  test('argument and length errors', () => {
    const key = randomBytes(32);
    expect(codeOf(() => T.legacy.decryptAesCbc(randomBytes(16), randomBytes(32)))).toBe('ERR_KEY_LENGTH');
    expect(codeOf(() => T.legacy.decryptAesCbc(key, randomBytes(31)))).toBe('ERR_FORMAT');
    expect(codeOf(() => T.legacy.decryptAesCbc(key, randomBytes(16)))).toBe('ERR_FORMAT'); // IV only
    expect(codeOf(() => T.legacy.decryptAesCbc(key, randomBytes(40)))).toBe('ERR_FORMAT');
    expect(codeOf(() => T.legacy.decryptAesCbc(key, randomBytes(32), { iv: randomBytes(12) }))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.legacy.decryptAesCbc(key, randomBytes(32), { format: 'ciphertext' }))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.legacy.decryptAesCbc(key, randomBytes(32), { format: 'iv-ciphertext', iv: randomBytes(16) }))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.legacy.decryptAesCbc(key, 'abc' as never))).toBe('ERR_ARGUMENT');
  });
});

describe('migrateLegacy', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-legacy-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('CBC and Fernet into a keyring and back out', async () => {
    const ring = await T.Keyring.open(new T.FileKeyStore(path.join(dir, 'k.json')), { kek: T.kek.fromKey(randomBytes(32)) });
    const cbcKey = randomBytes(32);
    const pt = Buffer.from('migrate me: 123-45-6789');
    const iv = randomBytes(16);
    const data = Buffer.concat([iv, cbcEncrypt(cbcKey, iv, pt)]);

    const msg = await T.migrateLegacy(ring, 'legacy', data, { key: cbcKey });
    expect(msg).toBeInstanceOf(Uint8Array);
    const primary = ring.status().find((k) => k.purpose === 'legacy' && k.primary)!.id;
    expect(T.parseHeader(msg).keyId).toBe(primary);
    expect(Buffer.from(await ring.decrypt(msg)).equals(pt)).toBe(true);

    // Separate IV, tsr1. output, aad.
    const aad = Buffer.from('row 17');
    const s = await T.legacy.migrate(ring, 'legacy', data.subarray(16), { key: cbcKey, iv, output: 'string', aad });
    expect(typeof s).toBe('string');
    expect(s.startsWith('tsr1.')).toBe(true);
    expect(Buffer.from(await ring.decryptString(s, { aad })).equals(pt)).toBe(true);
    await expect(ring.decryptString(s)).rejects.toMatchObject({ code: 'ERR_AUTH' });

    // Fernet token (string key) into the keyring.
    const fkey = randomBytes(32).toString('base64url') + '=';
    const token = T.fernet.encrypt(fkey, pt);
    const f = await T.migrateLegacy(ring, 'legacy', token, { key: fkey, ttlSeconds: 60 });
    expect(Buffer.from(await ring.decrypt(f)).equals(pt)).toBe(true);

    // After rotation, migrated messages move like any other.
    await ring.rotate('legacy');
    const moved = await ring.reencrypt(msg);
    expect(T.parseHeader(moved).keyId).not.toBe(primary);
    expect(Buffer.from(await ring.decrypt(moved)).equals(pt)).toBe(true);

    // Failures seal nothing.
    const sealedBefore = ring.status().reduce((a, k) => a + k.encrypted, 0);
    const bad = Buffer.from(data);
    bad[bad.length - 1]! ^= 0x55;
    let code = '';
    try {
      await T.migrateLegacy(ring, 'legacy', bad, { key: cbcKey });
    } catch (e) {
      code = (e as { code: string }).code;
    }
    // A flipped last byte changes the final block entirely: almost always bad padding.
    if (code) expect(code).toBe('ERR_AUTH');
    const forged = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    await expect(T.migrateLegacy(ring, 'legacy', forged, { key: fkey })).rejects.toMatchObject({ code: expect.stringMatching(/ERR_AUTH|ERR_FORMAT/) });
    await expect(T.migrateLegacy(ring, 'legacy', data, { key: fkey } as never)).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    await expect(T.migrateLegacy(ring, 'legacy', token, { key: cbcKey } as never)).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    expect(ring.status().reduce((a, k) => a + k.encrypted, 0)).toBe(sealedBefore + (code ? 0 : 1));
    await ring.close();
  });
});
