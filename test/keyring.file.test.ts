/**
 * Keyring files (lib/keys/envelope-file.ts, through the streaming primitive
 * ring.streamingAead(purpose).encryptFile / decryptFile, keyring-streaming.ts)
 * write the TSRF envelope (docs/API.md "Command line") with a per-file data key,
 * Cobblestone inside and the header bound as context; a data-key cache is
 * bounded by max age, messages and bytes per key, with hit/miss counters.
 *
 * Proves: round trips of 0 B, 1 B and 1 MiB + 7 with progress; the file is
 * TSRF v1 whose whole prefix is the Cobblestone context (decryptChunked with
 * the unwrapped key agrees); a changed header byte fails (ERR_COMMITMENT /
 * ERR_FORMAT / ERR_KEK for the KEK id) and leaves no dst or temp file;
 * another keyring's KEK is ERR_KEK; CLI files and keyring files are told
 * apart; an RSA public-only KEK encrypts (streamingAead(kek, purpose), without
 * a Keyring, which it cannot open) what the private-key keyring decrypts; the cache counts hits and
 * misses, respects maxMessages, maxAgeMs (injected clock) and maxBytes (new
 * wrapped key after the bound), serves decrypts without unwrapping, wipes
 * evicted and closed keys (secure allocations return to the baseline), and
 * keeps a key alive for files still running; metadata round-trips and is
 * readable by inspectEnvelope without a key; abort leaves nothing.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { T } from './tessera';

const require = createRequire(import.meta.url);
const EF = require('../dist/cjs/keys/envelope-file.js') as typeof import('../dist/cjs/keys/envelope-file');
type Kek = import('../dist/cjs/keys/kek').KekProvider;

let dir: string;
let n = 0;
const p = (name: string) => path.join(dir, `${n++}-${name}`);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keyring-file-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function code(pr: Promise<unknown>): Promise<string> {
  try {
    await pr;
  } catch (e) {
    if (e instanceof T.TesseraError) return e.code;
    throw e;
  }
  return 'no error';
}

function input(bytes: Uint8Array | number): [string, Uint8Array] {
  const data = typeof bytes === 'number' ? new Uint8Array(randomBytes(bytes)) : bytes;
  const f = p('plain');
  fs.writeFileSync(f, data);
  return [f, data];
}

/** A KEK that counts its calls. */
function counting(inner: Kek) {
  const c = { wraps: 0, unwraps: 0 };
  const k: Kek = { id: inner.id, wrap: (d) => (c.wraps++, inner.wrap(d)), unwrap: (w) => (c.unwraps++, inner.unwrap(w)) };
  return [k, c] as const;
}

async function ring(extra: Record<string, unknown> = {}, kek: Kek = T.kek.fromKey(randomBytes(32)), file = p('ring.json')) {
  return T.Keyring.open(new T.FileKeyStore(file), { kek, ...extra } as Parameters<typeof T.Keyring.open>[1]);
}

const wrappedOf = async (f: string) => {
  const buf = fs.readFileSync(f);
  const len = 9 + buf.readUInt32BE(5);
  return (JSON.parse(buf.subarray(9, len).toString()) as { kek: { wrapped: string } }).kek.wrapped;
};

/** Byte equality (vitest's deep equality is slow on MiB buffers). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Files in dir named after dst (the dst itself or an atomic-write temp file). */
const leftovers = (dst: string) => fs.readdirSync(dir).filter((f) => f.includes(path.basename(dst)));

describe('ring.streamingAead(purpose).encryptFile / decryptFile', () => {
  test('round trips 0 B, 1 B, 1 MiB + 7 with progress; TSRF v1 with the prefix as context', async () => {
    const mk = randomBytes(32);
    const r = await ring({}, T.kek.fromKey(mk));
    for (const size of [0, 1, (1 << 20) + 7]) {
      const [src, data] = input(size);
      const enc = p('enc.tsr');
      const dst = p('out');
      const info = await r.streamingAead('files').encryptFile(src, enc, { metadata: { size } });
      const file = fs.readFileSync(enc);
      expect(file.subarray(0, 5)).toEqual(Buffer.from('TSRF\x01', 'latin1'));
      const h = JSON.parse(file.subarray(9, info.headerLength).toString());
      expect(h).toMatchObject({ suite: 'cobblestone-256', key: 'kek', kek: { id: T.kek.fromKey(mk).id }, purpose: 'files', metadata: { size } });
      expect(new Date(h.created).toISOString()).toBe(h.created);
      // The keyring file is plain Cobblestone behind the prefix, the prefix its context.
      const dk = T.keywrap.unwrapPad(mk, Buffer.from(h.kek.wrapped, 'base64'));
      expect(dk.length).toBe(32);
      expect(same(T.decryptChunked(dk, file.subarray(info.headerLength), { context: file.subarray(0, info.headerLength) }), data)).toBe(true);
      const seen: number[] = [];
      const out = await r.streamingAead().decryptFile(enc, dst, { onProgress: ({ bytes }) => seen.push(bytes) });
      expect(same(fs.readFileSync(dst), data)).toBe(true);
      expect(out).toMatchObject({ kind: 'kek', purpose: 'files', metadata: { size }, kekId: T.kek.fromKey(mk).id });
      expect(seen.at(-1)).toBe(file.length);
    }
    expect(r.cacheStats()).toEqual({ hits: 0, misses: 6, size: 0, evictions: 0 }); // no cache: a KEK call per file
    await r.close();
  });

  test('a fresh data key per file without a cache; cobblestone-128 takes a 16-byte key', async () => {
    const mk = randomBytes(32);
    const r = await ring({}, T.kek.fromKey(mk));
    const [src, data] = input(100);
    const [a, b, c] = [p('a'), p('b'), p('c')];
    await r.streamingAead('files').encryptFile(src, a);
    await r.streamingAead('files').encryptFile(src, b);
    expect(await wrappedOf(a)).not.toBe(await wrappedOf(b));
    await r.streamingAead('files').encryptFile(src, c, { suite: 'cobblestone-128' });
    expect(T.keywrap.unwrapPad(mk, Buffer.from(await wrappedOf(c), 'base64')).length).toBe(16);
    const out = p('out');
    await r.streamingAead().decryptFile(c, out);
    expect(same(fs.readFileSync(out), data)).toBe(true);
    await r.close();
  });

  test('the header is authenticated: a changed byte fails and leaves no dst', async () => {
    const r = await ring();
    const [src] = input(40000);
    const enc = p('enc.tsr');
    const info = await r.streamingAead('files').encryptFile(src, enc, { metadata: { owner: 'alice' } });
    const good = fs.readFileSync(enc);
    const text = good.subarray(0, info.headerLength).toString('latin1');
    const at = (s: string, off = 0) => text.indexOf(s) + off;
    const wrappedAt = at('"wrapped":"', 11);
    const cases: [string, number, (b: number) => number, string[]][] = [
      ['metadata value', at('alice'), () => 'A'.charCodeAt(0), ['ERR_COMMITMENT']],
      ['purpose', at('"files"', 1), () => 'F'.charCodeAt(0), ['ERR_COMMITMENT']],
      ['created-at', at('"created":"', 11 + 3), (b) => (b === 0x39 ? 0x38 : b + 1), ['ERR_COMMITMENT']],
      ['wrapped key', wrappedAt + 5, (b) => (b === 0x41 ? 0x42 : 0x41), ['ERR_COMMITMENT', 'ERR_FORMAT']],
      ['suite', at('cobblestone-256', 12), () => '1'.charCodeAt(0), ['ERR_COMMITMENT', 'ERR_FORMAT']],
      ['JSON syntax', at('{'), () => '['.charCodeAt(0), ['ERR_FORMAT']],
      ['version', 4, () => 2, ['ERR_FORMAT']],
      ['magic', 0, () => 'X'.charCodeAt(0), ['ERR_FORMAT']],
      ['length', 8, (b) => b + 1, ['ERR_FORMAT', 'ERR_COMMITMENT', 'ERR_TRUNCATED']],
      ['KEK id (names a KEK this keyring does not hold)', at('"id":"', 6 + 12), (b) => (b === 0x61 ? 0x62 : 0x61), ['ERR_KEK']],
    ];
    for (const [what, off, change, codes] of cases) {
      const bad = Buffer.from(good);
      bad[off] = change(bad[off]!);
      const f = p('bad.tsr');
      fs.writeFileSync(f, bad);
      const dst = p('bad-out');
      const got = await code(r.streamingAead().decryptFile(f, dst));
      expect(codes, `${what}: ${got}`).toContain(got);
      expect(leftovers(dst), what).toEqual([]);
    }
    // A flipped ciphertext byte, and a truncated file, fail the same way (nothing left).
    const flipped = Buffer.from(good);
    flipped[good.length - 100]! ^= 1;
    const f = p('flip.tsr');
    fs.writeFileSync(f, flipped);
    const dst = p('flip-out');
    expect(await code(r.streamingAead().decryptFile(f, dst))).toBe('ERR_AUTH');
    fs.writeFileSync(f, good.subarray(0, good.length - 1));
    expect(['ERR_TRUNCATED', 'ERR_AUTH']).toContain(await code(r.streamingAead().decryptFile(f, dst)));
    expect(leftovers(dst)).toEqual([]);
    await r.close();
  });

  test('another keyring (another KEK) is ERR_KEK, audited; CLI files are told apart', async () => {
    const a = await ring();
    const b = await ring();
    const events: { op: string; outcome: string; code?: string }[] = [];
    b.on('audit', (e) => events.push(e));
    const [src] = input(1000);
    const enc = p('enc.tsr');
    await a.streamingAead('files').encryptFile(src, enc);
    const dst = p('out');
    expect(await code(b.streamingAead().decryptFile(enc, dst))).toBe('ERR_KEK');
    expect(events.at(-1)).toMatchObject({ op: 'decrypt', outcome: 'failure', code: 'ERR_KEK' });
    expect(await code(T.streamingAead(T.kek.fromKey(randomBytes(32))).decryptFile(enc, dst))).toBe('ERR_KEK');
    expect(leftovers(dst)).toEqual([]);
    // A `tessera encrypt --key-file` file: same TSRF family, "key": "raw", no "kek".
    const key = randomBytes(32);
    const header = Buffer.from(JSON.stringify({ suite: 'cobblestone-256', key: 'raw' }));
    const pre = Buffer.concat([Buffer.from('TSRF\x01', 'latin1'), Buffer.alloc(4), header]);
    pre.writeUInt32BE(header.length, 5);
    const cli = p('cli.tsr');
    fs.writeFileSync(cli, Buffer.concat([pre, T.encryptChunked(key, new Uint8Array(10), { context: pre })]));
    expect(await code(a.streamingAead().decryptFile(cli, dst))).toBe('ERR_FORMAT');
    expect(await EF.inspectEnvelope(cli)).toMatchObject({ kind: 'raw', suite: 'cobblestone-256', kekId: undefined });
    expect(await EF.inspectEnvelope(enc)).toMatchObject({ kind: 'kek', kekId: expect.stringMatching(/^aes-kwp:/) });
    fs.writeFileSync(cli, 'not a tessera file at all');
    expect(await code(a.streamingAead().decryptFile(cli, dst))).toBe('ERR_FORMAT');
    await a.close();
    await b.close();
  });

  test('an RSA public-only KEK encrypts what the private-key keyring decrypts', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const storeFile = p('rsa-ring.json');
    const owner = await ring({}, T.kek.rsa({ privateKey }), storeFile);
    await owner.aead('user-data').encrypt(new Uint8Array(1)); // the store now holds keys
    const pub = T.kek.rsa({ publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string });
    expect(pub.id).toBe(T.kek.rsa({ privateKey }).id);
    // The public-only holder cannot open the keyring (its MAC key needs the private key) ...
    expect(await code(T.Keyring.open(new T.FileKeyStore(storeFile), { kek: pub }))).toBe('ERR_KEK');
    // ... but can write keyring files with the KEK alone.
    const [src, data] = input(50000);
    const enc = p('rsa.tsr');
    const info = await T.streamingAead(pub, 'uploads').encryptFile(src, enc, { metadata: { from: 'edge-1' } });
    expect(info.kekId).toBe(pub.id);
    const dst = p('out');
    expect(await code(T.streamingAead(pub).decryptFile(enc, dst))).toBe('ERR_KEK'); // cannot read back
    const out = await owner.streamingAead().decryptFile(enc, dst);
    expect(out).toMatchObject({ purpose: 'uploads', metadata: { from: 'edge-1' } });
    expect(same(fs.readFileSync(dst), data)).toBe(true);
    await owner.close();
  });

  test('metadata round-trips and is readable without a key; bad metadata and purposes are refused', async () => {
    const r = await ring();
    const [src] = input(10);
    const enc = p('enc.tsr');
    const metadata = { name: 'report.pdf', tags: ['q3', 'final'], n: 3, nested: { ok: true } };
    await r.streamingAead('reports').encryptFile(src, enc, { metadata });
    const info = await EF.inspectEnvelope(enc);
    expect(info).toMatchObject({ version: 1, kind: 'kek', suite: 'cobblestone-256', purpose: 'reports', metadata });
    expect(Date.parse(info.createdAt!)).toBeGreaterThan(0);
    expect((await r.streamingAead().decryptFile(enc, p('out'))).metadata).toEqual(metadata);
    expect(await code(r.streamingAead('files').encryptFile(src, p('x'), { metadata: [1] as never }))).toBe('ERR_ARGUMENT');
    expect(await code(r.streamingAead('files').encryptFile(src, p('x'), { metadata: { big: 'x'.repeat(20000) } }))).toBe('ERR_ARGUMENT');
    expect(await code(r.streamingAead('bad purpose!').encryptFile(src, p('x')))).toBe('ERR_ARGUMENT');
    expect(await code(r.streamingAead('files').encryptFile(src, p('x'), { suite: 'nope' as never }))).toBe('ERR_ALGORITHM');
    await r.close();
    expect(await code(r.streamingAead('files').encryptFile(src, p('x')))).toBe('ERR_DISPOSED');
  });

  test('abort leaves no dst', async () => {
    const r = await ring();
    const [src] = input(1 << 20);
    const enc = p('enc.tsr');
    const ac = new AbortController();
    ac.abort();
    expect(await code(r.streamingAead('files').encryptFile(src, enc, { signal: ac.signal }))).toBe('ERR_ABORTED');
    expect(leftovers(enc)).toEqual([]);
    await r.streamingAead('files').encryptFile(src, enc);
    const dst = p('out');
    const ac2 = new AbortController();
    const pr = r.streamingAead().decryptFile(enc, dst, { signal: ac2.signal, onProgress: () => ac2.abort() });
    expect(await code(pr)).toBe('ERR_ABORTED');
    expect(leftovers(dst)).toEqual([]);
    await r.close();
  });
});

describe('data-key cache', () => {
  test('maxMessages: one wrapped key for up to N files, then a new one; hits and misses counted', async () => {
    const [k, calls] = counting(T.kek.fromKey(randomBytes(32)));
    const r = await ring({ cache: { maxMessages: 3 } }, k);
    const wrapsAtOpen = calls.wraps;
    const [src, data] = input(1000);
    const files = [];
    for (let i = 0; i < 7; i++) {
      const f = p('enc.tsr');
      await r.streamingAead('files').encryptFile(src, f);
      files.push(f);
    }
    const w = await Promise.all(files.map(wrappedOf));
    expect(new Set(w.slice(0, 3)).size).toBe(1);
    expect(new Set(w.slice(3, 6)).size).toBe(1);
    expect(new Set([w[0], w[3], w[6]]).size).toBe(3);
    expect(calls.wraps - wrapsAtOpen).toBe(3);
    expect(r.cacheStats()).toEqual({ hits: 4, misses: 3, size: 1, evictions: 2 });
    // Another purpose gets its own key.
    const other = p('other.tsr');
    await r.streamingAead('backups').encryptFile(src, other);
    expect(w).not.toContain(await wrappedOf(other));
    // Decrypt: the first file of a key unwraps, the rest are hits.
    const unwrapsBefore = calls.unwraps;
    for (const f of files) {
      const out = p('out');
      await r.streamingAead().decryptFile(f, out);
      expect(same(fs.readFileSync(out), data)).toBe(true);
    }
    expect(calls.unwraps - unwrapsBefore).toBe(3);
    expect(r.cacheStats()).toMatchObject({ hits: 4 + 4, misses: 3 + 1 + 3, size: 2 + 3 });
    await r.close();
    expect(r.cacheStats().size).toBe(0);
  });

  test('maxAgeMs (injected clock) for encrypt and decrypt', async () => {
    let t = 1_700_000_000_000;
    const [k, calls] = counting(T.kek.fromKey(randomBytes(32)));
    const r = await ring({ now: () => t, cache: { maxAgeMs: 1000 } }, k);
    const [src] = input(10);
    const [a, b, c] = [p('a'), p('b'), p('c')];
    await r.streamingAead('files').encryptFile(src, a);
    t += 999;
    await r.streamingAead('files').encryptFile(src, b);
    t += 1;
    await r.streamingAead('files').encryptFile(src, c);
    expect(await wrappedOf(a)).toBe(await wrappedOf(b));
    expect(await wrappedOf(c)).not.toBe(await wrappedOf(a));
    expect(r.cacheStats()).toMatchObject({ hits: 1, misses: 2, evictions: 1 });
    const u0 = calls.unwraps;
    await r.streamingAead().decryptFile(a, p('out'));
    t += 500;
    await r.streamingAead().decryptFile(b, p('out')); // same wrapped key, within age: no unwrap
    expect(calls.unwraps - u0).toBe(1);
    t += 500;
    await r.streamingAead().decryptFile(a, p('out')); // aged out: unwrapped again
    expect(calls.unwraps - u0).toBe(2);
    await r.close();
  });

  test('maxBytes: a file that would cross the bound gets a new key; larger files are not cached', async () => {
    const r = await ring({ cache: { maxBytes: 100 } });
    const files: string[] = [];
    for (const size of [60, 40, 1, 150, 10]) {
      const [src] = input(size);
      const f = p('enc.tsr');
      await r.streamingAead('files').encryptFile(src, f);
      files.push(f);
    }
    const w = await Promise.all(files.map(wrappedOf));
    expect(w[0]).toBe(w[1]); // 60 + 40 = 100
    expect(w[2]).not.toBe(w[1]); // 101 > 100
    expect(w[3]).not.toBe(w[2]); // 150 alone exceeds the bound: its own key, not cached
    expect(w[4]).toBe(w[2]); // 1 + 10
    expect(r.cacheStats()).toMatchObject({ hits: 2, misses: 3, size: 1 });
    await r.close();
  });

  test('evicted and closed keys are wiped; a key in use survives eviction until its file ends', async () => {
    const kek = T.kek.fromKey(randomBytes(32));
    const files = new EF.EnvelopeFiles(kek, { maxMessages: 1, maxEntries: 2 });
    const [src, data] = input((1 << 20) + 3);
    // Every SecureBuffer the cache makes from here on (dispose() zeroizes, lib/secure.ts).
    const made: import('../dist/cjs/index').SecureBuffer[] = [];
    const SB = T.SecureBuffer as unknown as Record<'alloc' | 'from', (...a: unknown[]) => import('../dist/cjs/index').SecureBuffer>;
    const orig = { alloc: SB.alloc, from: SB.from };
    for (const m of ['alloc', 'from'] as const)
      SB[m] = (...a) => {
        const b = orig[m].apply(T.SecureBuffer, a);
        made.push(b);
        return b;
      };
    const alive = () => made.filter((b) => !b.disposed).length;
    const encs = [p('a'), p('b'), p('c')];
    try {
      // Concurrent files: each evicts the previous file's key while that one is still running.
      await Promise.all(encs.map((f) => files.encrypt('files', src, f)));
      expect(files.stats()).toMatchObject({ misses: 3, evictions: 2, size: 1 });
      expect([made.length, alive()]).toEqual([3, 1]); // only the cached key is alive
      for (const f of encs) {
        const out = p('out');
        await files.decrypt(f, out);
        expect(same(fs.readFileSync(out), data)).toBe(true);
      }
      // maxEntries 2: decrypt keys push out older entries (LRU).
      expect(files.stats()).toMatchObject({ size: 2, evictions: 2 + 2 });
      expect([made.length, alive()]).toEqual([6, 2]);
      files.close();
      expect(files.stats().size).toBe(0);
      expect(alive()).toBe(0);
    } finally {
      Object.assign(SB, orig);
    }
    expect(await code(files.encrypt('files', src, p('x')))).toBe('ERR_DISPOSED');
  });

  test('bad cache options are ERR_ARGUMENT at open', async () => {
    for (const cache of [null, 5, { maxAgeMs: 0 }, { maxMessages: -1 }, { maxBytes: 1.5 }, { maxEntries: '3' }])
      expect(await code(ring({ cache }))).toBe('ERR_ARGUMENT');
  });
});
