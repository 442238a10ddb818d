// `npm run docs:api`: the API reference in docs/api/ (Markdown), generated
// by TypeDoc with typedoc-plugin-markdown from the types and doc comments of
// the package's public entries (typedoc.json: the root, tessera/chunked,
// keys, pg, pkcs11, legacy, metrics, sqlcipher and browser; @internal and
// private members left out). docs/api/ is committed, so a change to a public
// type or its doc comment needs a regeneration.
//
//   node scripts/docs-api.mjs            regenerate docs/api/
//   node scripts/docs-api.mjs --check    regenerate into a temp directory and
//                                        compare: exit 1 when docs/api/ differs
//                                        or TypeDoc warns (test/docs-api.test.ts)
//
// A TypeDoc warning (a public signature naming a type no entry exports, a
// broken {@link}) fails both modes: the reference would have a dead name.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const committed = path.join(root, 'docs', 'api');
const args = process.argv.slice(2);
const check = args.includes('--check');
if (args.some((a) => a !== '--check')) {
  console.error('usage: node scripts/docs-api.mjs [--check]');
  process.exit(2);
}

const files = (dir) =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort()
    : [];

/** Runs TypeDoc into `out`; returns the exit status for this script. */
function generate(out) {
  const r = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--options', path.join(root, 'typedoc.json'), '--out', out, '--treatWarningsAsErrors'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
  );
  if (r.status === 0) return 0;
  process.stderr.write(`${r.stdout}${r.stderr}`);
  console.error(`docs:api: TypeDoc failed (exit ${r.status ?? r.signal})`);
  return 1;
}

/** Compares the generated tree with docs/api; returns the exit status. */
function compare(out) {
  const made = files(out);
  const have = files(committed);
  const same = (f) => fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(committed, f)));
  const differ = [
    ...made.filter((f) => !have.includes(f)).map((f) => `missing: docs/api/${f}`),
    ...have.filter((f) => !made.includes(f)).map((f) => `not generated any more: docs/api/${f}`),
    ...made.filter((f) => have.includes(f) && !same(f)).map((f) => `differs: docs/api/${f}`),
  ];
  if (differ.length) {
    console.error(`docs:api --check: docs/api is out of date (run npm run docs:api):\n  ${differ.join('\n  ')}`);
    return 1;
  }
  console.log(`docs:api --check: docs/api is up to date (${made.length} files)`);
  return 0;
}

let status;
if (check) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-docs-api-'));
  try {
    status = generate(out) || compare(out);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
} else {
  status = generate(committed);
  if (status === 0) {
    const made = files(committed);
    const kib = made.reduce((n, f) => n + fs.statSync(path.join(committed, f)).size, 0) / 1024;
    console.log(`docs:api: ${made.length} files in docs/api (${kib.toFixed(0)} KiB)`);
  }
}
process.exit(status);
