// Event-loop delay while tessera works in the background: the chunked
// section's workloads (async buffers, caller-owned outputs, files, Node and
// Web streams) run back to back while perf_hooks.monitorEventLoopDelay
// samples the loop every 1 ms and a PerformanceObserver records GC pauses.
// Each sample is the time between 1 ms timer ticks, so an idle loop reads
// about 1 ms (idleLoop() measures that floor in the same run).
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const nsToMs = (ns) => ns / 1e6;
const PIECE = 1 << 20; // stream input pieces: 1 MiB

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- written, never read: holds each benchmarked call's result so the optimiser cannot drop the work
let sink;
const gc = () => {
  sink = null;
  global.gc?.();
};

function gcObserver() {
  const pauses = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push(e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      await sleep(10); // let the observer deliver
      obs.disconnect();
      return { count: pauses.length, totalMs: pauses.reduce((a, b) => a + b, 0), maxMs: pauses.length ? Math.max(...pauses) : 0 };
    },
  };
}

/**
 * Runs step() back to back for at least durationMs and at least one step;
 * step resolves to the bytes it processed. submit(): the synchronous part of
 * a step, when the step reports it (it returns { bytes, submitMs }).
 */
export async function loopDuring(step, durationMs) {
  gc();
  await sleep(20);
  const obs = gcObserver();
  const h = monitorEventLoopDelay({ resolution: 1 });
  const submit = [];
  let steps = 0,
    bytes = 0;
  h.enable();
  const t0 = performance.now();
  while (steps === 0 || performance.now() - t0 < durationMs) {
    const r = await step();
    bytes += r.bytes;
    if (r.submitMs) submit.push(...r.submitMs);
    steps++;
  }
  const wall = performance.now() - t0;
  h.disable();
  sink = null;
  return {
    steps,
    wallMs: wall,
    MBps: bytes / 1e6 / (wall / 1000),
    p50: nsToMs(h.percentile(50)),
    p99: nsToMs(h.percentile(99)),
    max: nsToMs(h.max),
    mean: nsToMs(h.mean),
    samples: h.count,
    submitMs: submit.length ? { mean: submit.reduce((a, b) => a + b, 0) / submit.length, max: Math.max(...submit) } : undefined,
    gc: await obs.stop(),
  };
}

/** The histogram with nothing running: its p99 is the floor (it includes the 1 ms sampling interval). */
export async function idleLoop(durationMs) {
  gc();
  await sleep(50);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(durationMs);
  h.disable();
  return { durationMs, p50: nsToMs(h.percentile(50)), p99: nsToMs(h.percentile(99)), max: nsToMs(h.max), samples: h.count };
}

/**
 * Reference without any crypto: allocate two fresh outputs of `size` per
 * periodMs (what the allocating async calls hand to JS, at their pace), so
 * the share of the delay that is V8 collecting large ArrayBuffers shows on
 * its own.
 */
export async function allocOnlyLoop(size, periodMs, durationMs) {
  gc();
  await sleep(20);
  const obs = gcObserver();
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  let pairs = 0;
  while (performance.now() - t0 < durationMs) {
    sink = Buffer.allocUnsafeSlow(size + size / 1024 + 72); // ~ an encryptChunked output
    await sleep(periodMs / 2);
    sink = Buffer.allocUnsafeSlow(size); // a decryptChunked output
    await sleep(periodMs / 2);
    pairs++;
  }
  h.disable();
  sink = null;
  return { pairs, periodMs, p50: nsToMs(h.percentile(50)), p99: nsToMs(h.percentile(99)), max: nsToMs(h.max), samples: h.count, gc: await obs.stop() };
}

/** A Node Readable of `buf` in 1 MiB pieces (views, no copies). */
export function pieces(buf) {
  let at = 0;
  return new Readable({
    highWaterMark: 4,
    objectMode: true,
    read() {
      this.push(at < buf.length ? buf.subarray(at, (at += PIECE)) : null);
    },
  });
}

/** A Web ReadableStream of `buf` in 1 MiB pieces. */
export function webPieces(buf) {
  let at = 0;
  return new ReadableStream(
    {
      pull(c) {
        if (at < buf.length) c.enqueue(buf.subarray(at, (at += PIECE)));
        else c.close();
      },
    },
    { highWaterMark: 4 },
  );
}

/** Consumes a Node stream, counting bytes. */
export async function drainNode(source, transform) {
  let n = 0;
  await pipeline(
    source,
    transform,
    new Writable({
      write(c, _e, cb) {
        n += c.length;
        cb();
      },
    }),
  );
  return n;
}

/** Consumes a Web stream, counting bytes. */
export async function drainWeb(source, transform) {
  let n = 0;
  await source.pipeThrough(transform).pipeTo(
    new WritableStream({
      write(c) {
        n += c.length;
      },
    }),
  );
  return n;
}
