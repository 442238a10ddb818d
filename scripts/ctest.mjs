// `npm run test:c`: the C tests under CMake/ctest, built with AddressSanitizer
// and UndefinedBehaviorSanitizer (pass --no-sanitize for a plain build).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sanitize = !process.argv.includes('--no-sanitize');
const dir = join(root, sanitize ? 'build-ctest-asan' : 'build-ctest');
const step = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
step('cmake', ['-S', root, '-B', dir, `-DTSR_SANITIZE=${sanitize ? 'ON' : 'OFF'}`, '-DCMAKE_BUILD_TYPE=Debug']);
step('cmake', ['--build', dir, '-j', '2']);
step('ctest', ['--test-dir', dir, '--output-on-failure']);
