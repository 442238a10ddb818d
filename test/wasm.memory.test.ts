/**
 * Key memory of the WASM backend (docs/ARCHITECTURE.md;
 * native/wasm/tsr_wasm_mem.c): keys and everything derived from them live in
 * the module's dedicated key region, which is zeroized when a key is
 * disposed and, for keys the caller forgot, when the FinalizationRegistry
 * frees them after garbage collection; a full region is ERR_SECURE_MEMORY,
 * never ordinary memory; plaintext copies do not stay in linear memory.
 * Runs in the wasm project (TESSERA_BACKEND=wasm).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';

import { BACKEND, front, getBackend, T } from './tessera';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

type Wasm = import('../dist/cjs/backend/wasm').WasmBackend;
const b = front.engineOf(getBackend()) as Wasm;

/** Offsets in the key region where `needle` occurs. */
function find(needle: Uint8Array): number[] {
  const x = b.engine.x;
  const base = x.tsr_wasm_key_region(),
    size = x.tsr_wasm_key_region_size();
  const hay = b.engine.u8.subarray(base, base + size);
  const hits: number[] = [];
  for (let i = hay.indexOf(needle[0]!); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(needle[0]!, i + 1)) {
    let ok = true;
    for (let j = 1; j < needle.length && ok; j++) ok = hay[i + j] === needle[j];
    if (ok) hits.push(i);
  }
  return hits;
}

/** A key pattern no other key in the region has. */
function pattern(tag: number): Uint8Array {
  const k = new Uint8Array(32);
  for (let i = 0; i < 32; i++) k[i] = (tag * 31 + i * 7 + 1) & 0xff;
  return k;
}

describe('WASM key region', () => {
  test('runs on the wasm backend', () => {
    expect(BACKEND).toBe('wasm');
    const s = T.secureMemoryStats();
    expect(s).toMatchObject({ lockedBytes: 0, mlockFailures: 0, arenas: 1, wipeOnFork: false, dontDump: false });
    expect(s.mappedBytes).toBe(4 << 20);
  });

  test('an imported key sits in the key region; dispose() zeroizes it (and its schedule)', () => {
    for (const alg of T.ALGORITHMS) {
      const bytes = pattern(1);
      const before = T.secureMemoryStats().allocations;
      const key = T.AeadKey.import(alg, bytes);
      expect(find(bytes).length, alg).toBe(1);
      // Nothing of the scratch copy stays behind: the one hit is in the key region.
      const u8 = b.engine.u8;
      const scratch = b.engine.x.tsr_wasm_scratch(0);
      let inScratch = false;
      for (let i = scratch; i + 32 <= scratch + 4096 && !inScratch; i++)
        inScratch = u8[i] === bytes[0] && u8.subarray(i, i + 32).every((v, j) => v === bytes[j]);
      expect(inScratch, alg).toBe(false);
      expect(T.secureMemoryStats().allocations).toBe(before + 1);
      key.open(key.seal(new Uint8Array(100)));
      key.dispose();
      expect(find(bytes), alg).toEqual([]);
      expect(T.secureMemoryStats().allocations).toBe(before);
      expect(() => key.seal(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    }
  });

  test('a key the caller forgets is zeroized after garbage collection (FinalizationRegistry)', async () => {
    const bytes = pattern(2);
    const before = T.secureMemoryStats().allocations;
    (() => {
      const key = T.AeadKey.import('xaes-256-gcm', bytes);
      key.seal(new Uint8Array(10));
    })();
    expect(find(bytes).length).toBe(1);
    for (let i = 0; i < 20 && find(bytes).length > 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(find(bytes)).toEqual([]);
    expect(T.secureMemoryStats().allocations).toBe(before);
  });

  test('Cobblestone handles keep derived keys in the region and wipe them', async () => {
    const before = T.secureMemoryStats().allocations;
    const key = pattern(3);
    const ct = await T.encryptChunkedAsync(key, new Uint8Array(3 << 20), { context: 'mem', threads: 2 });
    const pt = T.decryptChunked(key, ct, { context: 'mem' });
    expect(pt.length).toBe(3 << 20);
    expect(find(key)).toEqual([]); // the input key was copied for derivation only and wiped
    expect(T.secureMemoryStats().allocations).toBe(before);
  });

  test('plaintext does not stay in linear memory after each seal / open', async () => {
    const marker = new TextEncoder().encode('tessera-plaintext-marker-7f3a9c');
    const pt = new Uint8Array(64 * 1024);
    for (let i = 0; i + marker.length <= pt.length; i += 4096) pt.set(marker, i);
    const left = () => {
      const all = b.engine.u8;
      return Buffer.from(all.buffer, all.byteOffset, all.byteLength).indexOf(Buffer.from(marker)) >= 0;
    };
    const key = T.AeadKey.generate('aes-256-gcm');
    const raw = pattern(5),
      nonce = new Uint8Array(12);
    const steps: [string, () => unknown][] = [];
    let msg!: Uint8Array, sealed!: Uint8Array, ct!: Uint8Array;
    steps.push(['AeadKey.seal', () => (msg = key.seal(pt))]);
    steps.push(['AeadKey.open', () => key.open(msg)]);
    steps.push(['aead.seal', () => (sealed = T.aead.seal('chacha20-poly1305', raw, nonce, pt))]);
    steps.push(['aead.open', () => T.aead.open('chacha20-poly1305', raw, nonce, sealed)]);
    steps.push(['encryptChunked', () => (ct = T.encryptChunked(raw, pt, { context: '' }))]);
    steps.push(['decryptChunked', () => T.decryptChunked(raw, ct, { context: '' })]);
    for (const [what, run] of steps) {
      run();
      expect(left(), what).toBe(false);
    }
    await T.decryptChunkedAsync(raw, ct, { context: '', threads: 1 });
    expect(left(), 'decryptChunkedAsync').toBe(false);
    key.dispose();
  });

  test('a full key region is ERR_SECURE_MEMORY (never ordinary memory), and space comes back on dispose', () => {
    const keys: import('../dist/cjs/index').AeadKey[] = [];
    let err: any;
    try {
      for (let i = 0; i < 10_000; i++) keys.push(T.AeadKey.generate('aes-256-gcm'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(T.TesseraError);
    expect(err.code).toBe('ERR_SECURE_MEMORY');
    expect(keys.length).toBeGreaterThan(1000); // ~2.7 KiB per context in 4 MiB
    for (const k of keys) k.dispose();
    const k = T.AeadKey.generate('aes-256-gcm');
    expect(k.open(k.seal(new Uint8Array(3))).length).toBe(3);
    k.dispose();
  });
});
