'use strict';
/*
 * The child process of test/secure.scan.test.ts: it makes keys on one native
 * kernel tier, uses them, then reads its own memory the way a core dump
 * would (proc(5): /proc/self/smaps for the mappings and their VmFlags,
 * /proc/self/mem for their bytes) and counts where each key, each AES round
 * key and each GHASH key occurs. It prints one JSON line.
 *
 *   node --expose-gc test/secure.scan.child.cjs <tier>
 *
 * Required as a module (by the test), it only exports the JS AES below.
 *
 * No needle ever exists whole in this process's memory outside the memory
 * under test: a needle is kept as two byte arrays, `masked` (needle XOR
 * mask) and `mask` (random), is computed as JS arrays of small integers
 * (one byte per 4- or 8-byte element), is looked up by 32-bit JS numbers,
 * and is compared byte by byte as masked[i] ^ mask[i].
 * The caller's key buffers are off the V8 heap (an ArrayBuffer's backing
 * store stays where it is; a typed array of <= 64 bytes made with
 * `new Uint8Array(n)` lives on the V8 heap, whose scavenger copies it and
 * leaves the old copy behind) and are wiped with fill(0) after import.
 */
const nodeCrypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

// ------------------------------------------------------------------------
// AES-256 in plain JS numbers (FIPS 197). Only for building needles in a
// test: the S-box is a table indexed by key bytes, which is not constant
// time. Bytes travel as JS arrays of numbers, never as a contiguous buffer.

/** The S-box (FIPS 197 section 5.1.1): the inverse in GF(2^8) followed by the affine map. */
const SBOX = (() => {
  const s = new Array(256).fill(0);
  const rotl8 = (x, n) => ((x << n) | (x >>> (8 - n))) & 0xff;
  // p runs over the powers of the generator 3, q over the powers of 3^-1, so q = p^-1.
  let p = 1;
  let q = 1;
  do {
    p = (p ^ (p << 1) ^ (p & 0x80 ? 0x1b : 0)) & 0xff;
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    s[p] = q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63;
  } while (p !== 1);
  s[0] = 0x63;
  return s;
})();

const subWord = (w) => ((SBOX[w >>> 24] << 24) | (SBOX[(w >>> 16) & 0xff] << 16) | (SBOX[(w >>> 8) & 0xff] << 8) | SBOX[w & 0xff]) >>> 0;
const rotWord = (w) => ((w << 8) | (w >>> 24)) >>> 0;

/** KeyExpansion (FIPS 197 section 5.2) for Nk = 8, Nr = 14: the 60 words w[0..59] of a 32-byte key. */
function expandKey256(key) {
  if (key.length !== 32) throw new Error('AES-256 takes a 32-byte key');
  const w = new Array(60);
  for (let i = 0; i < 8; i++) w[i] = ((key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3]) >>> 0;
  let rcon = 1;
  for (let i = 8; i < 60; i++) {
    let t = w[i - 1];
    if (i % 8 === 0) {
      t = (subWord(rotWord(t)) ^ (rcon << 24)) >>> 0;
      rcon = (rcon << 1) ^ (rcon & 0x80 ? 0x11b : 0);
    } else if (i % 8 === 4) {
      t = subWord(t);
    }
    w[i] = (w[i - 8] ^ t) >>> 0;
  }
  return w;
}

/** Round key r (0..14) as 16 bytes: words w[4r..4r+3], each big-endian (FIPS 197 section 5.1.4). */
function roundKey(w, r) {
  const out = [];
  for (let j = 0; j < 4; j++) {
    const x = w[4 * r + j];
    out.push(x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
  }
  return out;
}

const xtime = (b) => ((b << 1) ^ (b & 0x80 ? 0x11b : 0)) & 0xff;

/** Cipher (FIPS 197 section 5.1) of one 16-byte block under the schedule w. */
function encryptBlock(w, input) {
  let s = input.slice();
  const addRoundKey = (r) => {
    const k = roundKey(w, r);
    for (let i = 0; i < 16; i++) s[i] ^= k[i];
  };
  addRoundKey(0);
  for (let r = 1; r <= 14; r++) {
    s = s.map((b) => SBOX[b]);
    // ShiftRows: byte (row c % 4, column c / 4); row i rotates left by i.
    s = s.map((_, i) => s[(i + 4 * (i % 4)) % 16]);
    if (r !== 14) {
      const t = s.slice();
      for (let c = 0; c < 4; c++) {
        const [a0, a1, a2, a3] = [t[4 * c], t[4 * c + 1], t[4 * c + 2], t[4 * c + 3]];
        s[4 * c] = xtime(a0) ^ xtime(a1) ^ a1 ^ a2 ^ a3;
        s[4 * c + 1] = a0 ^ xtime(a1) ^ xtime(a2) ^ a2 ^ a3;
        s[4 * c + 2] = a0 ^ a1 ^ xtime(a2) ^ xtime(a3) ^ a3;
        s[4 * c + 3] = xtime(a0) ^ a0 ^ a1 ^ a2 ^ xtime(a3);
      }
    }
    addRoundKey(r);
  }
  return s;
}

/** dbl in GF(2^128) as XAES-256-GCM uses it (c2sp.org/XAES-256-GCM): shift left one bit, 0x87 into the last byte on carry. */
function dbl(l) {
  const out = l.map((b, i) => ((b << 1) | (i < 15 ? l[i + 1] >>> 7 : 0)) & 0xff);
  if (l[0] & 0x80) out[15] ^= 0x87;
  return out;
}

/**
 * H as the tessera AES-GCM kernels store it (native/aead/aesgcm/aesni.c,
 * init, shared by vaes256 and vaes512; Gueron-Kounavis "twisted" H): the
 * block byte-reversed into a little-endian 128-bit integer, shifted left
 * one bit, and on carry XORed with 0xc2000000000000000000000000000001.
 */
function twistedH(h) {
  const rev = h.slice().reverse(); // little-endian bytes of the integer
  const carry = rev[15] >>> 7;
  const out = rev.map((b, i) => ((b << 1) | (i > 0 ? rev[i - 1] >>> 7 : 0)) & 0xff);
  if (carry) {
    out[15] ^= 0xc2;
    out[0] ^= 0x01;
  }
  return out;
}

module.exports = { SBOX, expandKey256, roundKey, encryptBlock, dbl, twistedH };

// ------------------------------------------------------------------------
// Needles and the scan.

class Needles {
  constructor() {
    this.list = [];
    // Every occurrence at address o contains exactly one 8-byte-aligned
    // 8-byte window, at offset k = (-o) mod 8 of the needle (needles are 16
    // or 32 bytes): the scan reads aligned words and looks up
    // (low 32 bits, high 32 bits) of each window, k = 0..7.
    this.table = new Map(); // low 32 bits -> [{ n, k, hi }]
    this.filter = new Uint8Array(1 << 24); // 1 where some window's low 24 bits are this
  }

  /** bytes: a JS array of numbers (16 or 32 of them). */
  add(group, kind, bytes) {
    const L = bytes.length;
    const mask = new Uint8Array(L);
    nodeCrypto.randomFillSync(mask);
    const masked = new Uint8Array(L);
    for (let i = 0; i < L; i++) masked[i] = bytes[i] ^ mask[i];
    const n = { group, kind, L, masked, mask, dump: 0, dd: 0, where: {} };
    this.list.push(n);
    const b = (i) => masked[i] ^ mask[i];
    for (let k = 0; k < 8; k++) {
      const lo = (b(k) | (b(k + 1) << 8) | (b(k + 2) << 16) | (b(k + 3) << 24)) >>> 0;
      const hi = (b(k + 4) | (b(k + 5) << 8) | (b(k + 6) << 16) | (b(k + 7) << 24)) >>> 0;
      this.filter[lo & 0xffffff] = 1;
      let arr = this.table.get(lo);
      if (!arr) this.table.set(lo, (arr = []));
      arr.push({ n, k, hi });
    }
  }

  /** The needle and its byte-reversed form. */
  add2(group, kind, bytes) {
    this.add(group, kind, bytes);
    this.add(group, `${kind}~rev`, bytes.slice().reverse());
  }

  /**
   * A 32-byte key, and each of its 16-byte halves: a key buffer freed
   * without being wiped keeps only part of the key (malloc(3) writes its
   * free-list pointers over the first bytes of a freed chunk).
   */
  addKey(group, key) {
    this.add2(group, 'key', key);
    this.add2(group, 'key[0:16]', key.slice(0, 16));
    this.add2(group, 'key[16:32]', key.slice(16, 32));
  }

  /** Key (its halves are round keys 0 and 1), round keys 2..14, H = AES_K(0^128) plain, reversed and twisted. */
  addAes(group, key) {
    this.addKey(group, key);
    const w = expandKey256(key);
    for (let r = 2; r <= 14; r++) this.add2(group, `rk${r}`, roundKey(w, r));
    const h = encryptBlock(w, new Array(16).fill(0));
    this.add2(group, 'H', h);
    this.add(group, 'H~twisted', twistedH(h));
    return { w, h };
  }
}

/** proc(5) /proc/self/smaps: every mapping with its perms, name, Rss and VmFlags. */
function mappings() {
  const out = [];
  let cur = null;
  for (const line of fs.readFileSync('/proc/self/smaps', 'latin1').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (m) {
      cur = { start: parseInt(m[1], 16), end: parseInt(m[2], 16), perms: m[3], name: m[4] || '[anon]', resident: 0, flags: [] };
      out.push(cur);
    } else if (cur && (line.startsWith('Rss:') || line.startsWith('Swap:'))) {
      cur.resident += parseInt(line.slice(line.indexOf(':') + 1), 10) * 1024;
    } else if (cur && line.startsWith('VmFlags:')) {
      cur.flags = line.slice(8).trim().split(/\s+/);
    }
  }
  return out;
}

/** A short mapping name for the report: the file's base name, or [heap], [stack], [anon]... */
const label = (name) => (name.startsWith('[') ? name.replace(/:.*\]$/, ']') : path.basename(name));

function scan(needles) {
  // The read buffer must be a mapping of its own: glibc's malloc serves
  // requests above its mmap threshold (at most 32 MiB on 64-bit, mallopt(3)
  // M_MMAP_THRESHOLD) with mmap, smaller ones possibly from [heap]. A buffer
  // inside [heap] would receive a read of [heap] that overlaps it, and the
  // kernel copies page by page, so bytes read early are read again later:
  // one key schedule in [heap] came out as 2 to 16 "copies". In its own
  // mapping the buffer is all zeros whenever that mapping is read.
  const CH = 32 << 20;
  const OV = 64; // >= the longest needle: an occurrence starting in a chunk is read whole
  const buf = Buffer.allocUnsafeSlow(CH + OV).fill(0);
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset, (CH + OV) >>> 2);
  const { table, filter } = needles;
  const maps = mappings();
  const fd = fs.openSync('/proc/self/mem', 'r');
  const report = { mappings: 0, bytes: 0, ddMappings: 0, ddBytes: 0, unreadable: [], noRead: { count: 0, resident: 0 } };
  try {
    for (const m of maps) {
      // Left out of core dumps as well: the vDSO data pages and VM_IO
      // (device) mappings, VmFlags `io`.
      if (m.name.startsWith('[vvar') || m.name === '[vsyscall]' || m.flags.includes('io')) continue;
      if (!m.perms.includes('r')) {
        // PROT_NONE: V8's reservations, guard pages. A core dump writes
        // their resident (or swapped) pages too, and /proc/self/mem reads
        // them (ptrace access, like a debugger); with nothing resident there
        // is nothing to dump, and reading gigabytes of reservation would
        // only fault in zero pages.
        report.noRead.count++;
        report.noRead.resident += m.resident;
        if (m.resident === 0) continue;
      }
      const dd = m.flags.includes('dd');
      if (dd) {
        report.ddMappings++;
        report.ddBytes += m.end - m.start;
      } else {
        report.mappings++;
        report.bytes += m.end - m.start;
      }
      for (let pos = m.start; pos < m.end; pos += CH) {
        const len = Math.min(CH, m.end - pos);
        let got;
        try {
          got = fs.readSync(fd, buf, 0, Math.min(len + OV, m.end - pos), pos);
        } catch (e) {
          if (e.code !== 'EIO' && e.code !== 'EFAULT') throw e;
          report.unreadable.push(`${label(m.name)} ${pos.toString(16)}+${len} ${e.code}`);
          continue;
        }
        if (got < len) report.unreadable.push(`${label(m.name)} ${(pos + got).toString(16)}+${len - got} short read`);
        // Every aligned word a of an occurrence starting in [0, len) has
        // a < len + 8, and the occurrence must fit in what was read.
        for (let a = 0; a + 8 <= got && a < len + 8; a += 8) {
          const i = a >>> 2;
          const lo = u32[i];
          if (filter[lo & 0xffffff] === 0) continue;
          const cands = table.get(lo);
          if (cands === undefined) continue;
          const hi = u32[i + 1];
          for (const c of cands) {
            if (c.hi !== hi) continue;
            const n = c.n;
            const o = a - c.k;
            if (o < 0 || o >= len || o + n.L > got) continue;
            let eq = true;
            for (let j = 0; j < n.L && eq; j++) eq = buf[o + j] === (n.masked[j] ^ n.mask[j]);
            if (!eq) continue;
            if (dd) n.dd++;
            else {
              n.dump++;
              const where = label(m.name);
              n.where[where] = (n.where[where] ?? 0) + 1;
            }
          }
        }
        buf.fill(0, 0, got);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return report;
}

// ------------------------------------------------------------------------
// The child: keys on one tier, used once each, then the scan.

const ALGS = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'];
const isAes = (alg) => alg === 'aes-256-gcm' || alg === 'xaes-256-gcm';

/** 32 random key bytes in an ArrayBuffer's own backing store (off the V8 heap), and the same bytes as JS numbers. */
function freshKey() {
  const bytes = new Uint8Array(new ArrayBuffer(32));
  nodeCrypto.randomFillSync(bytes);
  return { bytes, nums: Array.from(bytes) };
}

/** XAES-256-GCM Kx for a 24-byte nonce (c2sp.org/XAES-256-GCM): AES_K(M1 ^ K1) || AES_K(M2 ^ K1). */
function xaesKx(w, h, nonce) {
  const k1 = dbl(h); // L = AES_K(0^128) = H
  const kx = [];
  for (let b = 1; b <= 2; b++) {
    const m = [0x00, b, 0x58, 0x00, ...Array.from(nonce.subarray(0, 12))].map((x, i) => x ^ k1[i]);
    kx.push(...encryptBlock(w, m));
  }
  return { k1, kx };
}

async function main() {
  const tier = process.argv[2] ?? 'auto';
  const T = require(path.join(__dirname, '..', 'dist', 'cjs', 'index.js'));
  if (T.backend() !== 'native') throw new Error(`backend is ${T.backend()}, not native`);
  try {
    T.useNativeKernel(tier);
  } catch (e) {
    if (e.code === 'ERR_BACKEND') {
      console.log(JSON.stringify({ tier, unsupported: e.message }));
      return;
    }
    throw e;
  }
  const kernels = T.nativeKernels();
  const needles = new Needles();
  const keep = []; // live keys: the test is that their state is nowhere but in secure memory
  const gc = globalThis.gc;

  for (const alg of ALGS) {
    // An AeadKey, used once (seal + open builds every lazily made state:
    // XAES's K1 and per-message Kx, Poly1305 state, H powers).
    {
      const group = `AeadKey ${alg}`;
      const { bytes, nums } = freshKey();
      const key = T.AeadKey.import(alg, bytes);
      bytes.fill(0);
      keep.push(key);
      let pt = Buffer.from(`a message for ${alg}`);
      let sealed = key.seal(pt);
      if (!Buffer.from(key.open(sealed)).equals(pt)) throw new Error(`${group}: round trip failed`);
      if (isAes(alg)) {
        const { w, h } = needles.addAes(group, nums);
        if (alg === 'xaes-256-gcm') {
          // Bytes 6..30 are the nonce (docs/API.md "Message format v1": version, alg, key id, nonce).
          const { k1, kx } = xaesKx(w, h, sealed.subarray(6, 30));
          needles.add2(group, 'K1', k1);
          needles.addAes(`${group} Kx`, kx);
        }
      } else {
        needles.addKey(group, nums);
      }
      // eslint-disable-next-line no-useless-assignment -- drops the last references so a GC can collect these buffers before the memory scan
      pt = sealed = null;
    }
    // The raw API with its own key: the caller's buffer is the key
    // (docs/SECURITY.md: "the raw aead.* API, whose key argument is your own JS
    // buffer"); the addon keeps a keyed context for the next call.
    {
      const group = `aead.seal ${alg}`;
      const { bytes, nums } = freshKey();
      const nonce = nodeCrypto.randomBytes(alg.startsWith('x') ? 24 : 12);
      let pt = Buffer.from(`a raw message for ${alg}`);
      let sealed = T.aead.seal(alg, bytes, nonce, pt);
      if (!Buffer.from(T.aead.open(alg, bytes, nonce, sealed)).equals(pt)) throw new Error(`${group}: round trip failed`);
      bytes.fill(0);
      if (isAes(alg)) {
        const { w, h } = needles.addAes(group, nums);
        if (alg === 'xaes-256-gcm') {
          const { k1, kx } = xaesKx(w, h, nonce);
          needles.add2(group, 'K1', k1);
          needles.addAes(`${group} Kx`, kx);
        }
      } else {
        needles.addKey(group, nums);
      }
      // eslint-disable-next-line no-useless-assignment -- drops the last references so a GC can collect these buffers before the memory scan
      pt = sealed = null;
    }
  }

  // Cobblestone over > 1 MiB (chunks on the worker pool), input key as
  // bytes and as an AeadKey. The per-file key is derived inside; only the
  // input key (and its AES schedule, in case it were ever expanded) is searched.
  for (const form of ['bytes', 'AeadKey']) {
    const group = `encryptChunked (${form})`;
    const { bytes, nums } = freshKey();
    let input = bytes;
    if (form === 'AeadKey') {
      input = T.AeadKey.import('aes-256-gcm', bytes);
      bytes.fill(0);
      keep.push(input);
    }
    let pt = nodeCrypto.randomBytes((1 << 20) + 12345);
    let ct = T.encryptChunked(input, pt, { context: 'secure.scan' });
    if (!Buffer.from(T.decryptChunked(input, ct, { context: 'secure.scan' })).equals(pt)) throw new Error(`${group}: round trip failed`);
    bytes.fill(0);
    needles.addAes(group, nums);
    // eslint-disable-next-line no-useless-assignment -- drops the last references so a GC can collect these buffers before the memory scan
    pt = ct = input = null;
  }

  // Positive controls: key bytes a caller forgot to wipe must be found, in
  // an off-heap backing store (Buffer's pool) and on the V8 heap (a small
  // typed array), or the scan proves nothing.
  const c1 = freshKey();
  const controlOffHeap = Buffer.from(c1.bytes);
  c1.bytes.fill(0);
  needles.addKey('control (Buffer pool)', c1.nums);
  const c2 = freshKey();
  const controlOnHeap = new Uint8Array(32);
  controlOnHeap.set(c2.bytes);
  c2.bytes.fill(0);
  needles.addKey('control (V8 heap)', c2.nums);

  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }

  const stats = T.secureMemoryStats();
  const t0 = process.hrtime.bigint();
  const report = scan(needles);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;

  // The keys are alive (and usable) while they were searched for.
  for (const k of keep) {
    if (k.disposed) throw new Error('a key under test was disposed');
    if (!Buffer.from(k.open(k.seal(Buffer.from('alive')))).equals(Buffer.from('alive'))) throw new Error('a key under test stopped working');
  }
  if (controlOffHeap.length !== 32 || controlOnHeap.length !== 32) throw new Error('controls gone');

  const groups = {};
  for (const n of needles.list) {
    const g = (groups[n.group] ??= { dump: {}, where: {}, dd: {} });
    g.dump[n.kind] = n.dump;
    g.dd[n.kind] = n.dd;
    if (n.dump) g.where[n.kind] = n.where;
  }
  console.log(JSON.stringify({ tier, kernels, stats, scan: { ...report, ms: Math.round(ms) }, groups }));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
