// SecureBuffer (lib/secure.ts): caller-visible secure memory.
// Proves: views write straight into secure memory, dispose() zeroizes that
// memory and detaches every view, GC frees forgotten buffers, sizes are
// checked, and a SecureBuffer feeds AeadKey.import without a heap copy.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { addon, codeOf, root, T } from './tessera';

const stats = () => T.secureMemoryStats();

describe('SecureBuffer', () => {
  test('alloc is zeroed, from copies, bytes views the same secure memory', () => {
    using a = T.SecureBuffer.alloc(48);
    expect(a.length).toBe(48);
    expect([...a.bytes].every((b) => b === 0)).toBe(true);
    const src = Buffer.alloc(40, 0x3c);
    using b = T.SecureBuffer.from(src);
    src.fill(0);
    expect(Buffer.from(b.bytes).equals(Buffer.alloc(40, 0x3c))).toBe(true);
    b.bytes[0] = 7; // a second view sees the write: one backing store
    expect(b.bytes[0]).toBe(7);
    const addr = addon.testBufferAddress(b.bytes.buffer) as bigint;
    expect(Buffer.from(addon.testPeek(addr, 40)).equals(Buffer.from(b.bytes))).toBe(true);
  });

  test('dispose zeroizes the secure memory, detaches views, frees the allocation', () => {
    using keepArena = T.SecureBuffer.alloc(16); // keeps the arena mapped for the peek
    const before = stats().allocations;
    const sb = T.SecureBuffer.from(Buffer.alloc(64, 0xa5));
    expect(stats().allocations).toBe(before + 1);
    const view = sb.bytes;
    const addr = addon.testBufferAddress(view.buffer) as bigint;
    expect(addon.testPeek(addr, 64)[0]).toBe(0xa5);
    sb.dispose();
    expect(view.length).toBe(0); // detached: no view reaches freed memory
    expect(view.buffer.byteLength).toBe(0);
    expect([...addon.testPeek(addr, 64)].every((x: number) => x === 0)).toBe(true);
    expect(stats().allocations).toBe(before);
    expect(sb.disposed).toBe(true);
    expect(codeOf(() => sb.bytes)).toBe('ERR_DISPOSED');
    sb.dispose(); // idempotent
    expect(keepArena.length).toBe(16);
  });

  test('garbage collection frees SecureBuffers that were never disposed', () => {
    const script = `
      const t = require(${JSON.stringify(root + '/dist/cjs/index.js')});
      const base = t.secureMemoryStats().allocations;
      (() => { for (let i = 0; i < 2000; i++) t.SecureBuffer.alloc(64).bytes[0] = 1; })();
      const peak = t.secureMemoryStats().allocations - base;
      global.gc();
      setTimeout(() => { global.gc(); setTimeout(() => {
        console.log(JSON.stringify({ peak, after: t.secureMemoryStats().allocations - base }));
      }, 50); }, 50);`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { peak, after } = JSON.parse(r.stdout);
    expect(peak).toBeGreaterThan(0);
    expect(after).toBeLessThan(peak);
    expect(after).toBe(0);
  });

  test('sizes are checked; from() wants a Uint8Array', () => {
    for (const n of [0, -1, 1.5, 2 ** 20 + 1, Number.NaN]) expect(codeOf(() => T.SecureBuffer.alloc(n))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.SecureBuffer.alloc('32' as unknown as number))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.SecureBuffer.from('secret' as unknown as Uint8Array))).toBe('ERR_ARGUMENT');
    using big = T.SecureBuffer.alloc(2 ** 20);
    expect(big.length).toBe(2 ** 20);
  });

  test('a SecureBuffer key imports into AeadKey and is independent of it afterwards', () => {
    using raw = T.SecureBuffer.from(Buffer.alloc(32, 0x11));
    using key = T.AeadKey.import('xaes-256-gcm', raw.bytes);
    const msg = key.seal(Buffer.from('hello'));
    raw.dispose();
    expect(Buffer.from(key.open(msg)).toString()).toBe('hello');
    using again = T.AeadKey.import('xaes-256-gcm', Buffer.alloc(32, 0x11));
    expect(Buffer.from(again.open(msg)).toString()).toBe('hello');
  });
});
