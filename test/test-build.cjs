// Runs this process's tessera package on the test build of the addon,
// build/Release/tessera_test.node: the same sources as the shipped
// build/Release/tessera.node, compiled with TSR_TEST_HOOKS (binding.gyp target
// tessera_test; `npm test` builds it with `node-gyp rebuild
// --tessera_test_hooks=true`). Only the test build has the hooks (testPeek,
// testForkSeesZero, testTouchGuard, testBufferAddress, NativeKey#testAddress,
// Cobblestone raw mode, TSR_TEST_CPU_MASK).
//
// test/tessera.ts requires it before the package; child processes of the
// suites get it with `node --require <this file>` (TEST_BUILD_ARGS in
// test/tessera.ts). It tells dist/cjs/backend/native.js which file to load
// (useAddonFile, internal): the package's keys then live in the test build,
// so testAddress and testPeek see the same secure memory. The package itself
// never loads the test build on its own (lib/backend/native.ts refuses it
// from node-gyp-build), whatever the environment says.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const file = path.join(root, 'build', 'Release', 'tessera_test.node');
if (!fs.existsSync(file))
  throw new Error(
    `${file} is missing: the test suites need the test build of the addon. ` + '`npm test` builds it; by hand: npx node-gyp rebuild --tessera_test_hooks=true',
  );
require(path.join(root, 'dist', 'cjs', 'backend', 'native.js')).useAddonFile(file);

module.exports = { file };
