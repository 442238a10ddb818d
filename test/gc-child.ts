/**
 * Runs a script in a child Node on the test build of the addon with
 * --expose-gc (checks that need global.gc() or a fresh process's RSS), and
 * returns the JSON of its last stdout line. Anything on stderr or a nonzero
 * exit fails the test.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

import { root, TEST_BUILD_ARGS } from './tessera';

export function gcChild(script: string, timeout = 120_000): any {
  const r = spawnSync(process.execPath, [...TEST_BUILD_ARGS, '--expose-gc', '-e', script], { cwd: root, encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}
