/**
 * The committed API reference (docs/api/, README "Documentation") is the
 * one the types and doc comments of lib/ generate now.
 *
 * Proves: `node scripts/docs-api.mjs --check` (TypeDoc over the package's
 * public entries, typedoc.json) regenerates the Markdown into a temp
 * directory without a TypeDoc warning (every type a public signature names
 * is exported from some entry or inlined; every {@link} resolves) and finds
 * it byte-identical to docs/api/, with no file missing or left over. After
 * a change to a public type or its doc comment, `npm run docs:api`
 * regenerates docs/api/.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

// Not test/tessera.ts's: this suite reads sources and docs only, and loads neither dist/ nor the addon.
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

test('docs/api is what `npm run docs:api` generates from lib/ (no TypeDoc warning)', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'docs-api.mjs'), '--check'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  expect(r.error).toBeUndefined();
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  expect(r.stdout).toMatch(/^docs:api --check: docs\/api is up to date \(\d+ files\)$/m);
});
