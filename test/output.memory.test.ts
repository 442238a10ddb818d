/**
 * Output memory (docs/API.md "Output memory", native/pool/tsr_outmem.c): outputs
 * of outputMemory().minBytes and more are resident blocks that come back for
 * reuse once JavaScript drops them. These check that
 *   - outputMemory() reports the blocks and validates its options;
 *   - a dropped output's block is reused (no new mapping) once V8 collected
 *     it and the event loop turned (its finalizer runs on a later turn);
 *   - a buffer handed to JS stays valid while the pool reuses other blocks:
 *     nothing is returned while JS still holds it;
 *   - async chunked outputs are made by the workers: 200 back-to-back 64 MiB
 *     encryptChunkedAsync calls keep RSS within the pool's limit plus what
 *     V8 keeps alive between collections (bound below), with memory reused.
 * The pool checks run in a child with --expose-gc on the test build.
 */
import { describe, expect, test } from 'vitest';

import { gcChild } from './gc-child';
import { T } from './tessera';

const native = T.backend() === 'native';

const PRELUDE = `
const T = require('./dist/cjs/index.js');
const crypto = require('node:crypto');
const turn = () => new Promise((r) => setImmediate(r));
async function settle() { for (let i = 0; i < 3; i++) { global.gc(); await turn(); } }
`;

describe('outputMemory()', () => {
  test('reports the pool and refuses bad options', () => {
    const s = T.outputMemory();
    for (const k of ['limit', 'cached', 'lent', 'reused', 'mapped', 'unmapped', 'minBytes'] as const) expect(Number.isSafeInteger(s[k])).toBe(true);
    if (native) {
      expect(s.minBytes).toBeGreaterThan(0);
      expect(s.limit).toBeGreaterThan(0);
    } else {
      expect(s).toEqual({ limit: 0, cached: 0, lent: 0, reused: 0, mapped: 0, unmapped: 0, minBytes: 0 });
    }
    for (const bad of [-1, 1.5, Number.NaN, '1', 2 ** 60])
      expect(() => T.outputMemory({ limit: bad as any })).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(() => T.outputMemory(5 as any)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });
});

describe.runIf(native)('output blocks', () => {
  test('a dropped output block is reused; a held one stays valid while others are reused', () => {
    const res = gcChild(`${PRELUDE}
(async () => {
  const key = T.AeadKey.generate('aes-256-gcm');
  const n = 1 << 20;
  const pt = crypto.randomBytes(n);
  const held = key.seal(pt);                 // kept for the whole run
  const copy = Buffer.from(held);
  let dropped = key.seal(pt);
  dropped = null;
  await settle();
  const before = T.outputMemory();
  const again = key.seal(pt);                 // same size class: the dropped block
  const after = T.outputMemory();
  // churn: 100 more outputs, dropped and collected, while 'held' lives
  for (let i = 0; i < 100; i++) { key.seal(crypto.randomBytes(n)); if (i % 10 === 0) await settle(); }
  await settle();
  const stats = T.outputMemory();
  console.log(JSON.stringify({
    reusedStep: after.reused - before.reused, mappedStep: after.mapped - before.mapped,
    heldIntact: Buffer.compare(held, copy) === 0, heldOpens: key.open(held).equals(pt), againOpens: key.open(again).equals(pt),
    reused: stats.reused, mapped: stats.mapped, lent: stats.lent,
  }));
})();
`);
    expect(res.reusedStep).toBe(1);
    expect(res.mappedStep).toBe(0);
    expect(res.heldIntact).toBe(true);
    expect(res.heldOpens).toBe(true);
    expect(res.againOpens).toBe(true);
    expect(res.reused).toBeGreaterThan(res.mapped); // the churn ran on a handful of blocks
    expect(res.lent).toBeGreaterThanOrEqual(2 * (1 << 20)); // held + again are still out
  });

  test('limit: a lower limit trims the cache; synchronous outputs past it come from the JS engine allocator', () => {
    const res = gcChild(`${PRELUDE}
(async () => {
  const key = T.AeadKey.generate('aes-256-gcm');
  const pt = crypto.randomBytes(1 << 20);
  for (let i = 0; i < 20; i++) key.seal(pt);
  await settle();
  const full = T.outputMemory();
  const trimmed = T.outputMemory({ limit: 4 << 20 });
  const keep = [];
  for (let i = 0; i < 10; i++) keep.push(key.seal(pt));          // 10 MiB held: past the 4 MiB limit
  const capped = T.outputMemory();
  const ok = keep.every((m) => key.open(m).equals(pt));
  T.outputMemory({ limit: 0 });
  console.log(JSON.stringify({ cachedBefore: full.cached, cachedAfter: trimmed.cached, limit: trimmed.limit, lent: capped.lent, ok, restored: T.outputMemory().limit }));
})();
`);
    expect(res.cachedBefore).toBeGreaterThan(4 << 20);
    expect(res.cachedAfter).toBeLessThanOrEqual(4 << 20);
    expect(res.limit).toBe(4 << 20);
    expect(res.lent).toBeLessThanOrEqual(4 << 20);
    expect(res.ok).toBe(true);
    expect(res.restored).toBeGreaterThan(4 << 20);
  });

  test('200 back-to-back 64 MiB encryptChunkedAsync calls: memory is reused and RSS stays bounded', () => {
    // Bound: the pool's default limit (256 MiB cached) plus the outputs V8
    // keeps alive between collections (it collects on its external-memory
    // schedule, here every call or two) plus the input; measured ~400 MiB.
    const res = gcChild(
      `${PRELUDE}
(async () => {
  const key = crypto.randomBytes(32);
  const pt = crypto.randomBytes(64 << 20);
  const rss = () => process.memoryUsage().rss;
  let last = await T.encryptChunkedAsync(key, pt, { context: 'm' });
  await settle();
  const r0 = rss();
  let peak = r0;
  const s0 = T.outputMemory();
  for (let i = 0; i < 200; i++) { last = await T.encryptChunkedAsync(key, pt, { context: 'm' }); peak = Math.max(peak, rss()); }
  const s1 = T.outputMemory();
  const ok = T.decryptChunked(key, last, { context: 'm' }).equals(pt);
  console.log(JSON.stringify({ growthMiB: Math.round((peak - r0) / 2 ** 20), mapped: s1.mapped - s0.mapped, reused: s1.reused - s0.reused, ok }));
})();
`,
      300_000,
    );
    expect(res.ok).toBe(true);
    expect(res.reused).toBeGreaterThan(150);
    expect(res.mapped).toBeLessThan(50);
    expect(res.growthMiB).toBeLessThan(640);
  }, 300_000);
});
