// `npm run format` / `npm run format:check`: Prettier (.prettierrc.json) over
// the TypeScript and JavaScript sources, clang-format (.clang-format) over the
// C and C++ sources under native/. --check changes nothing and exits 1 when a
// file is not formatted (CI runs it).
//
//   node scripts/format.mjs --write | --check
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];
if (mode !== '--write' && mode !== '--check') {
  console.error('usage: node scripts/format.mjs --write | --check');
  process.exit(2);
}
const tracked = (...globs) =>
  execFileSync('git', ['ls-files', '--', ...globs], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);

const js = tracked('*.ts', '*.mts', '*.mjs', '*.cjs').filter((f) => !f.startsWith('test/vectors/'));
const c = tracked('native/*.c', 'native/*.h', 'native/*.cc');

let failed = false;
const prettier = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), mode === '--write' ? '--write' : '--check', '--log-level', 'warn', ...js],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (prettier.status !== 0) failed = true;

const clangFormat = ['clang-format-19', 'clang-format'].find((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status === 0);
if (!clangFormat) {
  console.error('clang-format (19) is not installed: apt-get install clang-format-19');
  failed = true;
} else {
  const r = spawnSync(clangFormat, mode === '--write' ? ['-i', ...c] : ['--dry-run', '--Werror', ...c], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
console.log(
  `format ${mode.slice(2)}: ${js.length} TypeScript/JavaScript files (prettier), ${c.length} C/C++ files (${clangFormat ?? 'clang-format missing'})${failed ? ': NOT formatted' : ''}`,
);
process.exit(failed ? 1 : 0);
