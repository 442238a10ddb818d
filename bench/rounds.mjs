// The tinybench rounds of one (alg, size) group, shared by the AEAD section
// (run.mjs) and the Node half of the wasm section (wasm.mjs).
import { Bench } from 'tinybench';

import { cpuSnapshot, mergeRounds, otherCpuPercent, sizeLabel, toRow } from './report.mjs';

// Each group runs in ROUNDS short rounds (task order reversed every other
// round); a row reports the round with the median ops/s. A burst of load
// from elsewhere on this 2-core machine then spoils one round, not a ratio.
export const ROUNDS = 3;

/** The tinybench task name of a case (also how a row is named in logs). */
export const taskName = (c) => `${c.alg} ${sizeLabel(c.size)} ${c.op} ${c.impl} ${c.api}`;

/**
 * Runs the cases ({ alg, size, op, impl, api, fn, async? }, none n/a) of
 * the group `${alg} ${sizeLabel(size)}` in ROUNDS tinybench rounds with the
 * size's settings ({ time, warmupTime, iterations?, warmupIterations? }:
 * time and iterations are split over the rounds, warm-up only in round 1).
 * Returns { rows: Map(case -> merged row, see mergeRounds), timerOverheadMs
 * (tinybench's, round 1), seconds, otherCpuPercent (other processes' share
 * of the machine's CPU meanwhile) }.
 *
 * @param {any[]} cases
 * @param {{ alg: string, size: number, time: number, warmupTime: number, iterations?: number, warmupIterations?: number }} group
 */
export async function runRounds(cases, { alg, size, time, warmupTime, iterations, warmupIterations }) {
  const perRound = new Map(cases.map((c) => [c, []]));
  const t0 = performance.now();
  const cpu0 = cpuSnapshot();
  let timerOverheadMs;
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({
      name: `${alg} ${sizeLabel(size)} round ${round + 1}`,
      timestampProvider: 'hrtimeNow',
      subtractTimerOverhead: true,
      throws: false,
      setup: () => {
        global.gc?.();
      },
      time: time / ROUNDS,
      iterations: Math.max(1, Math.ceil((iterations ?? 64) / ROUNDS)),
      warmup: round === 0, // later rounds reuse the warmed-up code
      warmupTime,
      warmupIterations,
    });
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) bench.add(taskName(c), c.fn, { async: !!c.async });
    await bench.run();
    timerOverheadMs ??= bench.timerOverhead;
    for (const c of cases) {
      c.task = bench.getTask(taskName(c));
      perRound.get(c).push(toRow(c));
    }
  }
  const rows = new Map(cases.map((c) => [c, mergeRounds(perRound.get(c))]));
  const seconds = (performance.now() - t0) / 1000;
  return { rows, timerOverheadMs, seconds, otherCpuPercent: +otherCpuPercent(cpu0, cpuSnapshot()).toFixed(1) };
}
