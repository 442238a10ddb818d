// The test suites load the built package through Node's own CommonJS loader
// (not Vite's transform), exactly as users get it, native addon included.
// `npm test` builds dist/ first.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const T = require('../dist/cjs/index.js') as typeof import('../dist/cjs/index');
/** The raw addon, with test hooks (vitest.config.ts sets TESSERA_TEST_HOOKS=1). */
export const addon = require('../dist/cjs/backend/native.js').loadAddon() as Record<string, any>;
export const vectorsDir = path.join(root, '..', 'shared', 'vectors');

/** The TesseraError code fn throws, or a description of what it did instead. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof T.TesseraError)) return `not a TesseraError: ${String(e)}`;
    return e.code;
  }
  return 'no error';
}
