/**
 * No key byte outside non-dumpable memory (docs/SECURITY.md: key
 * pages are MADV_DONTDUMP, and on tessera's own kernels every
 * key-derived state lives there too, native/aead/tsr_aead.c).
 *
 * A fresh child (test/secure.scan.child.cjs) makes keys of every algorithm
 * on one kernel tier (AeadKey.import, the raw aead.seal/open, Cobblestone
 * encryptChunked over > 1 MiB with the input key as bytes and as an
 * AeadKey), uses each, wipes its own copies of the key bytes, runs gc, and
 * then reads its memory as a core dump would: every mapping of
 * /proc/self/smaps whose VmFlags lack `dd`, bytes from /proc/self/mem
 * (proc(5)). It looks for each 32-byte key and each of its 16-byte halves
 * (a freed, unwiped buffer keeps part of a key), for AES keys also the
 * AES-256 round keys 2..14 (FIPS 197 section 5.2; 0 and 1 are the halves) and
 * H = AES_K(0^128) plain, byte-reversed and in the kernels' twisted form,
 * for XAES-256-GCM also K1 and the last message's Kx with its schedule
 * (c2sp.org/XAES-256-GCM), each also byte-reversed. Mappings with `dd`
 * (secure memory) are read too and counted apart.
 *
 * What it proves, per tier:
 *   - own kernels (auto = the best this CPU runs, vaes256, aesni): none of
 *     those needles occurs in dumpable memory while the keys are alive;
 *   - the needles are right: on the own kernels each key, round key, twisted
 *     H, K1 and Kx is found in the `dd` memory (where the kernels keep it);
 *   - the scan sees what it looks for: key bytes a caller forgot to wipe (in
 *     a Buffer-pool slab on [heap] and in a typed array on the V8 heap) are
 *     found, and on the `openssl` tier the round keys in OpenSSL's
 *     EVP_CIPHER_CTX (ordinary heap, as docs/SECURITY.md says) are found.
 * Not covered: memory a core dump leaves out for other reasons than `dd`
 * (coredump_filter), registers, and stale pages already freed to the kernel.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';

import { BACKEND, root } from './tessera';

const require = createRequire(import.meta.url);
const CHILD = path.join(root, 'test', 'secure.scan.child.cjs');
type Bytes = number[];
const aes = require(CHILD) as {
  SBOX: number[];
  expandKey256(key: Bytes): number[];
  roundKey(w: number[], r: number): Bytes;
  encryptBlock(w: number[], block: Bytes): Bytes;
  dbl(l: Bytes): Bytes;
};

interface Group {
  dump: Record<string, number>; // hits in dumpable memory, per needle kind
  where: Record<string, Record<string, number>>; // ... and the mappings that held them
  dd: Record<string, number>; // hits in MADV_DONTDUMP memory
}
interface Scan {
  tier: string;
  unsupported?: string;
  kernels: Record<string, string>;
  stats: { dontDump: boolean; arenas: number };
  scan: { mappings: number; bytes: number; ddMappings: number; ddBytes: number; unreadable: string[]; noRead: { count: number; resident: number }; ms: number };
  groups: Record<string, Group>;
}

function runChild(tier: string): { out: Scan; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', CHILD, tier], {
    cwd: root,
    env: { ...process.env, TESSERA_BACKEND: 'native' },
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 << 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`child (${tier}) exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return { out: JSON.parse(lines[lines.length - 1]!) as Scan, ms: Date.now() - t0 };
}

const RK = Array.from({ length: 13 }, (_, i) => `rk${i + 2}`);
const KEY = ['key', 'key[0:16]', 'key[16:32]'];
const AES_STATE = [...KEY, ...RK, 'H~twisted'];
const AES_GROUPS = [
  'AeadKey aes-256-gcm',
  'aead.seal aes-256-gcm',
  'AeadKey xaes-256-gcm',
  'aead.seal xaes-256-gcm',
  'AeadKey xaes-256-gcm Kx',
  'aead.seal xaes-256-gcm Kx',
  'encryptChunked (AeadKey)',
];
const CHACHA_GROUPS = ['AeadKey chacha20-poly1305', 'aead.seal chacha20-poly1305', 'AeadKey xchacha20-poly1305', 'aead.seal xchacha20-poly1305'];
const CONTROLS = ['control (Buffer pool)', 'control (V8 heap)'];

/** "group: kind=n@mapping ..." for every needle found in dumpable memory. */
function found(out: Scan, skip: string[] = CONTROLS): string[] {
  const hits: string[] = [];
  for (const [g, v] of Object.entries(out.groups)) {
    if (skip.includes(g)) continue;
    for (const [kind, n] of Object.entries(v.dump)) if (n > 0) hits.push(`${g}: ${kind}=${n} in ${JSON.stringify(v.where[kind])}`);
  }
  return hits;
}

function summary(out: Scan, ms: number): string {
  const per = Object.entries(out.groups)
    .map(([g, v]) => `${g} ${Object.values(v.dump).reduce((a, b) => a + b, 0)}`)
    .join(', ');
  return (
    `secure.scan ${out.tier} (${out.kernels['aes-256-gcm']}/${out.kernels['chacha20-poly1305']}): ` +
    `${out.scan.mappings} mappings, ${(out.scan.bytes / 2 ** 20).toFixed(0)} MiB scanned in ${out.scan.ms} ms (child ${ms} ms), ` +
    `${out.scan.ddMappings} dd mapping(s), ${out.scan.noRead.count} unreadable (PROT_NONE) mapping(s) with ${out.scan.noRead.resident} resident bytes; ` +
    `dumpable hits per group: ${per}`
  );
}

/** Checks every tier shares: the scan ran over real memory, secure memory is `dd`, the controls are found. */
function checkScan(out: Scan) {
  expect(out.stats.dontDump).toBe(true);
  expect(out.scan.ddMappings).toBeGreaterThanOrEqual(1);
  expect(out.scan.bytes).toBeGreaterThan(32 << 20);
  expect(out.scan.mappings).toBeGreaterThan(10);
  // A mapping that could not be read would be memory the scan vouches for unseen.
  expect(out.scan.unreadable).toEqual([]);
  for (const c of CONTROLS) expect(out.groups[c]!.dump.key, `${c} not found: the scan misses memory`).toBeGreaterThanOrEqual(1);
}

describe('the JS AES that builds the needles', () => {
  test('matches FIPS 197 (S-box, appendix A.3 key expansion, appendix C.3 cipher) and node:crypto', () => {
    expect([aes.SBOX[0x00], aes.SBOX[0x01], aes.SBOX[0x53], aes.SBOX[0xff]]).toEqual([0x63, 0x7c, 0xed, 0x16]);
    const w = aes.expandKey256([...Buffer.from('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4', 'hex')]);
    expect([w[8], w[9], w[59]]).toEqual([0x9ba35411, 0x8e6925af, 0x706c631e]);
    expect(Buffer.from(aes.roundKey(w, 1)).toString('hex')).toBe('1f352c073b6108d72d9810a30914dff4');
    const c3 = aes.encryptBlock(aes.expandKey256([...Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex')]), [
      ...Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
    ]);
    expect(Buffer.from(c3).toString('hex')).toBe('8ea2b7ca516745bfeafc49904b496089');
    for (let i = 0; i < 20; i++) {
      const key = randomBytes(32);
      const block = randomBytes(16);
      const ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
      expect(Buffer.from(aes.encryptBlock(aes.expandKey256([...key]), [...block]))).toEqual(Buffer.concat([ecb.update(block), ecb.final()]));
    }
    // dbl (XAES K1): a carry folds 0x87 into the last byte.
    expect(aes.dbl([0x80, ...new Array(15).fill(0)])).toEqual([...new Array(15).fill(0), 0x87]);
  });
});

describe.runIf(BACKEND === 'native')('no key byte outside non-dumpable memory (core-dump scan of a child)', () => {
  test.for(['auto', 'vaes256', 'aesni'])('%s tier: no key, round key, H, K1 or Kx in dumpable memory; all of them in `dd` memory', (tier, ctx) => {
    const { out, ms } = runChild(tier);
    if (out.unsupported) ctx.skip(`this CPU does not run ${tier}: ${out.unsupported}`);
    console.log(summary(out, ms));
    if (tier !== 'auto') expect(out.kernels['aes-256-gcm']).toBe(tier);
    expect(out.kernels['aes-256-gcm']).not.toBe('openssl');
    checkScan(out);

    // The assertion of this suite.
    expect(found(out)).toEqual([]);

    // The needles are the bytes the kernels keep: each is in secure memory.
    const missing: string[] = [];
    for (const g of AES_GROUPS)
      for (const kind of [...AES_STATE, ...(/xaes-256-gcm$/.test(g) ? ['K1'] : [])]) if (!(out.groups[g]!.dd[kind]! >= 1)) missing.push(`${g}: ${kind}`);
    for (const g of CHACHA_GROUPS) for (const kind of KEY) if (!(out.groups[g]!.dd[kind]! >= 1)) missing.push(`${g}: ${kind}`);
    expect(missing, 'needles not found in secure memory: the needles are wrong').toEqual([]);
  });

  test('openssl tier: the scan finds the round keys in OpenSSL EVP contexts on the ordinary heap', () => {
    const { out, ms } = runChild('openssl');
    console.log(summary(out, ms));
    expect(out.kernels['aes-256-gcm']).toBe('openssl');
    checkScan(out);
    // docs/SECURITY.md: OpenSSL's expanded key
    // schedules live in its own context objects on the ordinary heap. If
    // these are not found, the scanner is broken, not the library.
    for (const g of ['AeadKey aes-256-gcm', 'aead.seal aes-256-gcm'])
      for (const kind of RK) expect(out.groups[g]!.dump[kind], `${g} ${kind}`).toBeGreaterThanOrEqual(1);
    // The key itself is in secure memory on this tier too.
    for (const g of ['AeadKey aes-256-gcm', 'AeadKey chacha20-poly1305']) expect(out.groups[g]!.dd.key).toBeGreaterThanOrEqual(1);
    expect(found(out).length).toBeGreaterThan(0);
  });
});
