/**
 * The README's code runs as written (README "Quickstart").
 *
 * Proves: every fenced block in README.md is either the `sh` block of the
 * two commands at the top or a `js` block; each `js` block, written
 * verbatim to an .mjs file in a temp directory outside the repository and
 * run by a plain `node` (on the test build of the addon: TEST_BUILD_ARGS),
 * imports only 'tessera' and node: built-ins, resolves 'tessera' through
 * node_modules/tessera and package.json "exports" as a user's project does
 * (the directory's node_modules/tessera is a symlink to this checkout),
 * exits 0 with nothing on stderr, and prints the line chosen for it below.
 * The reference material lives in docs/ (API, KERNELS, SECURITY,
 * BENCHMARKS, TESTING); its blocks are fragments and are not run.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { root, TEST_BUILD_ARGS } from './tessera';

// The top block of the README, exactly. It is not run here: CI (.ci/run)
// runs these commands itself: `npm ci` on a fresh clone, `npm test` (which
// runs this suite), and the benchmark suite (in its --ci profile, with
// floors, rather than --quick).
const TOP_COMMANDS = [
  'npm ci && npx tessera bench --quick   # install (builds the native addon offline) and run the benchmark',
  'npm test                              # every test suite; ends with "N passed, N failed"',
].join('\n');

// One line each `js` block must print, in README order. A block added to or
// removed from the README needs its entry here.
const EXPECTED: readonly { what: string; line: string }[] = [
  { what: 'AeadKey seal / open', line: 'hello, tessera' },
  { what: 'encryptChunked / decryptChunked', line: 'round trip: true' },
  { what: 'Keyring on a FileKeyStore', line: 'alice@example.com' },
  { what: 'encryptFile / decryptFile', line: 'quarterly figures' },
];

interface Block {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let open: { lang: string; line: number; body: string[] } | undefined;
  markdown.split('\n').forEach((l, i) => {
    const fence = /^\s*(`{3,}|~{3,})\s*([^\s`]*)/.exec(l);
    if (!open) {
      if (fence) open = { lang: fence[2]!, line: i + 1, body: [] };
    } else if (fence && fence[2] === '') {
      blocks.push({ lang: open.lang, code: open.body.join('\n') + '\n', line: open.line });
      open = undefined;
    } else {
      open.body.push(l);
    }
  });
  if (open) throw new Error(`README.md: the block opened at line ${open.line} is never closed`);
  return blocks;
}

const blocks = fencedBlocks(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
const jsBlocks = blocks.filter((b) => b.lang === 'js');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-readme-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'tessera'), 'dir');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('README.md code blocks', () => {
  test('the first block is the two commands at the top; every other block is js, one per expected output', () => {
    expect(blocks.length).toBeGreaterThan(1);
    const [top] = blocks as [Block, ...Block[]];
    expect({ lang: top.lang, code: top.code.trimEnd() }).toEqual({ lang: 'sh', code: TOP_COMMANDS });
    const others = blocks
      .slice(1)
      .filter((b) => b.lang !== 'js')
      .map((b) => `line ${b.line}: \`\`\`${b.lang}`);
    expect(others, 'blocks other than the top commands must be ```js (runnable ES modules)').toEqual([]);
    expect(jsBlocks.map((b) => `line ${b.line}`)).toHaveLength(EXPECTED.length);
  });

  for (const [i, { what, line }] of EXPECTED.entries()) {
    test(`js block ${i + 1} (${what}) runs as an .mjs file and prints "${line}"`, () => {
      const block = jsBlocks[i];
      if (!block) throw new Error(`README.md has no js block number ${i + 1}`);
      // Self-contained: the package by its name, and Node's built-ins.
      const specifiers = [...block.code.matchAll(/^\s*import\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
      expect(specifiers).toContain('tessera');
      expect(specifiers.filter((s) => s !== 'tessera' && !s.startsWith('node:'))).toEqual([]);

      const file = path.join(dir, `readme-block-${i + 1}.mjs`);
      fs.writeFileSync(file, block.code);
      const r = spawnSync(process.execPath, [...TEST_BUILD_ARGS, file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      if (r.error) throw r.error;
      expect({ status: r.status, signal: r.signal, stderr: r.stderr }, `README.md line ${block.line}`).toEqual({ status: 0, signal: null, stderr: '' });
      expect(r.stdout.trim()).not.toBe('');
      expect(r.stdout.split('\n')).toContain(line);
    });
  }
});
