// Event-loop delay while sealing big messages: tessera key.sealAsync (libuv
// pool) vs node:crypto's synchronous seal. This is the one place the bench
// times things itself: tinybench measures throughput, not the event loop.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { consume, nodeSeal } from './impls.mjs';

const ms = (ns) => ns / 1e6;
const now = () => process.hrtime.bigint();

function summary(h) {
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), samples: h.count };
}

function stats(arr) {
  const s = [...arr].sort((a, b) => a - b);
  return { min: s[0], mean: s.reduce((a, b) => a + b, 0) / s.length, max: s[s.length - 1] };
}

/**
 * key: an aes-256-gcm AeadKey; pt: the 64 MiB plaintext.
 * Returns { sealAsync, sealIntoAsync, nodeSync } in milliseconds.
 */
async function sequential(runs, pt, call) {
  const submit = [];
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = now();
  for (let i = 0; i < runs; i++) {
    const s = now();
    const p = call(); // synchronous part: argument checks + job submit
    submit.push(ms(Number(now() - s)));
    consume(await p);
  }
  const wall = ms(Number(now() - t0));
  h.disable();
  return { runs, ...summary(h), wallMsPerCall: wall / runs, MBps: (pt.length * runs) / 1e6 / (wall / 1e3), submitMs: stats(submit) };
}

export async function measureEventLoop({ key, pt, aad, keyBytes, asyncRuns = 20, nodeRuns = 5 }) {
  global.gc?.();
  await sleep(20);

  // 1) sequential sealAsync calls (a new 64 MiB output each), then the same
  // into one reused output (sealIntoAsync); the histogram samples every 1 ms.
  const sealAsync = await sequential(asyncRuns, pt, () => key.sealAsync(pt, { aad }));
  global.gc?.();
  await sleep(20);
  const out = new Uint8Array(key.sealedLength(pt.length));
  const sealIntoAsync = await sequential(asyncRuns, pt, () => key.sealIntoAsync(out, pt, { aad }));

  global.gc?.();
  await sleep(20);

  // 2) node:crypto synchronous seal: the loop is blocked for the whole call.
  const block = [];
  const h2 = monitorEventLoopDelay({ resolution: 1 });
  h2.enable();
  for (let i = 0; i < nodeRuns; i++) {
    await sleep(5); // let the histogram tick between calls
    const s = now();
    consume(nodeSeal('aes-256-gcm', keyBytes, pt, aad));
    block.push(ms(Number(now() - s)));
  }
  await sleep(5);
  h2.disable();
  const nodeSync = { runs: nodeRuns, ...summary(h2), blockingMs: stats(block) };
  consume(null);
  return { sealAsync, sealIntoAsync, nodeSync };
}
