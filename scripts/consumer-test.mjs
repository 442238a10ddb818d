// The package as a user gets it (.ci/run runs this after the test suites;
// docs/TESTING.md "Consumer test"): `npm pack`, then installs the tarball
// into a new project in a temp directory with a PATH that holds node, npm and
// sh only (no C compiler, no make, no python), twice:
//   1. with the linux-x64 prebuild (scripts/prebuilds.mjs) in the tarball:
//      the install compiles nothing and the native backend loads;
//   2. without it: the install still succeeds with one warning naming the
//      reason, and tessera runs on the WebAssembly backend.
// In the first project: ESM import, CommonJS require, every subpath export,
// the browser entry under Node (init() with no argument), the .wasm subpath,
// `tsc --noEmit` under module nodenext and under moduleResolution bundler
// with only @types/node (no DOM lib, skipLibCheck false), the browser entry
// with the DOM lib, the CLI (selftest, encrypt and decrypt a file), an
// esbuild bundle of the browser entry against a size budget, and publint and
// @arethetypeswrong/cli on the tarball. Prints "N passed, N failed".
//
//   node scripts/consumer-test.mjs [--keep]
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
/** Budget of the minified browser bundle (JS only; the .wasm files are fetched separately). */
const BUNDLE_BUDGET = 64 * 1024;

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    const note = fn();
    passed++;
    console.log(`  ok   ${name}${note ? `: ${note}` : ''}`);
  } catch (e) {
    failed++;
    console.log(
      `  FAIL ${name}: ${String(e?.message ?? e)
        .trim()
        .split('\n')
        .slice(0, 12)
        .join('\n       ')}`,
    );
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-consumer-'));
// A PATH with node, npm and sh only: nothing that can compile.
const bin = path.join(work, 'bin');
fs.mkdirSync(bin);
for (const [name, target] of [
  ['node', process.execPath],
  ['npm', execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()],
  ['sh', '/bin/sh'],
])
  fs.symlinkSync(fs.realpathSync(target), path.join(bin, name));
const env = { ...process.env, PATH: bin, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
for (const k of Object.keys(env)) if (/^npm_config_(nodedir|build_from_source)$/i.test(k) || k === 'CC' || k === 'CXX') delete env[k];

function run(cmd, args, cwd, extra = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r;
}

// ---- the tarballs ------------------------------------------------------------
const prebuild = path.join(root, 'prebuilds', 'linux-x64');
if (!fs.existsSync(prebuild) || !fs.readdirSync(prebuild).some((f) => f.endsWith('.node'))) {
  console.log(`no prebuild in ${prebuild}: run node scripts/prebuilds.mjs first`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const packDir = path.join(work, 'pack');
fs.mkdirSync(packDir);
const pack = (dest) => {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: root, encoding: 'utf8' });
  const info = JSON.parse(out)[0];
  return { file: path.join(dest, info.filename), files: info.files.map((f) => f.path), size: info.size };
};
const withPrebuild = pack(packDir);
// The same package without prebuilds/ (prebuilds moved aside for the pack).
const aside = path.join(work, 'prebuilds-aside');
fs.renameSync(path.join(root, 'prebuilds'), aside);
const noPrebuildDir = path.join(work, 'pack-bare');
fs.mkdirSync(noPrebuildDir);
let bare;
try {
  bare = pack(noPrebuildDir);
} finally {
  fs.renameSync(aside, path.join(root, 'prebuilds'));
}
console.log(`tarball ${path.basename(withPrebuild.file)}: ${withPrebuild.files.length} files, ${(withPrebuild.size / 1024).toFixed(0)} KiB`);

check('the tarball holds compiled JS, types, WASM, the prebuild, the C sources to compile, LICENSE and NOTICE; no tests, fuzzers or TS sources', () => {
  const f = withPrebuild.files;
  const need = [
    'dist/cjs/index.js',
    'dist/cjs/index.d.ts',
    'dist/esm/index.mjs',
    'dist/browser/browser/index.js',
    'wasm/tessera-simd.wasm',
    'wasm/tessera-scalar.wasm',
    'binding.gyp',
    'native/sources.json',
    'install.cjs',
    'LICENSE',
    'NOTICE',
  ];
  const missing = need.filter((n) => !f.includes(n));
  if (!f.some((n) => /^prebuilds\/linux-x64\/.+\.node$/.test(n))) missing.push('prebuilds/linux-x64/*.node');
  const sources = JSON.parse(fs.readFileSync(path.join(root, 'native', 'sources.json'), 'utf8'));
  for (const s of sources.targets.addon.flatMap((g) => sources.groups[g])) if (!f.includes(s)) missing.push(s);
  if (missing.length) throw new Error(`missing: ${missing.join(', ')}`);
  const stray = f.filter(
    (n) =>
      /^(lib|test|bench|scripts|docs|examples)\/|^native\/(test|bench|wasm)\/|\.ts$(?<!\.d\.ts$)|fuzz/.test(n) && !n.endsWith('.d.ts') && !n.endsWith('.d.mts'),
  );
  if (stray.length) throw new Error(`should not ship: ${stray.slice(0, 10).join(', ')}${stray.length > 10 ? ` (+${stray.length - 10})` : ''}`);
  return `${f.length} files`;
});

// ---- project 1: with the prebuild -------------------------------------------
function project(name, tarball, allowScripts) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  // npm 11 runs a dependency's install script only when the project allows
  // it (npm install-scripts approve; a tarball is allowed by its file: spec):
  // both kinds of user are tried.
  const allow = allowScripts ? { allowScripts: { [`file:${tarball}`]: true } } : {};
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, ...allow }));
  // --foreground-scripts: npm shows a dependency's install output only then (or when it fails).
  const r = run('npm', ['install', '--no-package-lock', '--foreground-scripts', tarball], dir);
  // @types/node as a user has it (copied from this repository's dev dependencies: no registry round trip).
  fs.cpSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), { recursive: true });
  fs.cpSync(path.join(root, 'node_modules', 'undici-types'), path.join(dir, 'node_modules', 'undici-types'), { recursive: true });
  return { dir, install: `${r.stdout}\n${r.stderr}` };
}

/** @type {ReturnType<typeof project> | undefined} */
let p1;
check("install with the prebuild and no compiler on PATH (install scripts not allowed, npm 11's default)", () => {
  p1 = project('prebuilt', withPrebuild.file, false);
  const built = path.join(p1.dir, 'node_modules', 'tessera', 'build');
  if (fs.existsSync(built)) throw new Error(`the install compiled something (${built} exists)`);
  if (/tessera: no prebuilt addon/.test(p1.install)) throw new Error(p1.install);
});

const node = (dir, args, extra) => run('node', args, dir, extra).stdout.trim();
const esm = (dir, code) => node(dir, ['--input-type=module', '-e', code]);

if (p1) {
  const d = p1.dir;
  check('ESM import: native backend, seal/open', () => {
    const out = esm(
      d,
      `import { AeadKey, backend } from 'tessera';
      const k = AeadKey.generate('aes-256-gcm');
      const pt = new TextDecoder().decode(k.open(k.seal(new TextEncoder().encode('hello'))));
      console.log(backend(), pt);`,
    );
    if (out !== 'native hello') throw new Error(out);
    return out;
  });
  check('CommonJS require', () => {
    const out = node(d, ['-e', `const t = require('tessera'); console.log(typeof t.encryptChunked, typeof t.Keyring, t.backend())`]);
    if (out !== 'function function native') throw new Error(out);
  });
  check('every subpath export loads without its optional peers; using one is ERR_BACKEND naming it', () => {
    const out = esm(
      d,
      `
      const names = {};
      for (const s of ['chunked', 'keys', 'pg', 'pkcs11', 'legacy', 'metrics', 'sqlcipher']) names[s] = Object.keys(await import('tessera/' + s)).length;
      const { PostgresKeyStore } = await import('tessera/pg');
      let code; try { new PostgresKeyStore({ connectionString: 'postgres://127.0.0.1:1/x' }); } catch (e) { code = e.code + ' ' + /npm install pg/.test(e.message); }
      const { encryptChunked, decryptChunked } = await import('tessera/chunked');
      const key = new Uint8Array(32).fill(1);
      const ok = new TextDecoder().decode(decryptChunked(key, encryptChunked(key, new TextEncoder().encode('chunked'), { context: 'c' }), { context: 'c' }));
      console.log(JSON.stringify({ names, code, ok }));`,
    );
    const r = JSON.parse(out);
    for (const [s, n] of Object.entries(r.names)) if (!(n > 0)) throw new Error(`tessera/${s} exports nothing`);
    if (r.code !== 'ERR_BACKEND true' || r.ok !== 'chunked') throw new Error(out);
    return Object.entries(r.names)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ');
  });
  check('the browser entry under Node: init() with no argument, seal/open; the .wasm files resolve', () => {
    const out = esm(
      d,
      `
      const t = await import('tessera/browser');
      await t.init();
      const k = t.AeadKey.generate('chacha20-poly1305');
      const pt = new TextDecoder().decode(k.open(k.seal(new TextEncoder().encode('wasm'))));
      const wasm = import.meta.resolve('tessera/wasm/tessera-simd.wasm');
      console.log(t.backend(), pt, wasm.endsWith('/node_modules/tessera/wasm/tessera-simd.wasm'));`,
    );
    if (out !== 'wasm wasm true') throw new Error(out);
  });
  const tsc = (name, compilerOptions, code) => {
    const dir = path.join(d, `ts-${name}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'index.ts'), code);
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', ...compilerOptions }, files: ['index.ts'] }),
    );
    run('node', [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], d);
  };
  const nodeCode = `import { AeadKey, Keyring, kek, FileKeyStore, encryptChunked, type Algorithm } from 'tessera';
import { PostgresKeyStore } from 'tessera/pg';
import { Pkcs11Provider } from 'tessera/pkcs11';
import { legacy } from 'tessera/legacy';
import { bindPrometheus } from 'tessera/metrics';
import { openDatabase } from 'tessera/sqlcipher';
import { encryptFile } from 'tessera/chunked';
import { Keyring as K2 } from 'tessera/keys';
const alg: Algorithm = 'aes-256-gcm';
const key = AeadKey.generate(alg);
const sealed: Uint8Array = key.seal(new Uint8Array(4));
export const all = [sealed, Keyring, K2, kek, FileKeyStore, encryptChunked, PostgresKeyStore, Pkcs11Provider, legacy, bindPrometheus, openDatabase, encryptFile];
`;
  check('tsc --noEmit, module nodenext, @types/node only (no DOM lib), skipLibCheck false', () =>
    tsc('nodenext', { module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022'], types: ['node'] }, nodeCode),
  );
  check('tsc --noEmit, moduleResolution bundler, @types/node only (no DOM lib), skipLibCheck false', () =>
    tsc('bundler', { module: 'esnext', moduleResolution: 'bundler', lib: ['es2022'], types: ['node'] }, nodeCode),
  );
  check('tsc --noEmit, the browser entry with the DOM lib only', () =>
    tsc(
      'browser',
      { module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] },
      `import { init, AeadKey } from 'tessera/browser';\nawait init();\nexport const k = AeadKey.generate('xaes-256-gcm');\n`,
    ),
  );
  check('the CLI: tessera selftest, encrypt and decrypt a file', () => {
    const cli = path.join(d, 'node_modules', '.bin', 'tessera');
    const st = run(cli, ['selftest'], d).stdout;
    if (!/ok aes-256-gcm/.test(st) || !/backend native/.test(st)) throw new Error(st);
    fs.writeFileSync(path.join(d, 'in.txt'), 'consumer test\n'.repeat(1000));
    const keyHex = 'ab'.repeat(32);
    run(cli, ['encrypt', 'in.txt', 'in.tsr', '--key-env', 'K'], d, { K: keyHex });
    run(cli, ['decrypt', 'in.tsr', 'out.txt', '--key-env', 'K'], d, { K: keyHex });
    if (!fs.readFileSync(path.join(d, 'out.txt')).equals(fs.readFileSync(path.join(d, 'in.txt')))) throw new Error('round trip differs');
  });
  check(`esbuild bundle of the browser entry (budget ${BUNDLE_BUDGET / 1024} KiB minified)`, () => {
    fs.writeFileSync(path.join(d, 'app.js'), `import { init, AeadKey } from 'tessera';\nawait init();\nconsole.log(AeadKey.generate('aes-256-gcm'));\n`);
    const outfile = path.join(d, 'bundle.js');
    run(
      path.join(root, 'node_modules', '.bin', 'esbuild'),
      ['app.js', '--bundle', '--minify', '--format=esm', '--platform=browser', `--outfile=${outfile}`, '--log-level=warning'],
      d,
    );
    const size = fs.statSync(outfile).size;
    const text = fs.readFileSync(outfile, 'utf8');
    if (/(from|import|require\()\s*["']node:/.test(text)) throw new Error('the browser bundle imports Node modules');
    if (size > BUNDLE_BUDGET) throw new Error(`${(size / 1024).toFixed(1)} KiB is over the budget`);
    return `${(size / 1024).toFixed(1)} KiB JS (+ ${(fs.statSync(path.join(root, 'wasm', 'tessera-simd.wasm')).size / 1024).toFixed(1)} KiB .wasm fetched at init)`;
  });
}

check('publint on the tarball', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'publint', 'src', 'cli.js'), withPrebuild.file, '--strict'], {
    encoding: 'utf8',
    cwd: root,
  });
  if (r.status !== 0) throw new Error(`${r.stdout}\n${r.stderr}`);
  return r.stdout.trim().split('\n').slice(-1)[0];
});
check('@arethetypeswrong/cli on the tarball (profile node16; tessera/browser is ESM only)', () => {
  const attw = path.join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
  // cjs-resolves-to-esm: tessera/browser is ES modules only, by design (require() of it is not supported).
  const r = spawnSync(
    process.execPath,
    [attw, withPrebuild.file, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'table-flipped'],
    { encoding: 'utf8', cwd: root },
  );
  if (r.status !== 0)
    throw new Error(
      `${r.stdout}\n${r.stderr}`
        .split('\n')
        .filter((l) => /💀|❌|🐛|⚠️|🥴|problem|node16|bundler/i.test(l))
        .join('\n'),
    );
});

// ---- project 2: no prebuild, no compiler ----------------------------------
check('install without a prebuild and no compiler: succeeds with one warning naming the reason; tessera runs on WASM', () => {
  const p2 = project('bare', bare.file, true);
  const warnings = p2.install.split('\n').filter((l) => l.startsWith('tessera: '));
  if (warnings.length !== 1 || !/compiling one failed/.test(p2.install)) throw new Error(p2.install);
  const out = esm(
    p2.dir,
    `import { AeadKey, backend } from 'tessera';
    process.on('warning', (w) => console.log('warning ' + w.code));
    const k = AeadKey.generate('aes-256-gcm');
    console.log(backend(), new TextDecoder().decode(k.open(k.seal(new TextEncoder().encode('fallback')))));`,
  );
  if (!/^warning TESSERA_BACKEND\nwasm fallback$|^wasm fallback\nwarning TESSERA_BACKEND$/.test(out)) throw new Error(out);
  return p2.install
    .split('\n')
    .find((l) => /^\s+\S/.test(l) && !l.includes('tessera will use'))
    ?.trim();
});

if (!keep) fs.rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
