/**
 * Native kernel dispatch (docs/KERNELS.md; native/aead/tsr_kernel.c):
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

import { BACKEND, codeOf, makeBackend, root, T, TEST_BUILD_ARGS, TIER } from './tessera';

const cpuFlags = new Set(
  (
    fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags')) ?? ''
  )
    .split(':')[1]
    ?.trim()
    .split(/\s+/),
);
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

/** A child node running code on the package; testBuild: on the test build of the addon (TSR_TEST_CPU_MASK works there only). */
function node(code: string, env: Record<string, string>, testBuild = false) {
  const args = [...(testBuild ? TEST_BUILD_ARGS : []), '-e', code];
  const r = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, TESSERA_BACKEND: 'native', ...env }, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}

describe.runIf(BACKEND === 'native')('native kernels', () => {
  test('nativeKernels() reports the tier this project runs (TESSERA_NATIVE_KERNEL, or the best one the CPU has)', () => {
    const want = process.env.TESSERA_NATIVE_KERNEL && process.env.TESSERA_NATIVE_KERNEL !== 'auto' ? process.env.TESSERA_NATIVE_KERNEL : supported[0]!; // 'openssl' at least
    expect(T.nativeKernels()).toEqual({ 'aes-256-gcm': want, 'chacha20-poly1305': chachaOf(want), 'xchacha20-poly1305': chachaOf(want), 'xaes-256-gcm': want });
    expect(TIER).toBe(want);
  });

  test('every tier this CPU runs gives identical bytes, and keys keep the tier they were made with', () => {
    const key = crypto.randomBytes(32),
      aad = crypto.randomBytes(33);
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
    // Tiers this CPU really lacks, in this process.
    for (const tier of ['vaes512', 'vaes256', 'aesni'].filter((t) => !supported.includes(t)))
      expect(codeOf(() => T.useNativeKernel(tier as 'auto'))).toBe('ERR_BACKEND');
    // A smaller CPU, played by the test build of the addon: TSR_TEST_CPU_MASK
    // clears feature bits of native/aead/tsr_cpu.h (and the bits that need
    // them) before the tiers are resolved.
    const cases = [
      { mask: '10', tier: 'vaes512', lacks: 'AVX-512 (F, BW, VL) with VAES and VPCLMULQDQ, enabled by the OS', gone: ['vaes512'] }, // TSR_CPU_VAES512
      { mask: '4', tier: 'vaes256', lacks: 'AVX2 with VAES and VPCLMULQDQ, enabled by the OS', gone: ['vaes512', 'vaes256'] }, // TSR_CPU_VAES256
      { mask: '1', tier: 'aesni', lacks: 'AES-NI with PCLMULQDQ and SSE4.1', gone: ['vaes512', 'vaes256', 'aesni'] }, // TSR_CPU_AESNI
    ];
    const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const probe = (tier: string) => `
      const t = require('./dist/cjs/index.js'); const out = {};
      const attempt = (name, f) => { try { const v = f(); out[name] = v === undefined ? 'ok' : v; } catch (e) { out[name] = e.code + ': ' + e.message; } };
      attempt('generate', () => { t.AeadKey.generate('aes-256-gcm').dispose(); });
      attempt('use', () => t.useNativeKernel(${JSON.stringify(tier)}));
      attempt('auto', () => { t.useNativeKernel('auto'); return t.nativeKernels(); });
      attempt('trip', () => { const k = t.AeadKey.generate('xaes-256-gcm'); const r = Buffer.from(k.open(k.seal(Buffer.from('ok')))).toString(); k.dispose(); return r; });
      console.log(JSON.stringify(out));`;
    for (const c of cases) {
      const next = supported.find((t) => !c.gone.includes(t))!;
      const kernels = { 'aes-256-gcm': next, 'chacha20-poly1305': chachaOf(next), 'xchacha20-poly1305': chachaOf(next), 'xaes-256-gcm': next };
      // TESSERA_NATIVE_KERNEL names the missing tier: every key is ERR_BACKEND
      // saying what the CPU lacks, and so is useNativeKernel(tier); 'auto'
      // then runs on the next tier down.
      const r = node(probe(c.tier), { TESSERA_NATIVE_KERNEL: c.tier, TSR_TEST_CPU_MASK: c.mask }, true);
      expect(r.signal, r.stderr).toBe(null);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(out.generate).toMatch(new RegExp(`^ERR_BACKEND: .*TESSERA_NATIVE_KERNEL=${c.tier}: this CPU lacks ${esc(c.lacks)}$`));
      expect(out.use).toBe(`ERR_BACKEND: native kernel ${c.tier}: this CPU lacks ${c.lacks}`);
      expect(out.auto, c.tier).toEqual(kernels);
      expect(out.trip).toBe('ok');
      // TESSERA_NATIVE_KERNEL=auto: the process default is the next tier down.
      const a = node(
        `const t = require('./dist/cjs/index.js'); console.log(JSON.stringify(t.nativeKernels()));`,
        { TESSERA_NATIVE_KERNEL: 'auto', TSR_TEST_CPU_MASK: c.mask },
        true,
      );
      expect(a.status, a.stderr).toBe(0);
      expect(JSON.parse(a.stdout.trim().split('\n').pop()!), c.tier).toEqual(kernels);
    }
  });

  test('the WASM backend reports its one kernel and refuses native tiers', () => {
    const w = makeBackend('wasm');
    expect(w.kernels()).toEqual({ 'aes-256-gcm': 'wasm', 'chacha20-poly1305': 'wasm', 'xchacha20-poly1305': 'wasm', 'xaes-256-gcm': 'wasm' });
    expect(codeOf(() => w.setKernel('vaes512'))).toBe('ERR_BACKEND');
  });
});
