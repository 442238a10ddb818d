/**
 * Native kernel dispatch (README "Native kernels"; native/aead/tsr_kernel.c):
 * nativeKernels() names the tier each algorithm runs on, chosen from the CPU
 * (CPUID + XGETBV) or TESSERA_NATIVE_KERNEL; useNativeKernel() switches the
 * tier of keys made afterwards, and keys keep the tier they were made with;
 * every tier produces the same bytes; a tier that cannot run is ERR_BACKEND
 * with the reason, never a crash or a silent fallback.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { describe, expect, test } from 'vitest';

import { BACKEND, codeOf, makeBackend, root, T, TIER } from './tessera';

const cpuFlags = new Set((fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? '').split(':')[1]?.trim().split(/\s+/));
const has = (...f: string[]) => f.every((x) => cpuFlags.has(x));
/** The tiers this CPU runs, best first (what tsr_kernel_resolve computes from CPUID). */
const supported = [
  ...(has('vaes', 'vpclmulqdq', 'avx512f', 'avx512bw', 'avx512vl') ? ['vaes512'] : []),
  ...(has('vaes', 'vpclmulqdq', 'avx2') ? ['vaes256'] : []),
  ...(has('aes', 'pclmulqdq', 'sse4_1') ? ['aesni'] : []),
  'openssl',
];
const chachaOf = (tier: string) =>
  tier === 'openssl' ? 'openssl' : tier === 'vaes512' ? (has('avx512ifma') ? 'avx512+ifma' : 'avx512') : has('avx2') ? 'avx2' : 'openssl';

function node(code: string, env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, env: { ...process.env, TESSERA_BACKEND: 'native', ...env }, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}

describe.runIf(BACKEND === 'native')('native kernels', () => {
  test('nativeKernels() reports the tier this project runs (TESSERA_NATIVE_KERNEL, or the best one the CPU has)', () => {
    const want = process.env.TESSERA_NATIVE_KERNEL && process.env.TESSERA_NATIVE_KERNEL !== 'auto' ? process.env.TESSERA_NATIVE_KERNEL : supported[0];
    expect(T.nativeKernels()).toEqual({ 'aes-256-gcm': want, 'chacha20-poly1305': chachaOf(want), 'xchacha20-poly1305': chachaOf(want), 'xaes-256-gcm': want });
    expect(TIER).toBe(want);
  });

  test('every tier this CPU runs gives identical bytes, and keys keep the tier they were made with', () => {
    const key = crypto.randomBytes(32), aad = crypto.randomBytes(33);
    for (const alg of T.ALGORITHMS) {
      const nonce = crypto.randomBytes(alg.startsWith('x') ? 24 : 12);
      for (const len of [0, 1, 15, 16, 17, 255, 4096 + 7, 70_000, 300_000]) {
        const pt = crypto.randomBytes(len);
        const outs = supported.map((tier) => {
          T.useNativeKernel(tier as 'openssl');
          try {
            expect(T.nativeKernels()['aes-256-gcm']).toBe(tier);
            return Buffer.from(T.aead.seal(alg, key, nonce, pt, aad)).toString('hex');
          } finally {
            T.useNativeKernel((process.env.TESSERA_NATIVE_KERNEL || 'auto') as 'auto');
          }
        });
        expect(new Set(outs).size, `${alg} ${len}`).toBe(1);
      }
    }
    // A key made on one tier keeps it after the default changes.
    T.useNativeKernel('openssl');
    const k = T.AeadKey.generate('aes-256-gcm');
    T.useNativeKernel((process.env.TESSERA_NATIVE_KERNEL || 'auto') as 'auto');
    const msg = k.seal(Buffer.from('kept'));
    T.useNativeKernel(supported[0] as 'auto');
    expect(Buffer.from(k.open(msg)).toString()).toBe('kept');
    T.useNativeKernel((process.env.TESSERA_NATIVE_KERNEL || 'auto') as 'auto');
    k.dispose();
  });

  test('unknown tiers are ERR_BACKEND, from useNativeKernel and from TESSERA_NATIVE_KERNEL', () => {
    expect(codeOf(() => T.useNativeKernel('vaes1024' as 'auto'))).toBe('ERR_BACKEND');
    const r = node(
      `const t = require('./dist/cjs/index.js'); const out = [];
       for (const f of [() => t.AeadKey.generate('aes-256-gcm'), () => t.aead.seal('chacha20-poly1305', new Uint8Array(32), new Uint8Array(12), new Uint8Array(1)), () => t.nativeKernels()]) {
         try { f(); out.push('ok'); } catch (e) { out.push(e.code + ': ' + e.message); }
       }
       console.log(JSON.stringify(out));`,
      { TESSERA_NATIVE_KERNEL: 'fastest' },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
    for (const o of out) expect(o).toMatch(/^ERR_BACKEND: .*TESSERA_NATIVE_KERNEL must be auto, vaes512, vaes256, aesni or openssl/);
  });

  test('a tier the CPU cannot run is ERR_BACKEND naming what it lacks (never SIGILL)', () => {
    const missing = ['vaes512', 'vaes256', 'aesni'].filter((t) => !supported.includes(t));
    for (const tier of missing) {
      expect(codeOf(() => T.useNativeKernel(tier as 'auto'))).toBe('ERR_BACKEND');
      const r = node(`const t = require('./dist/cjs/index.js'); try { t.AeadKey.generate('aes-256-gcm'); console.log('ok'); } catch (e) { console.log(e.code + ': ' + e.message); }`, { TESSERA_NATIVE_KERNEL: tier });
      expect(r.stdout.trim()).toMatch(new RegExp(`^ERR_BACKEND: .*TESSERA_NATIVE_KERNEL=${tier}: this CPU lacks `));
    }
    // On this machine kind every tier runs: then the check above has nothing to try, which the next line states.
    expect(missing.length + supported.length).toBe(4);
  });

  test('the WASM backend reports its one kernel and refuses native tiers', () => {
    const w = makeBackend('wasm');
    expect(w.kernels()).toEqual({ 'aes-256-gcm': 'wasm', 'chacha20-poly1305': 'wasm', 'xchacha20-poly1305': 'wasm', 'xaes-256-gcm': 'wasm' });
    expect(codeOf(() => w.setKernel('vaes512'))).toBe('ERR_BACKEND');
  });
});
