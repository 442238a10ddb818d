/**
 * The package root (Node only): where binding.gyp, prebuilds/ and wasm/
 * are. From dist/cjs/backend it is three levels up, from lib/backend (tests
 * running the TypeScript directly) two; found by looking for the files,
 * not by counting.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'binding.gyp'))) return (root = dir);
    dir = path.dirname(dir);
  }
  return (root = path.join(__dirname, '..', '..', '..'));
}
