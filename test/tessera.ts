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

/** sfc32: small, fast, seedable PRNG for reproducible differential cases. */
export function prng(seed: number) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return { float: next, int: (n: number) => Math.floor(next() * n) };
}
