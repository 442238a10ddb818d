/**
 * The package as users get it (docs/ARCHITECTURE.md "Layers", "Builds"):
 * the ESM and CommonJS entry points of 'tessera' resolve and
 * work from a real node process, the root entry exports the public API and
 * no internal name, both hand out the same TesseraError class
 * (no dual-package hazard for `instanceof`), the `tessera` CLI self-tests
 * every algorithm, package.json declares engines/exports/bin, the addon uses
 * Node's own exported OpenSSL ("no system libssl ... never link libcrypto
 * dynamically": no libcrypto/libssl in its dynamic dependencies, EVP symbols
 * left undefined for the node binary), the browser/default conditions
 * point at the WASM-only ES module build, and backend selection is explicit
 * (useBackend, TESSERA_BACKEND) with the one automatic fallback (no addon ->
 * wasm) announced by a warning. The addon `npm install` builds
 * (build/Release/tessera.node) carries no test hook: not in its symbols or
 * strings, not exported whatever the environment says, and the package
 * refuses the test build (tessera_test.node) unless a test names it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';

import { root, T, TEST_ADDON_FILE } from './tessera';

const require = createRequire(import.meta.url);

function node(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, TESSERA_BACKEND: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

describe('entry points', () => {
  test('ESM: import from "tessera" gives the native backend and a working round trip', () => {
    const r = node([
      '--input-type=module',
      '-e',
      `import { aead, AeadKey, TesseraError, backend, ALGORITHMS, secureMemoryStats } from 'tessera';
       const out = { backend: backend(), algs: ALGORITHMS, trips: {}, raw: null, err: null, stats: typeof secureMemoryStats().lockedBytes };
       for (const alg of ALGORITHMS) {
         const k = AeadKey.generate(alg);
         out.trips[alg] = new TextDecoder().decode(k.open(k.seal(new TextEncoder().encode('esm ' + alg))));
         k[Symbol.dispose]();
       }
       const key = new Uint8Array(32).fill(1), nonce = new Uint8Array(12).fill(2);
       out.raw = new TextDecoder().decode(aead.open('aes-256-gcm', key, nonce, aead.seal('aes-256-gcm', key, nonce, new TextEncoder().encode('raw'))));
       try { AeadKey.generate('aes-128-gcm'); } catch (e) { out.err = { isTE: e instanceof TesseraError, code: e.code }; }
       console.log(JSON.stringify(out));`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.backend).toBe('native');
    expect(out.algs).toEqual(['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm']);
    for (const alg of out.algs) expect(out.trips[alg]).toBe(`esm ${alg}`);
    expect(out.raw).toBe('raw');
    expect(out.err).toEqual({ isTE: true, code: 'ERR_ALGORITHM' });
    expect(out.stats).toBe('number');
  });

  test('CJS: require("tessera") gives the native backend and a working round trip', () => {
    const r = node([
      '-e',
      `const t = require('tessera');
       const k = t.AeadKey.generate('chacha20-poly1305');
       const s = k.sealToString(Buffer.from('cjs'));
       const out = { backend: t.backend(), text: s.slice(0, 5), trip: Buffer.from(k.openString(s)).toString(),
                     resolved: require.resolve('tessera'), err: null };
       try { k.openString('tsr1.!!'); } catch (e) { out.err = { isTE: e instanceof t.TesseraError, code: e.code, name: e.name }; }
       k.dispose();
       console.log(JSON.stringify(out));`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({ backend: 'native', text: 'tsr1.', trip: 'cjs' });
    expect(out.resolved).toBe(path.join(root, 'dist/cjs/index.js'));
    expect(out.err).toEqual({ isTE: true, code: 'ERR_FORMAT', name: 'TesseraError' });
  });

  test('ESM import and createRequire("tessera") share one TesseraError constructor and one addon', () => {
    const r = node([
      '--input-type=module',
      '-e',
      `import * as esm from 'tessera';
       import { createRequire } from 'node:module';
       const require = createRequire(import.meta.url);
       const cjs = require('tessera');
       const k = esm.AeadKey.generate('aes-256-gcm');
       let caught;
       try { cjs.AeadKey.generate('aes-256-gcm').open(new Uint8Array(3)); } catch (e) { caught = e; }
       console.log(JSON.stringify({
         sameError: esm.TesseraError === cjs.TesseraError,
         sameKeyClass: esm.AeadKey === cjs.AeadKey,
         crossInstanceof: caught instanceof esm.TesseraError,
         code: caught && caught.code,
         crossOpen: Buffer.from(cjs.AeadKey.prototype.open.call(k, k.seal(Buffer.from('x')))).toString(),
       }));`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toEqual({ sameError: true, sameKeyClass: true, crossInstanceof: true, code: 'ERR_FORMAT', crossOpen: 'x' });
  });

  test('CLI: `tessera selftest` exits 0 and reports every algorithm; `version` prints the package version', () => {
    const r = node([path.join(root, 'dist/cjs/cli/main.js'), 'selftest']);
    expect(r.status, r.stderr).toBe(0);
    for (const alg of ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm']) {
      expect(r.stdout).toMatch(new RegExp(`^ok ${alg}$`, 'm'));
    }
    expect(r.stdout).toMatch(/^backend native; kernels \{.*\}; secure memory \{/m);
    const v = node([path.join(root, 'dist/cjs/cli/main.js'), 'version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
    const bad = node([path.join(root, 'dist/cjs/cli/main.js'), 'no-such-command']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^usage:\n {2}tessera encrypt/);
  });
});

describe('package.json and the built addon', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

  test('engines, exports (import/require with types) and bin point at files that exist', () => {
    expect(pkg.name).toBe('tessera');
    expect(pkg.engines.node).toBe('>=20.19');
    // browser first (bundlers for the web), node, then import/require for resolvers without a node
    // condition (TypeScript's moduleResolution bundler), default last.
    expect(Object.keys(pkg.exports['.'])).toEqual(['browser', 'node', 'import', 'require', 'default']);
    expect(pkg.exports['.'].import).toEqual(pkg.exports['.'].node.import);
    expect(pkg.exports['.'].require).toEqual(pkg.exports['.'].node.require);
    for (const cond of ['browser', 'default'] as const) {
      const e = pkg.exports['.'][cond];
      expect(Object.keys(e)).toEqual(['types', 'default']);
      for (const f of [e.types, e.default]) expect(fs.existsSync(path.join(root, f)), f).toBe(true);
      // Plain ES modules: no Node built-ins, no require (a page imports it without a bundler).
      expect(fs.readFileSync(path.join(root, e.default), 'utf8')).not.toMatch(/from ['"]node:|require\(/);
    }
    expect(pkg.files).toContain('wasm/*.wasm');
    for (const f of ['wasm/tessera-simd.wasm', 'wasm/tessera-scalar.wasm']) expect(WebAssembly.validate(fs.readFileSync(path.join(root, f))), f).toBe(true);
    const dot = pkg.exports['.'].node;
    expect(Object.keys(dot)).toEqual(['import', 'require']);
    for (const cond of ['import', 'require'] as const) {
      expect(Object.keys(dot[cond])[0]).toBe('types'); // types must come first to be picked up
      expect(typeof dot[cond].types).toBe('string');
      expect(typeof dot[cond].default).toBe('string');
      for (const f of [dot[cond].types, dot[cond].default]) expect(fs.existsSync(path.join(root, f)), f).toBe(true);
    }
    expect(dot.import.default).toMatch(/\.mjs$/);
    expect(dot.import.types).toMatch(/\.d\.mts$/);
    expect(pkg.bin.tessera).toBe('./dist/cjs/cli/main.js');
    const bin = fs.readFileSync(path.join(root, pkg.bin.tessera), 'utf8');
    expect(bin.startsWith('#!/usr/bin/env node')).toBe(true);
    // The ESM entry's runtime exports are exactly the CommonJS ones (one implementation behind both).
    const esm = fs.readFileSync(path.join(root, dot.import.default), 'utf8');
    const names = /export const \{([^}]*)\}/
      .exec(esm)?.[1]
      ?.split(',')
      .map((n) => n.trim())
      .filter(Boolean)
      .sort();
    expect(names).toEqual(Object.keys(T).sort());
  });

  test('the root entry exports the public API only (docs/API.md; lib/index.ts): these runtime names, none of the internals', () => {
    // A name added here is public API: docs/API.md says what it is, and `npm run docs:api` documents it.
    const PUBLIC = [
      // AEAD, errors, message format v1, secure and output memory, backends and kernels (docs/API.md "AEAD", docs/KERNELS.md)
      ...['aead', 'AeadKey', 'ALGORITHMS', 'backend', 'ErrorCodes', 'headerLength', 'nativeKernels', 'nonceLength', 'outputMemory'],
      ...['parseHeader', 'SecureBuffer', 'secureMemoryStats', 'TesseraError', 'useBackend', 'useNativeKernel'],
      // tessera/chunked (docs/API.md "Chunked encryption")
      ...['CHUNK_SIZE', 'chunkedOpenedLength', 'chunkedSealedLength', 'createDecryptStream', 'createEncryptStream', 'decryptChunked'],
      ...['decryptChunkedAsync', 'decryptChunkedInto', 'decryptChunkedIntoAsync', 'decryptFile', 'DecryptTransformStream', 'encryptChunked'],
      ...['encryptChunkedAsync', 'encryptChunkedInto', 'encryptChunkedIntoAsync', 'encryptFile', 'EncryptTransformStream', 'HEADER_SIZE'],
      ...['openChunked', 'SUITES', 'workerPool'],
      // tessera/keys (docs/API.md "Key wrapping and Fernet", "Key manager")
      ...['decryptEnvelopeFile', 'decryptFields', 'decryptFieldsBatch', 'encryptEnvelopeFile', 'encryptFields', 'encryptFieldsBatch', 'fernet'],
      ...['FileKeyStore', 'inspectEnvelope', 'kek', 'Keyring', 'keywrap', 'mask', 'streamingAead', 'verifyAuditLog'],
      // tessera/pg, tessera/pkcs11, tessera/legacy
      ...['PostgresKeyStore', 'Pkcs11Provider', 'legacy', 'migrateLegacy'],
    ];
    expect(Object.keys(T).sort()).toEqual(PUBLIC.sort());
    // Internal: the data-key cache behind keyring files, and the lengths chunkedSealedLength / chunkedOpenedLength wrap.
    const chunked = require(path.join(root, 'dist/cjs/entry/chunked.js')) as Record<string, unknown>;
    const keys = require(path.join(root, 'dist/cjs/entry/keys.js')) as Record<string, unknown>;
    for (const name of ['encryptedLength', 'decryptedLength']) expect(chunked[name], name).toBeUndefined();
    expect(keys.EnvelopeFiles).toBeUndefined();
  });

  test('the addon does not link libcrypto/libssl; it takes EVP from the node binary', () => {
    const addonPath = path.join(root, 'build/Release/tessera.node');
    expect(fs.existsSync(addonPath)).toBe(true);
    const ldd = spawnSync('ldd', [addonPath], { encoding: 'utf8' });
    expect(ldd.status, ldd.stderr).toBe(0);
    expect(ldd.stdout).toMatch(/libc\.so/); // the listing is real
    const lines = ldd.stdout.split('\n');
    expect(lines.filter((l) => /libcrypto|libssl/.test(l))).toEqual([]);
    expect(ldd.stdout).not.toMatch(/not found/);
    const readelf = spawnSync('readelf', ['-d', '--wide', addonPath], { encoding: 'utf8' });
    if (readelf.status === 0) expect(readelf.stdout).not.toMatch(/NEEDED.*(libcrypto|libssl)/);
    const nm = spawnSync('nm', ['-D', '--undefined-only', addonPath], { encoding: 'utf8' });
    if (nm.status === 0) expect(nm.stdout).toMatch(/\bEVP_CIPHER_fetch\b/); // resolved against node's own OpenSSL
    expect(readelf.status === 0 || nm.status === 0).toBe(true); // at least one binutils check ran
  });
});

describe('test hooks stay out of the shipped addon', () => {
  const plain = path.join(root, 'build/Release/tessera.node');
  // The hooks of the test build (binding.gyp target tessera_test, TSR_TEST_HOOKS):
  // JS names, C symbols, the CPU-mask variable.
  const HOOKS = ['testPeek', 'testAddress', 'testForkSeesZero', 'testTouchGuard', 'testBufferAddress', 'tsr_secmem_test_guard_after', 'TSR_TEST_CPU_MASK'];
  const nmDefined = (f: string) => {
    const r = spawnSync('nm', ['-D', '--defined-only', f], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\bnapi_register_module_v1\b/); // the listing is real
    return r.stdout;
  };
  const stringsOf = (f: string) => {
    const r = spawnSync('strings', ['-a', f], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };

  test('build/Release/tessera.node: no hook in `nm -D --defined-only`, in `strings`, or anywhere in its bytes; the test build has them all', () => {
    expect(fs.existsSync(plain)).toBe(true);
    const nm = nmDefined(plain),
      str = stringsOf(plain),
      bytes = fs.readFileSync(plain);
    for (const h of HOOKS) {
      expect([h, new RegExp(`\\b${h}\\b`).test(nm)]).toEqual([h, false]);
      expect([h, str.includes(h)]).toEqual([h, false]);
      expect([h, bytes.includes(h)]).toEqual([h, false]);
    }
    // Control: the same checks find every hook in the test build.
    const tnm = nmDefined(TEST_ADDON_FILE),
      tstr = stringsOf(TEST_ADDON_FILE);
    expect(tnm).toMatch(/\btsr_secmem_test_guard_after\b/);
    for (const h of HOOKS) expect([h, tstr.includes(h)]).toEqual([h, true]);
  });

  test('loaded with TESSERA_TEST_HOOKS=1, the package on tessera.node exposes no test function and refuses raw mode', () => {
    const r = node(
      [
        '-e',
        `const t = require('tessera');
         const file = require('node-gyp-build').resolve(${JSON.stringify(root)});
         const a = require('./dist/cjs/backend/native.js').loadAddon();
         const k = t.AeadKey.generate('aes-256-gcm');
         const names = (o) => { const s = new Set(); for (let p = o; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) for (const n of Object.getOwnPropertyNames(p)) s.add(n); return [...s]; };
         let raw; try { new a.NativeChunked(1, new Uint8Array(32), new Uint8Array(12), undefined, 'raw'); raw = 'made'; } catch (e) { raw = e.code + ': ' + e.message; }
         console.log(JSON.stringify({ file, backend: t.backend(), addon: names(a).filter((n) => /test/i.test(n)),
           key: names(t.AeadKey.handleOf(k).engineKey()).filter((n) => /test/i.test(n)), raw }));`,
      ],
      { TESSERA_TEST_HOOKS: '1', TESSERA_BACKEND: 'native' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toEqual({ file: plain, backend: 'native', addon: [], key: [], raw: 'ERR_ARGUMENT: raw mode is not available' });
  });

  test('the package never loads the test build by itself: found by node-gyp-build (TESSERA_PREBUILD), it is ERR_BACKEND', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-prebuild-'));
    try {
      fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
      fs.copyFileSync(TEST_ADDON_FILE, path.join(dir, 'build', 'Release', 'tessera_test.node'));
      const probe = `const t = require('tessera'); try { t.AeadKey.generate('aes-256-gcm'); console.log(JSON.stringify({ b: t.backend() })); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
      expect(lastJson(node(['-e', probe], { TESSERA_PREBUILD: dir, TESSERA_BACKEND: 'native' }).stdout)).toEqual({
        code: 'ERR_BACKEND',
        message: 'native backend unavailable: refusing the test build of the addon (tessera_test.node)',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('backend selection', () => {
  test("useBackend switches every API between 'native' and 'wasm'; keys stay bound to the backend that made them", () => {
    expect(T.backend()).toBe('native');
    const nativeKey = T.AeadKey.generate('aes-256-gcm');
    T.useBackend('wasm');
    try {
      expect(T.backend()).toBe('wasm');
      const wasmKey = T.AeadKey.generate('chacha20-poly1305');
      expect(T.secureMemoryStats().lockedBytes).toBe(0); // no mlock in wasm: reported, not pretended
      expect(Buffer.from(wasmKey.open(wasmKey.seal(Buffer.from('wasm')))).toString()).toBe('wasm');
      // A native key's handle is not a wasm key: refused as a key argument, not silently copied.
      expect(() => T.encryptChunked(nativeKey as unknown as Uint8Array, Buffer.from('x'), { context: '' })).toThrow(
        expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/^key must be a Uint8Array/) }),
      );
      expect(Buffer.from(nativeKey.open(nativeKey.seal(Buffer.from('still')))).toString()).toBe('still');
      wasmKey.dispose();
    } finally {
      T.useBackend('native');
    }
    expect(T.backend()).toBe('native');
    expect(() => T.useBackend('rust' as 'wasm')).toThrow(expect.objectContaining({ code: 'ERR_BACKEND' }));
    expect(T.backend()).toBe('native');
    nativeKey.dispose();
  });

  test('TESSERA_BACKEND picks the default; a bad value is ERR_BACKEND', () => {
    const probe = `const t = require('tessera'); try { console.log(JSON.stringify({ b: t.backend() })); } catch (e) { console.log(JSON.stringify({ code: e.code })); }`;
    expect(lastJson(node(['-e', probe], { TESSERA_BACKEND: 'wasm' }).stdout)).toEqual({ b: 'wasm' });
    expect(lastJson(node(['-e', probe], { TESSERA_BACKEND: 'native' }).stdout)).toEqual({ b: 'native' });
    expect(lastJson(node(['-e', probe], { TESSERA_BACKEND: 'rust' }).stdout)).toEqual({ code: 'ERR_BACKEND' });
  });

  test('without the addon Node falls back to wasm with a TESSERA_BACKEND warning; TESSERA_BACKEND=native makes it ERR_BACKEND', () => {
    // Preload that makes node-gyp-build fail, as on a machine where the addon did not build.
    const noAddon = `const M = require('module'); const load = M._load; M._load = function (req, ...a) { if (req === 'node-gyp-build') return () => { throw new Error('no prebuild'); }; return load.call(this, req, ...a); };`;
    const probe = `${noAddon} const w = []; process.on('warning', (x) => w.push(x.code)); const t = require('tessera');
      let out; try { const k = t.AeadKey.generate('xaes-256-gcm'); out = { b: t.backend(), trip: Buffer.from(k.open(k.seal(Buffer.from('ok')))).toString() }; } catch (e) { out = { code: e.code }; }
      setImmediate(() => console.log(JSON.stringify({ ...out, w })));`;
    expect(lastJson(node(['-e', probe]).stdout)).toEqual({ b: 'wasm', trip: 'ok', w: ['TESSERA_BACKEND'] });
    expect(lastJson(node(['-e', probe], { TESSERA_BACKEND: 'native' }).stdout)).toEqual({ code: 'ERR_BACKEND', w: [] });
  });
});
