// `npm test`: builds what the tests need (both addons + dist), then runs
// every vitest suite. The last line printed is "N passed, N failed".
//
// The addons: one `node-gyp rebuild --tessera_test_hooks=true` builds both
// targets of binding.gyp, build/Release/tessera.node (what `npm install`
// builds and the package loads) and build/Release/tessera_test.node (the same
// sources with TSR_TEST_HOOKS, which the suites run the package on:
// test/test-build.cjs). Without the flag node-gyp builds tessera.node only.
//
//   node scripts/test.mjs [--no-build] [vitest args...]
//
// --no-build runs the suites on the addon and dist/ already built: .ci/run
// uses it to run the same build, made on Node 20, under Node 24 (one N-API
// binary for every supported Node).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const run = (cmd, cmdArgs) => {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${cmdArgs.join(' ')} failed`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
};
if (!noBuild) {
  run('npm', ['run', '--silent', 'build:native', '--', '--tessera_test_hooks=true']);
  run('npm', ['run', '--silent', 'build:ts']);
}
// The SQLite drivers of the SQLCipher suites, built for this Node when they do not load (scripts/test-drivers.mjs).
run(process.execPath, [join(root, 'scripts', 'test-drivers.mjs')]);
console.log(`tests on Node ${process.version} (OpenSSL ${process.versions.openssl})`);
const vitestArgs = args.filter((a) => a !== '--no-build');
const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...vitestArgs], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
