/**
 * Parallel chunk work for the WASM backend (docs/ARCHITECTURE.md): Web
 * Workers in browsers, worker_threads in Node, each with its own module
 * instance. A run is cut into 32-chunk tasks (512 KiB, the batch size of the
 * native pool, native/pool/tsr_chunked_pool.c) that workers claim one by
 * one, two in flight per worker so none waits on a message hop. The first
 * failure in stream order is reported and a failed open leaves no plaintext
 * in the output. The platform entry (node.ts / browser.ts) supplies the
 * worker factory; without one, runs stay on the calling thread.
 *
 * Each task travels in one task-sized ArrayBuffer: the input goes to the
 * worker in it, the output comes back in it, and the pool reuses it for a
 * later task. Nothing per task is left for either thread's garbage
 * collector, so memory stays flat however long a stream runs.
 */
import { statusError } from '../front/status';
import { CHUNK_CT, CHUNK_PT, TAG } from './wasm-engine';
import type { WasmFlavor } from './wasm-engine';

export const TASK_CHUNKS = 32;
const IN_FLIGHT = 2;
/** Fits any task's input and its output: a sealed task adds at most one tag per chunk plus an empty final chunk. */
const TASK_BYTES = (TASK_CHUNKS + 1) * CHUNK_CT;

/** What a worker receives per task (wasm-worker-core.ts). */
export interface TaskMessage {
  id: number;
  suite: number;
  key: ArrayBuffer;
  nonce: ArrayBuffer;
  seal: boolean;
  lo: number;
  hi: number;
  final: boolean;
  /** TASK_BYTES long; the task's input is its first `n` bytes. */
  buf: ArrayBuffer;
  n: number;
}
export interface TaskResult {
  id: number;
  st: number;
  /** The task's buffer, back with the output in its first `len` bytes. */
  buf: ArrayBuffer;
  len: number;
}

/** A worker as the pool sees it, whatever the platform. */
export interface PoolWorker {
  post(msg: unknown, transfer: ArrayBuffer[]): void;
  onResult(cb: (r: TaskResult) => void): void;
  terminate(): void;
  /** Node: keep the process alive while tasks are in flight. */
  busy?(on: boolean): void;
}
export type WorkerFactory = (module: WebAssembly.Module, flavor: WasmFlavor) => PoolWorker;

export interface PoolJob {
  suite: number;
  key: Uint8Array;
  nonce: Uint8Array;
  seal: boolean;
  counter: number;
  input: Uint8Array;
  out: Uint8Array;
  final: boolean;
  need: number;
  width: number;
}

interface Slot {
  w: PoolWorker;
  inFlight: number;
  handlers: Map<number, (r: TaskResult) => void>;
}

export class WasmPool {
  readonly cpus: number;
  #size: number;
  #slots: Slot[] = [];
  #nextId = 1;
  #started = 0;
  /** Task buffers back from workers, ready for reuse (at most two per in-flight task slot). */
  #free: ArrayBuffer[] = [];
  /** Each unfinished run's dispatcher, oldest first: a slot freed by any run's task goes to the oldest run with tasks left. */
  #runs: (() => void)[] = [];

  constructor(
    readonly module: WebAssembly.Module,
    readonly flavor: WasmFlavor,
    cpus: number,
    readonly factory: WorkerFactory | undefined,
  ) {
    this.cpus = Math.max(1, cpus);
    this.#size = this.cpus;
  }

  get available(): boolean {
    return this.factory !== undefined;
  }

  get size(): number {
    return this.#size;
  }

  /** Tasks of every unfinished run not yet posted to a worker. */
  get queued(): number {
    return this.#queued;
  }
  #queued = 0;

  /** Read-only counters for tests: workers started and tasks dispatched since creation. */
  stats(): { workers: number; tasks: number } {
    return { workers: this.#started, tasks: this.#nextId - 1 };
  }

  /** 0 means the CPU count. Surplus workers are stopped once idle. */
  resize(n: number): void {
    this.#size = n || this.cpus;
    for (const s of this.#slots.splice(this.#size)) if (s.inFlight === 0) s.w.terminate();
  }

  #slot(i: number): Slot {
    let s = this.#slots[i];
    if (!s) {
      const w = this.factory!(this.module, this.flavor);
      this.#started++;
      const slot: Slot = { w, inFlight: 0, handlers: new Map() };
      w.onResult((r) => {
        const h = slot.handlers.get(r.id);
        slot.handlers.delete(r.id);
        if (--slot.inFlight === 0) w.busy?.(false);
        h?.(r);
      });
      s = this.#slots[i] = slot;
    }
    return s;
  }

  run(job: PoolJob): Promise<number> {
    const unit = job.seal ? CHUNK_PT : CHUNK_CT;
    const span = TASK_CHUNKS * unit;
    // The last task takes the remainder; in a final run that includes the
    // final chunk (an empty one after a multiple of 16 KiB when sealing).
    const count = Math.max(1, Math.ceil(job.input.length / span));
    const width = Math.min(job.width, this.#size, count);
    return new Promise<number>((resolve, reject) => {
      let next = 0,
        done = 0,
        firstBad = Infinity,
        badStatus = 0,
        total = 0;
      const finish = () => {
        this.#queued -= count - next; // never posted (after a failure)
        this.#runs.splice(this.#runs.indexOf(fill), 1);
        job.key.fill(0);
        if (firstBad !== Infinity) {
          if (!job.seal) job.out.fill(0, 0, job.need);
          reject(statusError(badStatus, job.seal ? 'encrypt chunks' : 'decrypt chunks'));
        } else resolve(total);
      };
      const dispatch = (slot: Slot) => {
        // After a failure only earlier tasks still run: the error reported
        // is the first in stream order, as in the native pool.
        while (slot.inFlight < IN_FLIGHT && next < count && next < firstBad) {
          const t = next++;
          this.#queued--;
          const a = t * span;
          const b = t === count - 1 ? job.input.length : a + span;
          const chunksBefore = t * TASK_CHUNKS;
          const outAt = job.seal ? a + chunksBefore * TAG : a - chunksBefore * TAG;
          const counter = job.counter + chunksBefore;
          const id = this.#nextId++;
          const key = job.key.slice().buffer; // each task's copy is wiped by the worker
          const msg: TaskMessage = {
            id,
            suite: job.suite,
            key,
            nonce: job.nonce.slice().buffer,
            seal: job.seal,
            lo: counter % 2 ** 32,
            hi: Math.floor(counter / 2 ** 32),
            final: job.final && t === count - 1,
            // A copy of just this task's bytes in a pooled buffer (the
            // transfer detaches what it sends, never the caller's memory).
            buf: this.#buffer(),
            n: b - a,
          };
          new Uint8Array(msg.buf).set(job.input.subarray(a, b));
          slot.handlers.set(id, (r) => {
            if (r.st !== 0) {
              if (t < firstBad) {
                firstBad = t;
                badStatus = r.st;
              }
            } else if (t < firstBad) {
              job.out.set(new Uint8Array(r.buf, 0, r.len), outAt);
              total += r.len;
            }
            if (!job.seal) new Uint8Array(r.buf, 0, r.len).fill(0); // the task's plaintext copy
            this.#recycle(r.buf);
            done++;
            if (done === next && (next === count || next >= firstBad)) finish();
            this.#kick();
          });
          if (slot.inFlight++ === 0) slot.w.busy?.(true);
          slot.w.post(msg, [msg.key, msg.buf]);
        }
      };
      // Slots are shared by concurrent runs (streams keep several batches
      // in flight): a run whose slots are all busy gets them as tasks finish.
      const fill = () => {
        for (let i = 0; i < Math.min(width, this.#size); i++) dispatch(this.#slot(i));
      };
      this.#queued += count;
      this.#runs.push(fill);
      fill();
    });
  }

  #buffer(): ArrayBuffer {
    return this.#free.pop() ?? new ArrayBuffer(TASK_BYTES);
  }

  #recycle(b: ArrayBuffer): void {
    if (b.byteLength === TASK_BYTES && this.#free.length < 2 * IN_FLIGHT * this.#size) this.#free.push(b);
  }

  #kick(): void {
    for (const fill of this.#runs.slice()) fill();
  }
}
