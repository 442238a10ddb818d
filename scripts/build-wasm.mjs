// `npm run build:wasm`: the WASM modules, built from the
// shared C core (native/sources.json targets.wasm) with Debian's
// clang-19 / lld-19. Two modules: scalar (MVP + bulk memory) and simd128;
// lib/backend/wasm.ts picks one with WebAssembly.validate.
//
// Reproducible: no timestamps, no absolute paths (sources are given
// relative to the package root, -ffile-prefix-map for anything else, no
// debug info), fixed flags and link order, so two builds give identical
// bytes. The outputs in wasm/ are committed; CI rebuilds and compares
// (`npm run build:wasm -- --check`).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const sources = JSON.parse(readFileSync(join(root, 'native/sources.json'), 'utf8'));
const files = sources.targets.wasm.flatMap((g) => sources.groups[g]);

function findClang() {
  for (const c of [process.env.TSR_CLANG, 'clang-19', '/usr/lib/llvm-19/bin/clang']) {
    if (c && spawnSync(c, ['--version']).status === 0) return c;
  }
  console.error('build:wasm needs clang-19 and lld-19: apt-get install clang-19 lld-19');
  process.exit(2);
}
const clang = findClang();

// 80 pages = 5 MiB: stack, data and the 4 MiB key region fit; the scratch
// area grows past it (tsr_wasm_scratch). lib/backend/wasm.ts creates the
// imported memory with this same minimum (WASM_INITIAL_PAGES).
const INITIAL_PAGES = 80;

const common = [
  '--target=wasm32',
  '-std=c11',
  '-O3',
  '-nostdlib',
  '-ffreestanding',
  '-fno-exceptions',
  '-mcpu=mvp',
  '-mbulk-memory',
  '-fvisibility=hidden',
  '-g0',
  `-ffile-prefix-map=${root}=.`,
  '-Inative/wasm/include',
  '-DTSR_WASM=1',
  '-Wall',
  '-Wextra',
  '-Wno-unused-parameter',
  '-Werror',
];
const link = [
  '-Wl,--no-entry',
  '-Wl,--import-memory',
  '-Wl,--stack-first',
  '-Wl,-z,stack-size=131072',
  `-Wl,--initial-memory=${INITIAL_PAGES * 65536}`,
  '-Wl,--max-memory=2147483648',
  '-Wl,--strip-debug',
];

const variants = [
  { out: 'wasm/tessera-scalar.wasm', flags: [] },
  { out: 'wasm/tessera-simd.wasm', flags: ['-msimd128'] },
];

const tmp = mkdtempSync(join(tmpdir(), 'tsr-wasm-'));
let differ = false;
try {
  for (const v of variants) {
    const out = join(tmp, v.out.replace('/', '_'));
    const r = spawnSync(clang, [...common, ...v.flags, ...files, ...link, '-o', out], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`build:wasm: ${v.out} failed`);
      process.exit(1);
    }
    const bytes = readFileSync(out);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const dest = join(root, v.out);
    if (check) {
      const same = existsSync(dest) && readFileSync(dest).equals(bytes);
      console.log(`${v.out}: ${bytes.length} bytes sha256 ${sha} ${same ? 'matches the committed file' : 'DIFFERS from the committed file'}`);
      if (!same) differ = true;
    } else {
      writeFileSync(dest, bytes);
      console.log(`${v.out}: ${bytes.length} bytes sha256 ${sha}`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (differ) {
  console.error('build:wasm --check: the committed .wasm files are not what these sources build (run npm run build:wasm and commit)');
  process.exit(1);
}
