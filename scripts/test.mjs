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
// The SQLCipher driver (better-sqlite3-multiple-ciphers, a dev dependency of
// test/sqlcipher.test.ts) is built for one Node ABI (it is not an N-API
// addon). On another Node, rebuild it for this one, from source against this
// Node's headers (its prebuilt binaries are downloaded from a host this
// machine may not reach). @journeyapps/sqlcipher is N-API: one build serves all.
const probe = spawnSync(process.execPath, ['-e', "new (require('better-sqlite3-multiple-ciphers'))(':memory:').close()"], { cwd: root, encoding: 'utf8' });
if (probe.status !== 0) {
  if (!/NODE_MODULE_VERSION/.test(probe.stderr)) {
    console.error(probe.stderr);
    console.error('better-sqlite3-multiple-ciphers does not load (run npm ci)');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log(`building better-sqlite3-multiple-ciphers for Node ${process.version} (ABI ${process.versions.modules}) from source`);
  const nodedir = dirname(dirname(process.execPath));
  const r = spawnSync('npm', ['rebuild', 'better-sqlite3-multiple-ciphers'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, npm_config_nodedir: nodedir, npm_config_build_from_source: 'true' },
  });
  if (r.status !== 0) {
    console.error('npm rebuild better-sqlite3-multiple-ciphers failed');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
console.log(`tests on Node ${process.version} (OpenSSL ${process.versions.openssl})`);
const vitestArgs = args.filter((a) => a !== '--no-build');
const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...vitestArgs], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
