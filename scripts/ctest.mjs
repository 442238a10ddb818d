// `npm run test:c`: the C tests under CMake/ctest, built with AddressSanitizer
// and UndefinedBehaviorSanitizer (pass --no-sanitize for a plain build), then
// the libFuzzer target that compares the software primitives (the WASM
// backend's engine) with OpenSSL, built with clang-19 (--no-fuzz skips it;
// without clang-19 it fails with the reason, never silently).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sanitize = !process.argv.includes('--no-sanitize');
const fuzz = !process.argv.includes('--no-fuzz');
const dir = join(root, sanitize ? 'build-ctest-asan' : 'build-ctest');
const step = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) console.error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) process.exit(r.status ?? 1);
};
step('cmake', ['-S', root, '-B', dir, `-DTSR_SANITIZE=${sanitize ? 'ON' : 'OFF'}`, '-DCMAKE_BUILD_TYPE=Debug']);
step('cmake', ['--build', dir, '-j', '2']);
step('ctest', ['--test-dir', dir, '--output-on-failure']);

if (fuzz) {
  if (spawnSync('clang-19', ['--version']).status !== 0) {
    console.error('test:c: the fuzz target needs clang-19 and libclang-rt-19-dev (apt-get install clang-19 lld-19 libclang-rt-19-dev)');
    process.exit(1);
  }
  const fdir = join(root, 'build-fuzz');
  step('cmake', [
    '-S',
    root,
    '-B',
    fdir,
    '-DTSR_TESTS=OFF',
    '-DTSR_FUZZ=ON',
    '-DCMAKE_C_COMPILER=clang-19',
    '-DCMAKE_CXX_COMPILER=clang++-19',
    '-DCMAKE_BUILD_TYPE=Debug',
  ]);
  step('cmake', ['--build', fdir, '-j', '2']);
  step('ctest', ['--test-dir', fdir, '--output-on-failure']);
}
