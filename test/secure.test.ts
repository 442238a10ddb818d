/**
 * Secure key memory (docs/ARCHITECTURE.md "Keys and memory"):
 *   - `AeadKey` owns its key bytes in secure memory; JS never holds them
 *     unless the caller exports: the bytes are absent from a V8 heap snapshot.
 *   - `dispose()` zeroizes, and a finalizer zeroizes what the caller forgot
 *     (checked by reading the secure memory through testPeek).
 *   - Arenas are mlock'd (VmLck grows), guard-paged (touching the guard page
 *     kills the process with SIGSEGV) and MADV_WIPEONFORK (a forked child
 *     reads zeros while the parent keeps its key).
 *   - "Secure memory is pooled: many keys share locked pages (libsodium spends
 *     3-4 pages per allocation and fails after ~16k). Report locked bytes and
 *     any mlock failure instead of silently ignoring it": 10 000 keys fit in a
 *     few arenas, an mlock failure under a tiny RLIMIT_MEMLOCK is counted and
 *     warned about (TESSERA_MLOCK), and TESSERA_SECMEM_STRICT=1 turns it into
 *     a TesseraError ERR_SECURE_MEMORY.
 * The suite runs on the built package over the test build of the addon
 * (build/Release/tessera_test.node, test/test-build.cjs: the hooks testPeek,
 * testAddress, testForkSeesZero and testTouchGuard exist only there), and so
 * do its child processes (TEST_BUILD_ARGS).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { describe, expect, test } from 'vitest';

import { addon, root, T, TEST_BUILD_ARGS, TIER } from './tessera';

const ALGS = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'] as const;
const CJS = path.join(root, 'dist/cjs/index.js');
const NATIVE = path.join(root, 'dist/cjs/backend/native.js');
const PAGE = 4096n;

type Key = ReturnType<typeof T.AeadKey.generate>;
const addrOf = (k: Key): bigint => (T.AeadKey.handleOf(k) as unknown as { engineKey(): { testAddress(): bigint } }).engineKey().testAddress();
const peek = (addr: bigint, n: number): Buffer => addon.testPeek(addr, n) as Buffer;
const pattern = (seed: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (0x5a ^ (i * 7 + seed)) & 0xff);

/** A live key allocated in the same page as `addr`, so that page's arena stays mapped after `addr`'s key is freed. */
function keeperNear(addr: bigint, alive: Key[]): Key {
  for (let i = 0; i < 64; i++) {
    const k = T.AeadKey.generate('aes-256-gcm');
    alive.push(k);
    if (addrOf(k) / PAGE === addr / PAGE) return k;
  }
  throw new Error('no keeper key landed in the same page as the key under test');
}

function runNode(script: string, opts: { env?: Record<string, string>; prefix?: string[]; nodeArgs?: string[] } = {}) {
  const prefix = opts.prefix ?? [];
  const argv = [...prefix, process.execPath, ...TEST_BUILD_ARGS, ...(opts.nodeArgs ?? []), '-e', script];
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: root,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return r;
}

function lastJson(stdout: string): any {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

function vmLckKiB(): number {
  const m = /^VmLck:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no VmLck line in /proc/self/status');
  return Number(m[1]);
}

describe('zeroization', () => {
  test.each(ALGS)('%s: key bytes are in secure memory while alive and all zero after dispose()', (alg) => {
    const alive: Key[] = [];
    try {
      const bytes = pattern(ALGS.indexOf(alg));
      const key = T.AeadKey.import(alg, bytes);
      const addr = addrOf(key);
      keeperNear(addr, alive);
      expect(peek(addr, 32).equals(Buffer.from(bytes))).toBe(true);
      const sealed = key.seal(Buffer.from('x'));
      key.dispose();
      expect(key.disposed).toBe(true);
      // The whole 48-byte key area (key, and XAES's K1 subkey) reads zero.
      expect([...peek(addr, 48)].every((b) => b === 0)).toBe(true);
      expect(() => key.open(sealed)).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    } finally {
      for (const k of alive) k.dispose();
    }
  });

  test('`using` zeroizes at the end of the block', () => {
    const alive: Key[] = [];
    let ref: Key | undefined;
    let addr: bigint;
    {
      using key = T.AeadKey.import('aes-256-gcm', pattern(9));
      ref = key;
      addr = addrOf(key);
      keeperNear(addr, alive);
      expect(peek(addr, 32).equals(Buffer.from(pattern(9)))).toBe(true);
    }
    expect(ref!.disposed).toBe(true);
    expect([...peek(addr, 32)].every((b) => b === 0)).toBe(true);
    for (const k of alive) k.dispose();
  });

  // Child (or in-process with --expose-gc) check: a key dropped without
  // dispose() is zeroized once garbage collection finalizes it.
  const finalizerCheck = `
    const T = require(${JSON.stringify(CJS)});
    const addon = require(${JSON.stringify(NATIVE)}).loadAddon();
    const PAGE = 4096n;
    const pattern = Uint8Array.from({ length: 32 }, (_, i) => (0x5a ^ (i * 7 + 3)) & 0xff);
    const keepers = [];
    function make() {
      const k = T.AeadKey.import('aes-256-gcm', pattern);
      const addr = T.AeadKey.handleOf(k).engineKey().testAddress();
      for (let i = 0; i < 64; i++) {
        const kk = T.AeadKey.generate('aes-256-gcm');
        keepers.push(kk);
        if (T.AeadKey.handleOf(kk).engineKey().testAddress() / PAGE === addr / PAGE) return addr;
      }
      throw new Error('no keeper in the same page');
    }
    (async () => {
      const addr = make();
      const before = Buffer.from(addon.testPeek(addr, 32)).toString('hex');
      let zero = false, rounds = 0;
      for (; rounds < 50 && !zero; rounds++) {
        gc();
        await new Promise((r) => setImmediate(r));
        zero = addon.testPeek(addr, 32).every((b) => b === 0);
      }
      console.log(JSON.stringify({ before, expected: Buffer.from(pattern).toString('hex'), zero, rounds, keepers: keepers.length }));
    })().catch((e) => { console.error(e); process.exit(1); });`;

  test('finalizer: a key dropped without dispose() is zeroized after garbage collection', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    let out: { before: string; expected: string; zero: boolean };
    if (typeof gc === 'function') {
      const alive: Key[] = [];
      const make = (): bigint => {
        const k = T.AeadKey.import('aes-256-gcm', pattern(3));
        const a = addrOf(k);
        keeperNear(a, alive);
        return a;
      };
      const addr = make();
      const before = peek(addr, 32).toString('hex');
      let zero = false;
      for (let i = 0; i < 50 && !zero; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
        zero = peek(addr, 32).every((b) => b === 0);
      }
      for (const k of alive) k.dispose();
      out = { before, expected: Buffer.from(pattern(3)).toString('hex'), zero };
    } else {
      // vitest's forks pool runs without --expose-gc: do the check in a child.
      const r = runNode(finalizerCheck, { nodeArgs: ['--expose-gc'] });
      expect(r.status, r.stderr).toBe(0);
      out = lastJson(r.stdout);
    }
    expect(out.before).toBe(out.expected); // the pattern was there while the key lived
    expect(out.zero).toBe(true); // and is gone after the finalizer ran
  });
});

describe('the key never enters the JS heap', () => {
  test('key bytes (hex, base64, latin1) are absent from a V8 heap snapshot while the key is alive; a live hex string is found', async () => {
    let bytes: Uint8Array;
    do bytes = new Uint8Array(randomBytes(32));
    while (bytes.includes(0)); // NUL would be rewritten in snapshot names
    const copy = Buffer.alloc(32); // off-heap copy to build the needles from *after* the snapshot
    copy.set(bytes);
    const key = T.AeadKey.import('aes-256-gcm', bytes);
    bytes.fill(0);
    const control = { secret: randomBytes(32).toString('hex') }; // positive control: a live string

    const chunks: string[] = [];
    for await (const c of v8.getHeapSnapshot()) chunks.push(typeof c === 'string' ? c : c.toString('utf8'));
    const text = chunks.join('');
    chunks.length = 0;

    // Key still alive and usable after the snapshot.
    expect(Buffer.from(key.open(key.seal(Buffer.from('alive')))).toString()).toBe('alive');
    const strings: string[] = JSON.parse(text).strings;
    expect(strings.length).toBeGreaterThan(1000);
    const found = (needle: string) => text.includes(needle) || strings.some((s) => s.includes(needle));

    expect(found(control.secret)).toBe(true);
    expect(found(copy.toString('hex'))).toBe(false);
    expect(found(copy.toString('hex').toUpperCase())).toBe(false);
    expect(found(copy.toString('base64'))).toBe(false);
    expect(found(copy.toString('base64url'))).toBe(false);
    expect(found(copy.toString('latin1'))).toBe(false);
    // Sanity: the searched key really is the imported one.
    expect(Buffer.from(key.exportKey()).equals(copy)).toBe(true);
    key.dispose();
  });
});

describe('fork and guard pages', () => {
  test('wipe-on-fork: a forked child reads the key as zeros; the parent keeps it and keeps working', () => {
    const key = T.AeadKey.import('chacha20-poly1305', pattern(5));
    const addr = addrOf(key);
    const stats = T.secureMemoryStats();
    expect(stats.wipeOnFork).toBe(process.platform === 'linux');
    expect(process.platform).toBe('linux'); // this suite targets Linux (MADV_WIPEONFORK)
    expect(addon.testForkSeesZero(addr, 32)).toBe(true);
    expect(peek(addr, 32).equals(Buffer.from(pattern(5)))).toBe(true);
    const sealed = key.seal(Buffer.from('after fork'));
    expect(Buffer.from(key.open(sealed)).toString()).toBe('after fork');
    key.dispose();
  });

  const guardScript = (touch: boolean) => `
    const T = require(${JSON.stringify(CJS)});
    const addon = require(${JSON.stringify(NATIVE)}).loadAddon();
    const key = T.AeadKey.generate('aes-256-gcm');
    const addr = T.AeadKey.handleOf(key).engineKey().testAddress();
    ${touch ? 'addon.testTouchGuard(addr);' : ''}
    console.log('survived');`;

  test('touching the guard page after an arena kills the process with SIGSEGV', () => {
    const r = runNode(guardScript(true));
    expect(r.stdout).not.toContain('survived');
    expect(r.status).toBe(null);
    expect(r.signal).toBe('SIGSEGV');
  });

  test('control: the same child without the touch exits 0', () => {
    const r = runNode(guardScript(false));
    expect(r.signal).toBe(null);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('survived');
  });
});

describe('locked, pooled arenas', () => {
  test('secureMemoryStats fields and types; no mlock failure under the normal limit', () => {
    const key = T.AeadKey.generate('aes-256-gcm');
    const s = T.secureMemoryStats();
    for (const f of ['lockedBytes', 'mappedBytes', 'allocations', 'arenas', 'mlockFailures', 'memlockLimit'] as const) {
      expect(typeof s[f], f).toBe('number');
      expect(s[f], f).toBeGreaterThanOrEqual(0);
    }
    for (const f of ['memfdSecret', 'wipeOnFork', 'dontDump'] as const) expect(typeof s[f], f).toBe('boolean');
    expect(Object.keys(s).sort()).toEqual(
      ['allocations', 'arenas', 'dontDump', 'lockedBytes', 'mappedBytes', 'memfdSecret', 'memlockLimit', 'mlockFailures', 'wipeOnFork'].sort(),
    );
    expect(s.arenas).toBeGreaterThanOrEqual(1);
    expect(s.allocations).toBeGreaterThanOrEqual(1);
    expect(s.lockedBytes).toBeGreaterThanOrEqual(65536);
    expect(s.mappedBytes).toBeGreaterThan(s.lockedBytes); // guard pages are mapped, not locked
    expect(s.mlockFailures).toBe(0);
    expect(s.dontDump).toBe(true);
    expect(s.memfdSecret).toBe(false); // not requested (TESSERA_SECMEM unset)
    key.dispose();
  });

  test('VmLck, lockedBytes and arenas grow with 5000 live keys and return to baseline after dispose', () => {
    const base = T.secureMemoryStats();
    const lck0 = vmLckKiB();
    const keys = Array.from({ length: 5000 }, () => T.AeadKey.generate('aes-256-gcm'));
    const s = T.secureMemoryStats();
    const lck1 = vmLckKiB();
    expect(s.allocations).toBe(base.allocations + 5000);
    expect(s.arenas).toBeGreaterThan(base.arenas);
    expect(s.lockedBytes - base.lockedBytes).toBeGreaterThanOrEqual(65536 * (s.arenas - base.arenas));
    expect(lck1 - lck0).toBeGreaterThanOrEqual(64);
    expect(lck1 - lck0).toBeGreaterThanOrEqual((s.lockedBytes - base.lockedBytes) / 1024);
    for (const k of keys) k.dispose();
    const e = T.secureMemoryStats();
    expect(e.allocations).toBe(base.allocations);
    expect(e.arenas).toBe(base.arenas);
    expect(e.lockedBytes).toBe(base.lockedBytes);
    expect(vmLckKiB()).toBe(lck0);
  });

  test('10 000 live keys share locked pages: under half a page per key (an allocator with guard pages per key spends 3-4)', () => {
    const base = T.secureMemoryStats();
    const keys = Array.from({ length: 10_000 }, (_, i) => T.AeadKey.generate(ALGS[i % 4]!));
    const s = T.secureMemoryStats();
    expect(s.allocations - base.allocations).toBe(10_000);
    // On the kernel tiers a key holds its whole key state (AES round keys and
    // the powers of H: 0.9-1.6 KiB; ChaCha20-Poly1305: ~1 KiB); the openssl
    // tier holds 48 bytes. Either way pages are shared, never one mapping per key.
    const pagesPerKey = (s.mappedBytes - base.mappedBytes) / 4096 / 10_000;
    expect(pagesPerKey).toBeLessThan(0.5);
    expect(s.arenas).toBeLessThan(TIER === 'openssl' ? 50 : 250);
    expect(s.mlockFailures).toBe(0);
    // Every key still works.
    for (const i of [0, 1, 2, 3, 4999, 9999]) {
      const k = keys[i]!;
      expect(Buffer.from(k.open(k.seal(Buffer.from([i & 0xff])))).equals(Buffer.from([i & 0xff]))).toBe(true);
    }
    for (const k of keys) k.dispose();
    expect(T.secureMemoryStats().allocations).toBe(base.allocations);
  });

  // RLIMIT_MEMLOCK does not bind a process with CAP_IPC_LOCK (e.g. root in a
  // container), so drop that capability from the child when we hold it.
  function memlockPrefix(limit: number): string[] {
    const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
    const hasIpcLock = (BigInt('0x' + capEff) >> 14n) & 1n;
    const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
    const lim = has('prlimit') ? ['prlimit', `--memlock=${limit}:${limit}`] : ['bash', '-c', `ulimit -l ${limit / 1024}; exec "$@"`, 'bash'];
    if (!hasIpcLock) return lim;
    if (has('setpriv')) return ['setpriv', '--bounding-set=-ipc_lock', ...lim];
    if (has('capsh')) return ['capsh', '--drop=cap_ipc_lock', '--', '-c', 'exec "$@"', 'capsh', ...lim];
    throw new Error('running with CAP_IPC_LOCK and neither setpriv nor capsh is available to drop it');
  }

  const memlockScript = `
    const warnings = [];
    process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));
    const T = require(${JSON.stringify(CJS)});
    const keys = [];
    let err = null;
    try {
      for (let i = 0; i < 3000; i++) keys.push(T.AeadKey.generate('aes-256-gcm'));
    } catch (e) {
      err = { code: e.code, isTesseraError: e instanceof T.TesseraError, created: keys.length };
    }
    const last = keys[keys.length - 1];
    const ok = Buffer.from(last.open(last.seal(Buffer.from('hi')))).toString() === 'hi';
    setImmediate(() => console.log(JSON.stringify({ stats: T.secureMemoryStats(), warnings, err, ok })));`;

  test('tiny RLIMIT_MEMLOCK: mlock failures are counted and a TESSERA_MLOCK warning is emitted', () => {
    const r = runNode(memlockScript, { prefix: memlockPrefix(65536) });
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.stats.memlockLimit).toBe(65536);
    expect(out.err).toBe(null); // non-strict: allocation degrades, does not fail
    expect(out.ok).toBe(true);
    expect(out.stats.mlockFailures).toBeGreaterThan(0);
    expect(out.stats.lockedBytes).toBeLessThanOrEqual(65536);
    expect(out.stats.allocations).toBeGreaterThanOrEqual(3000);
    expect(out.warnings.some((w: { code: string }) => w.code === 'TESSERA_MLOCK')).toBe(true);
  });

  test('tiny RLIMIT_MEMLOCK with TESSERA_SECMEM_STRICT=1: key creation throws TesseraError ERR_SECURE_MEMORY', () => {
    const r = runNode(memlockScript, { prefix: memlockPrefix(65536), env: { TESSERA_SECMEM_STRICT: '1' } });
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.err).not.toBe(null);
    expect(out.err.code).toBe('ERR_SECURE_MEMORY');
    expect(out.err.isTesseraError).toBe(true);
    expect(out.err.created).toBeGreaterThan(0); // the first, lockable arena was used
    expect(out.err.created).toBeLessThan(3000);
    expect(out.stats.mlockFailures).toBeGreaterThan(0);
    expect(out.stats.lockedBytes).toBe(out.stats.arenas * 65536); // strict: every live arena is locked
    expect(out.ok).toBe(true); // keys made before the failure still work
  });
});
