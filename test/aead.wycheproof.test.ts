/**
 * Wycheproof AEAD vectors through the raw API (lib/aead.ts
 * `aead.seal/open/sealInto/openInto` contract).
 *
 * Proves: every vector of vectors/wycheproof/aes_gcm_test.json,
 * chacha20_poly1305_test.json and xchacha20_poly1305_test.json (valid,
 * invalid and acceptable results; every flag) is handled as follows.
 *
 * Policy: tessera's raw API accepts only 32-byte keys, only the algorithm's
 * nonce length (12 bytes for AES-256-GCM and ChaCha20-Poly1305, 24 for
 * XChaCha20-Poly1305) and only 16-byte tags.
 *  - keySize 256, supported ivSize, tagSize 128:
 *      valid / acceptable -> seal(key, iv, msg, aad) === ct || tag, and
 *                            open(ct || tag) === msg;
 *      invalid            -> open throws TesseraError ERR_AUTH, and seal of
 *                            (key, iv, msg, aad) differs from the given ct || tag.
 *    Each supported vector runs a second time through sealInto/openInto in
 *    place (out starts at the same byte as the input).
 *  - keySize != 256: seal and open throw ERR_KEY_LENGTH (the key is checked
 *    before the nonce, so this holds whatever the ivSize).
 *  - keySize 256 with an unsupported ivSize: ERR_NONCE_LENGTH.
 *  - tagSize != 128 (none in the current files): open throws ERR_AUTH/ERR_FORMAT
 *    (tessera always reads the last 16 bytes as the tag) -- counted separately.
 * The counters are checked against each file's numberOfTests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { T, vectorsDir, codeOf } from './tessera';

type Alg = 'aes-256-gcm' | 'chacha20-poly1305' | 'xchacha20-poly1305';

interface Vector {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface Group {
  ivSize: number;
  keySize: number;
  tagSize: number;
  tests: Vector[];
}
interface VectorFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: Group[];
}

const FILES: { file: string; alg: Alg; nonceBits: number }[] = [
  { file: 'aes_gcm_test.json', alg: 'aes-256-gcm', nonceBits: 96 },
  { file: 'chacha20_poly1305_test.json', alg: 'chacha20-poly1305', nonceBits: 96 },
  { file: 'xchacha20_poly1305_test.json', alg: 'xchacha20-poly1305', nonceBits: 192 },
];

const hex = (s: string) => Buffer.from(s, 'hex');

interface Counts {
  total: number;
  valid: number;
  acceptable: number;
  invalid: number;
  keyLength: number;
  nonceLength: number;
  tagLength: number;
  inPlace: number;
}

function runFile(file: string, alg: Alg, nonceBits: number): { counts: Counts; expected: number; failures: string[] } {
  const j = JSON.parse(fs.readFileSync(path.join(vectorsDir, 'wycheproof', file), 'utf8')) as VectorFile;
  const counts: Counts = { total: 0, valid: 0, acceptable: 0, invalid: 0, keyLength: 0, nonceLength: 0, tagLength: 0, inPlace: 0 };
  const failures: string[] = [];
  const fail = (t: Vector, what: string) => failures.push(`${file} tcId ${t.tcId} (${t.comment}; flags ${t.flags.join(',')}): ${what}`);

  for (const g of j.testGroups) {
    for (const t of g.tests) {
      counts.total++;
      const key = hex(t.key);
      const iv = hex(t.iv);
      const aad = hex(t.aad);
      const msg = hex(t.msg);
      const sealed = Buffer.concat([hex(t.ct), hex(t.tag)]);
      expect(key.length * 8).toBe(g.keySize);
      expect(iv.length * 8).toBe(g.ivSize);

      if (g.keySize !== 256) {
        counts.keyLength++;
        const c1 = codeOf(() => T.aead.seal(alg, key, iv, msg, aad));
        const c2 = codeOf(() => T.aead.open(alg, key, iv, sealed, aad));
        if (c1 !== 'ERR_KEY_LENGTH') fail(t, `seal: expected ERR_KEY_LENGTH, got ${c1}`);
        if (c2 !== 'ERR_KEY_LENGTH') fail(t, `open: expected ERR_KEY_LENGTH, got ${c2}`);
        continue;
      }
      if (g.ivSize !== nonceBits) {
        counts.nonceLength++;
        const c1 = codeOf(() => T.aead.seal(alg, key, iv, msg, aad));
        const c2 = codeOf(() => T.aead.open(alg, key, iv, sealed, aad));
        if (c1 !== 'ERR_NONCE_LENGTH') fail(t, `seal: expected ERR_NONCE_LENGTH, got ${c1}`);
        if (c2 !== 'ERR_NONCE_LENGTH') fail(t, `open: expected ERR_NONCE_LENGTH, got ${c2}`);
        continue;
      }
      if (g.tagSize !== 128) {
        counts.tagLength++;
        const c = codeOf(() => T.aead.open(alg, key, iv, sealed, aad));
        if (c !== 'ERR_AUTH' && c !== 'ERR_FORMAT') fail(t, `open with ${g.tagSize}-bit tag: expected ERR_AUTH/ERR_FORMAT, got ${c}`);
        continue;
      }

      counts[t.result]++;
      const out = Buffer.from(T.aead.seal(alg, key, iv, msg, aad));
      if (t.result === 'invalid') {
        if (out.equals(sealed)) fail(t, 'seal reproduced the invalid ct||tag');
        const c = codeOf(() => T.aead.open(alg, key, iv, sealed, aad));
        if (c !== 'ERR_AUTH') fail(t, `open: expected ERR_AUTH, got ${c}`);
      } else {
        if (!out.equals(sealed)) fail(t, `seal: expected ${sealed.toString('hex')}, got ${out.toString('hex')}`);
        try {
          const pt = Buffer.from(T.aead.open(alg, key, iv, sealed, aad));
          if (!pt.equals(msg)) fail(t, `open: expected ${t.msg}, got ${pt.toString('hex')}`);
        } catch (e) {
          fail(t, `open threw ${(e as Error).message}`);
        }
      }

      // Second pass: in place through sealInto/openInto.
      counts.inPlace++;
      const buf = Buffer.alloc(msg.length + 16);
      msg.copy(buf);
      const n = T.aead.sealInto(buf, alg, key, iv, buf.subarray(0, msg.length), aad);
      if (n !== msg.length + 16) fail(t, `sealInto returned ${n}`);
      if (t.result === 'invalid') {
        if (buf.equals(sealed)) fail(t, 'sealInto reproduced the invalid ct||tag');
        // Open the given (invalid) ct||tag in place: must fail and leave zeros.
        const bad = Buffer.from(sealed);
        const c = codeOf(() => T.aead.openInto(bad, alg, key, iv, bad, aad));
        if (c !== 'ERR_AUTH') fail(t, `openInto: expected ERR_AUTH, got ${c}`);
        if (bad.subarray(0, bad.length - 16).some((b) => b !== 0)) fail(t, 'openInto left non-zero bytes after ERR_AUTH');
      } else {
        if (!buf.equals(sealed)) fail(t, `sealInto in place: expected ${sealed.toString('hex')}, got ${buf.toString('hex')}`);
        const m = T.aead.openInto(buf, alg, key, iv, buf, aad);
        if (m !== msg.length) fail(t, `openInto returned ${m}`);
        if (!buf.subarray(0, msg.length).equals(msg)) fail(t, `openInto in place: expected ${t.msg}, got ${buf.subarray(0, msg.length).toString('hex')}`);
      }
    }
  }
  return { counts, expected: j.numberOfTests, failures };
}

describe('wycheproof AEAD vectors (raw API)', () => {
  for (const { file, alg, nonceBits } of FILES) {
    test(`${file} via ${alg}: every vector accounted for`, () => {
      const { counts, expected, failures } = runFile(file, alg, nonceBits);
      // Report the categories (visible on failure and in the expect diff).
      console.log(`${file}: ${JSON.stringify(counts)}`);
      expect(failures).toEqual([]);
      expect(counts.total).toBe(expected);
      expect(counts.valid + counts.acceptable + counts.invalid + counts.keyLength + counts.nonceLength + counts.tagLength).toBe(expected);
      expect(counts.inPlace).toBe(counts.valid + counts.acceptable + counts.invalid);
      // Each file must exercise the supported path substantially.
      expect(counts.valid).toBeGreaterThan(30);
      expect(counts.invalid).toBeGreaterThan(20);
    });
  }

  test('category counts match the published files', () => {
    // Pinned so that a silently shrunk or swapped vector file is noticed.
    const got = Object.fromEntries(FILES.map(({ file, alg, nonceBits }) => [file, runFile(file, alg, nonceBits).counts]));
    expect(got['aes_gcm_test.json']).toMatchObject({ total: 316, valid: 39, invalid: 27, nonceLength: 39, keyLength: 211 });
    expect(got['chacha20_poly1305_test.json']).toMatchObject({ total: 325, valid: 256, invalid: 60, nonceLength: 9, keyLength: 0 });
    expect(got['xchacha20_poly1305_test.json']).toMatchObject({ total: 315, valid: 246, invalid: 60, nonceLength: 9, keyLength: 0 });
  });

  test('key length is checked before nonce length', () => {
    const c = codeOf(() => T.aead.seal('aes-256-gcm', Buffer.alloc(16), Buffer.alloc(8), Buffer.alloc(0)));
    expect(c).toBe('ERR_KEY_LENGTH');
    const d = codeOf(() => T.aead.open('chacha20-poly1305', Buffer.alloc(24), Buffer.alloc(0), Buffer.alloc(16)));
    expect(d).toBe('ERR_KEY_LENGTH');
  });
});
