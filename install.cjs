#!/usr/bin/env node
// The package's install script (package.json "install"): node-gyp-build
// loads a prebuilt addon from prebuilds/ when one matches this platform,
// Node ABI (N-API) and libc, and otherwise compiles native/ with node-gyp.
// If neither works (no compiler, no Node headers and no network to fetch
// them), the install still succeeds: tessera then runs on its WebAssembly
// backend (same API, same bytes, slower), and this prints one warning that
// names the reason. At run time the package says so again
// (lib/backend/node.ts, warning code TESSERA_BACKEND).
'use strict';
const { spawnSync } = require('node:child_process');

const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], {
  cwd: __dirname,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
});
if (r.status === 0) process.exit(0);

const output = `${r.stdout || ''}\n${r.stderr || ''}${r.error ? `\n${r.error.message}` : ''}`;
const lines = output
  .split('\n')
  .map((l) => l.trim())
  .filter(Boolean);
// node-gyp's own summary lines name the cause (a missing compiler or make,
// a configure step that could not get Node's headers, a compile error).
const first = (re) => lines.find((l) => re.test(l));
const cause =
  first(/gyp ERR! stack Error: /) ||
  first(/gyp ERR! find Python .*(not|no|could)/i) ||
  first(/gyp ERR! configure error/) ||
  first(/(error|Error):|not found/) ||
  lines[lines.length - 1] ||
  `exit status ${r.status}`;
process.stderr.write(
  `tessera: no prebuilt addon matches ${process.platform}-${process.arch} (Node ${process.version}) and compiling one failed:\n` +
    `  ${cause.replace(/^gyp ERR! /, '')}\n` +
    '  tessera will use its WebAssembly backend (the same API and output, slower). Install a C/C++ toolchain\n' +
    '  (g++, make, python3) and run `npm rebuild tessera` to get the native addon.\n',
);
process.exit(0);
