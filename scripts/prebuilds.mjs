// Prebuilt addons for the package (docs/TESTING.md "Consumer test";
// npm pack ships prebuilds/, node-gyp-build loads the one that matches):
// prebuildify --napi --strip --tag-libc, run in a scratch copy of what
// binding.gyp compiles so that build/ (the test build and the addon npm
// install made) stays as it is. One N-API build serves every Node >= 20.19.
//
//   node scripts/prebuilds.mjs      -> prebuilds/linux-x64/tessera.glibc.node
//
// Built here: linux-x64 (glibc). Not built:
// - linux-arm64: Debian's g++-aarch64-linux-gnu cross compiler installs, but
//   binding.gyp compiles the x86-64 kernels (AES-NI, VAES, AVX-512 and AVX2
//   intrinsics) unconditionally; an arm64 build needs per-architecture source
//   groups in native/sources.json first.
// - linux-x64 musl: Debian's musl-tools is a C compiler only (musl-gcc); the
//   N-API binding is C++ and there is no musl C++ toolchain in the archive.
// Elsewhere the install compiles, or falls back to WebAssembly (install.cjs).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-prebuild-'));
try {
  for (const f of ['binding.gyp', 'package.json', 'native/sources.json']) fs.cpSync(path.join(root, f), path.join(scratch, f));
  const sources = JSON.parse(fs.readFileSync(path.join(root, 'native', 'sources.json'), 'utf8'));
  const dirs = new Set(sources.targets.addon.map((g) => `native/${g}`)); // binding.gyp's
  for (const d of dirs) fs.cpSync(path.join(root, d), path.join(scratch, d), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
  const nodedir = process.env.npm_config_nodedir || path.dirname(path.dirname(process.execPath));
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'prebuildify', 'bin.js'), '--napi', '--strip', '--tag-libc', '--name', 'tessera'], {
    cwd: scratch,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, npm_config_nodedir: nodedir, PREBUILD_NODE_GYP: path.join(root, 'node_modules', '.bin', 'node-gyp') },
  });
  fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
  fs.cpSync(path.join(scratch, 'prebuilds'), path.join(root, 'prebuilds'), { recursive: true });
  for (const d of fs.readdirSync(path.join(root, 'prebuilds')))
    for (const f of fs.readdirSync(path.join(root, 'prebuilds', d))) console.log(`prebuilds/${d}/${f}`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
