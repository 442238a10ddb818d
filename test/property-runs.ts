/**
 * The one knob of the property suites (test/*.property.test.ts, fast-check):
 * how many cases each property runs.
 *
 *   TESSERA_PROPERTY_RUNS=<n>  cases per property (default CI_RUNS: every
 *                              property file together stays under ~30 s in CI)
 *   TESSERA_PROPERTY_SEED=<n>  replays a run: fast-check prints the seed and
 *                              the shrunk counterexample of a failure
 *
 * Test timeouts grow with the case count (scaleTimeout), so a run with
 * TESSERA_PROPERTY_RUNS=100000 is not cut off by the 120 s default of
 * vitest.config.mts; a case that hangs still fails its test (and async
 * properties also give each case a fast-check timeout).
 */
import fc from 'fast-check';
import { vi } from 'vitest';

/** Cases per property in CI (`npm test`). */
export const CI_RUNS = 200;

/** Cases per property: TESSERA_PROPERTY_RUNS, else CI_RUNS. */
export function runs(): number {
  const n = Number(process.env.TESSERA_PROPERTY_RUNS);
  return Number.isSafeInteger(n) && n > 0 ? n : CI_RUNS;
}

/** fast-check parameters of every property: runs() cases, the replay seed if one is set. */
export function params<T>(extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  const seed = process.env.TESSERA_PROPERTY_SEED;
  return { numRuns: runs(), ...(seed !== undefined && seed !== '' ? { seed: Number(seed) } : {}), ...extra };
}

/**
 * Called once by each property file: its tests time out after runs() cases of
 * msPerCase each (the file's slowest case, with margin), never before
 * vitest.config.mts's 120 s.
 */
export function scaleTimeout(msPerCase: number): void {
  vi.setConfig({ testTimeout: Math.max(120_000, Math.ceil(runs() * msPerCase)) });
}
