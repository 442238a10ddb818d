// The SQLite drivers that test/sqlcipher.test.ts and test/cli.db.test.ts use
// (dev dependencies; package.json "allowScripts" keeps npm from building
// them at install): better-sqlite3-multiple-ciphers (tessera/sqlcipher's
// optional peer; a V8 addon, so one build per Node ABI) and
// @journeyapps/sqlcipher (SQLCipher 4 community for the interop check;
// N-API). Each one that does not load in the running Node is built in place
// from source against this Node's headers, as a Debug build: the suites need
// correctness, not speed, and -O0 compiles the SQLite amalgamations in a
// fraction of the time of their -O3 release builds (their prebuilt binaries
// come from a host this machine may not reach). scripts/test.mjs runs this
// before the suites; .ci/run runs it in the background during the C stages.
//
//   node scripts/test-drivers.mjs
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const DRIVERS = [
  { pkg: 'better-sqlite3-multiple-ciphers', probe: "new (require('better-sqlite3-multiple-ciphers'))(':memory:').close()" },
  { pkg: '@journeyapps/sqlcipher', probe: "require('@journeyapps/sqlcipher')" },
];
const nodedir = path.dirname(path.dirname(process.execPath));
const loads = (probe) => spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });

for (const { pkg, probe } of DRIVERS) {
  if (loads(probe).status === 0) continue;
  const t0 = Date.now();
  console.log(`building ${pkg} for Node ${process.version} (ABI ${process.versions.modules}, headers in ${nodedir}), Debug`);
  // npm_config_nodedir, not --nodedir: node-gyp lets an exported value win over the flag.
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', '--debug'], {
    cwd: path.join(root, 'node_modules', pkg),
    encoding: 'utf8',
    env: { ...process.env, npm_config_nodedir: nodedir },
  });
  const after = loads(probe);
  if (r.status !== 0 || after.status !== 0) {
    console.error(`${r.stdout}\n${r.stderr}`.split('\n').slice(-30).join('\n'));
    console.error(after.stderr);
    console.error(`${pkg} could not be built for Node ${process.version}`);
    process.exit(1);
  }
  console.log(`  built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
