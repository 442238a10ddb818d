/**
 * AeadKey.sealAsync / openAsync (docs/BENCHMARKS.md: node:crypto's
 * synchronous seal blocks the event loop): large messages are sealed on the
 * libuv pool, the event loop keeps running meanwhile, a tampered message
 * rejects with ERR_AUTH and releases nothing, dispose() during an in-flight
 * job defers the wipe until the job is done (the job still uses the right
 * key), and many concurrent jobs all settle correctly.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, test } from 'vitest';

import { T } from './tessera';

const ALGS = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'] as const;
const MiB = 1 << 20;
const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const code = (c: string) => expect.objectContaining({ name: 'TesseraError', code: c });

/** A big buffer with varied content without paying for 64 MiB of CSPRNG output. */
function bigPlaintext(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  const block = randomBytes(65536);
  for (let o = 0; o < n; o += block.length) block.copy(b, o, 0, Math.min(block.length, n - o));
  // Make blocks differ so a chunk-reordering bug could not round trip.
  for (let o = 0; o + 4 <= n; o += 65536) b.writeUInt32BE(o >>> 16, o);
  return b;
}

describe.each(ALGS)('%s', (alg) => {
  test.each([1, MiB, 64 * MiB])('sealAsync/openAsync round trip, %i bytes, with and without aad', async (n) => {
    using key = T.AeadKey.generate(alg, { keyId: 7 });
    const pt = n === 1 ? Buffer.from([0xab]) : bigPlaintext(n);
    const aad = randomBytes(20);
    const sealed = await key.sealAsync(pt);
    expect(sealed.length).toBe(key.sealedLength(n));
    expect(T.parseHeader(sealed)).toMatchObject({ algorithm: alg, keyId: 7 });
    // Async and sync agree on the format: sync open of async seal and vice versa.
    expect(buf(key.open(sealed)).equals(pt)).toBe(true);
    expect(buf(await key.openAsync(sealed)).equals(pt)).toBe(true);

    const withAad = await key.sealAsync(pt, { aad });
    expect(buf(await key.openAsync(withAad, { aad })).equals(pt)).toBe(true);
    await expect(key.openAsync(withAad)).rejects.toThrow(code('ERR_AUTH'));
    if (n <= MiB) expect(buf(await key.openAsync(key.seal(pt, { aad }), { aad })).equals(pt)).toBe(true);
  });

  test('openAsync of a tampered message rejects with ERR_AUTH', async () => {
    using key = T.AeadKey.generate(alg);
    const pt = randomBytes(4096);
    const sealed = await key.sealAsync(pt);
    for (const pos of [sealed.length - 1, sealed.length - 17, 30, 6]) {
      const bad = Uint8Array.from(sealed);
      bad[pos]! ^= 0x01;
      await expect(key.openAsync(bad), `byte ${pos}`).rejects.toThrow(code('ERR_AUTH'));
    }
    // Malformed input rejects (not throws synchronously) with a format error.
    await expect(key.openAsync(new Uint8Array(3))).rejects.toThrow(code('ERR_FORMAT'));
  });
});

describe('event loop and lifetime', () => {
  test.each(['aes-256-gcm', 'chacha20-poly1305'] as const)('%s: the event loop keeps running during a 64 MiB sealAsync', async (alg) => {
    using key = T.AeadKey.generate(alg);
    const pt = bigPlaintext(64 * MiB);
    await key.sealAsync(pt.subarray(0, MiB)); // warm up the pool thread
    const h = monitorEventLoopDelay({ resolution: 1 });
    let ticks = 0;
    let pending = true;
    let ticksWhilePending = 0;
    const timer = setInterval(() => {
      ticks++;
      if (pending) ticksWhilePending++;
    }, 1);
    h.enable();
    const t0 = performance.now();
    // Several seals back to back so the job is long enough to observe on a fast machine.
    const outs: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) outs.push(await key.sealAsync(pt));
    pending = false;
    const elapsed = performance.now() - t0;
    h.disable();
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(ticksWhilePending);
    // The timer fired repeatedly while the work was in flight ...
    expect(ticksWhilePending).toBeGreaterThanOrEqual(Math.min(5, Math.floor(elapsed / 4)));
    // ... and the loop was not held up for most of the run. A synchronous
    // seal of the same 64 MiB (measured here, under the same machine load)
    // blocks for its whole duration, so a sync-in-disguise implementation
    // leaves only a handful of delay samples, nearly all of that size. The
    // 90th percentile is used, not the 99th: under a loaded full-suite run a
    // single garbage collection of the 64 MiB outputs can stall one tick for
    // as long as half a sync seal, which says nothing about where the work
    // runs. The bound is 20 ms, or half the sync time on a loaded 2-core box
    // (the strict 2 ms p99 target is the benchmark's job: bench/loop.mjs).
    const s0 = performance.now();
    key.seal(pt);
    const syncMs = performance.now() - s0;
    expect(h.percentile(90) / 1e6).toBeLessThan(Math.max(20, syncMs / 2));
    for (const o of outs) expect(o.length).toBe(key.sealedLength(pt.length));
    expect(buf(key.open(outs[3]!)).equals(pt)).toBe(true);
  });

  test('dispose() while sealAsync is in flight: the promise resolves and the output opens under the same key', async () => {
    for (const alg of ALGS) {
      const key = T.AeadKey.generate(alg);
      const exported = key.exportKey(); // before dispose
      const pt = bigPlaintext(16 * MiB);
      const p = key.sealAsync(pt);
      const q = key.openAsync(key.seal(pt.subarray(0, MiB)));
      key.dispose();
      expect(key.disposed).toBe(true);
      const sealed = await p;
      expect(buf(await q).equals(pt.subarray(0, MiB))).toBe(true);
      using twin = T.AeadKey.import(alg, exported);
      expect(buf(twin.open(sealed)).equals(pt)).toBe(true);
      exported.fill(0);
      // A disposed key refuses new async work with a rejected promise.
      await expect(key.sealAsync(new Uint8Array(1))).rejects.toThrow(code('ERR_DISPOSED'));
      await expect(key.openAsync(sealed)).rejects.toThrow(code('ERR_DISPOSED'));
    }
  });

  test('100 concurrent async jobs of 64 KiB all resolve correctly', async () => {
    using key = T.AeadKey.generate('xaes-256-gcm');
    const aad = randomBytes(9);
    const pts = Array.from({ length: 100 }, () => randomBytes(64 * 1024));
    const before = key.messagesSealed;
    const sealed = await Promise.all(pts.map((pt) => key.sealAsync(pt, { aad })));
    expect(key.messagesSealed - before).toBe(100n);
    expect(new Set(sealed.map((m) => buf(m).subarray(6, 30).toString('hex'))).size).toBe(100);
    const opened = await Promise.all(sealed.map((m) => key.openAsync(m, { aad })));
    for (let i = 0; i < 100; i++) expect(buf(opened[i]!).equals(pts[i]!)).toBe(true);
    // Mixed seal/open/failure traffic: each promise settles with its own outcome.
    const mixed = await Promise.allSettled(sealed.map((m, i) => (i % 3 === 0 ? key.openAsync(m) /* no aad: fails */ : key.openAsync(m, { aad }))));
    mixed.forEach((r, i) => {
      if (i % 3 === 0) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason.code).toBe('ERR_AUTH');
      } else {
        expect(r.status).toBe('fulfilled');
        expect(buf((r as PromiseFulfilledResult<Uint8Array>).value).equals(pts[i]!)).toBe(true);
      }
    });
  });

  test('nonce limit applies to async seals too', async () => {
    using key = T.AeadKey.generate('aes-256-gcm', { nonceLimit: 2 });
    await key.sealAsync(new Uint8Array(1));
    await key.sealAsync(new Uint8Array(1));
    await expect(key.sealAsync(new Uint8Array(1))).rejects.toThrow(code('ERR_NONCE_LIMIT'));
  });
});

describe('sealIntoAsync / openIntoAsync (caller buffers)', () => {
  for (const alg of ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'] as const) {
    test(`${alg}: round trip into caller buffers equals the allocating variants`, async () => {
      using key = T.AeadKey.generate(alg);
      const pt = randomBytes(3 * 1024 * 1024 + 5);
      const aad = randomBytes(13);
      const out = new Uint8Array(key.sealedLength(pt.length) + 7);
      const n = await key.sealIntoAsync(out, pt, { aad });
      expect(n).toBe(key.sealedLength(pt.length));
      const msg = out.subarray(0, n);
      expect(Buffer.from(key.open(msg, { aad })).equals(pt)).toBe(true);
      const back = new Uint8Array(pt.length);
      expect(await key.openIntoAsync(back, msg, { aad })).toBe(pt.length);
      expect(Buffer.from(back).equals(pt)).toBe(true);
      const fromAlloc = await key.sealAsync(pt, { aad });
      const back2 = new Uint8Array(pt.length);
      expect(await key.openIntoAsync(back2, fromAlloc, { aad })).toBe(pt.length);
      expect(Buffer.from(back2).equals(pt)).toBe(true);
    });
  }

  test('a tampered message rejects with ERR_AUTH and the caller buffer holds no plaintext', async () => {
    using key = T.AeadKey.generate('aes-256-gcm');
    const pt = Buffer.alloc(256 * 1024, 0x41);
    const msg = new Uint8Array(await key.sealAsync(pt));
    msg[msg.length - 1]! ^= 1;
    const back = new Uint8Array(pt.length).fill(0x99);
    await expect(key.openIntoAsync(back, msg)).rejects.toMatchObject({ code: 'ERR_AUTH' });
    expect(back.every((b) => b === 0)).toBe(true);
  });

  test('buffer checks happen before the job starts: too small, partial overlap, missing out', async () => {
    using key = T.AeadKey.generate('xaes-256-gcm');
    const pt = randomBytes(1000);
    await expect(key.sealIntoAsync(new Uint8Array(10), pt)).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    const buf = new Uint8Array(4096);
    await expect(key.sealIntoAsync(buf, buf.subarray(5, 1005))).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    await expect(key.sealIntoAsync(undefined as unknown as Uint8Array, pt)).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    const before = key.messagesSealed;
    await expect(key.sealIntoAsync(new Uint8Array(10), pt)).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    expect(key.messagesSealed).toBe(before); // a refused call uses no nonce
    key.dispose();
    await expect(key.sealIntoAsync(buf, pt)).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
  });

  test('in place: plaintext at out.subarray(headerLength) seals where it lies', async () => {
    using key = T.AeadKey.generate('chacha20-poly1305');
    const pt = randomBytes(70_000);
    const hl = T.headerLength('chacha20-poly1305');
    const buf = new Uint8Array(key.sealedLength(pt.length));
    buf.set(pt, hl);
    const n = await key.sealIntoAsync(buf, buf.subarray(hl, hl + pt.length));
    expect(Buffer.from(key.open(buf.subarray(0, n))).equals(pt)).toBe(true);
  });
});
