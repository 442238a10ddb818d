/**
 * Push-based Cobblestone encryption and decryption, the engine behind the
 * Node and Web stream classes and decryptFile's pipe input
 * (c2sp.org/chunked-encryption, "Implementation notes"). Input arrives in
 * arbitrary pieces and is copied into batches of STREAM_BATCH chunks; each
 * full batch goes to the worker pool as one job, so a thread hop is paid per
 * batch, not per chunk.
 *
 * Several batches run at once (docs/API.md "Chunked encryption": in-flight
 * limit): a batch is submitted as soon as it is full while the batches
 * submitted and not yet delivered hold at most `maxInFlight` bytes (counted
 * as plaintext, 1 MiB per full batch; at least one batch). Each job runs on
 * its own handle of the same message (a handle runs one job at a time), with
 * the chunk counter fixed at submission. Outputs are delivered in order: a
 * batch that finishes early waits for the ones before it. write() resolves
 * only once its bytes are copied and submitted, so a producer faster than
 * the pool waits there; a sink that reports itself full (the readable side
 * of a stream above its highWaterMark) holds submissions back as well.
 *
 * Decryption delivers a batch's plaintext only after every chunk in it
 * verified, holds back the tail until it knows which chunk is final (the
 * short one at the end of the input), and once it fails it keeps failing:
 * later batches' plaintext is wiped, never delivered.
 */
import type { ChunkedHandle } from '../backend/types';
import { TesseraError } from '../errors';
import { describe } from '../format';
import { CHUNK_CT, CHUNK_SIZE, type ChunkedOptions, cipher, HEADER_SIZE, randomSalt, type Resolved, SALT_SIZE, TAG_SIZE } from './options';

/** Chunks per pool job in a stream: 64 x 16 KiB = 1 MiB (docs/API.md "Chunked encryption": 1 MiB batches). */
export const STREAM_BATCH = 64;
/** Plaintext bytes of a full stream batch (the unit of the in-flight limit). */
export const STREAM_BATCH_BYTES = STREAM_BATCH * CHUNK_SIZE;
/** Final runs up to this size run on the calling thread: the hop would cost more. */
const SYNC_MAX = 64 * 1024;

/** Options of the Node and Web streams: the Cobblestone options and how much may be in flight on the pool. */
export interface StreamOptions extends ChunkedOptions {
  /**
   * At most this many bytes (plaintext, 1 MiB per batch) submitted to the
   * pool and not yet handed to the reader; at least one batch runs whatever
   * the value. Default: the pool size x 1 MiB (the CPU count unless
   * configured), so that every core has a batch while the reader drains.
   */
  maxInFlight?: number;
}

/** Where an engine delivers its output, in stream order. */
export interface StreamSink {
  data(chunk: Uint8Array): void;
  /** A failure that happened outside a write()/end() call (a batch failed on the pool). */
  error?(e: unknown): void;
  /** undefined when the sink takes more now; else a promise that settles once it may. */
  ready?(): Promise<void> | undefined;
}

export function chunkBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new TesseraError('ERR_ARGUMENT', `stream chunks must be Uint8Array or Buffer (got ${describe(v)})`);
}

/** The in-flight limit in bytes: options.maxInFlight, else the pool size x one batch. */
export function inFlightLimit(r: Resolved, opts: StreamOptions | undefined): number {
  const v = opts?.maxInFlight;
  if (v === undefined) return Math.max(1, r.backend.pool().size) * STREAM_BATCH_BYTES;
  if (!(Number.isSafeInteger(v) && v >= 1))
    throw new TesseraError('ERR_ARGUMENT', `options.maxInFlight must be a positive integer number of bytes (got ${describe(v)})`);
  return v;
}

interface Job {
  /** Plaintext-equivalent bytes counted against the limit. */
  weight: number;
  done: boolean;
  out?: Uint8Array;
  err?: unknown;
}

abstract class Engine {
  protected readonly r: Resolved;
  /** The message's salt, once known: every handle of this message is made from it. */
  protected salt: Uint8Array | undefined;
  protected counter = 0;
  readonly #seal: boolean;
  readonly #limit: number;
  readonly #sink: StreamSink;
  #collected: Uint8Array[] = [];
  readonly #handles: ChunkedHandle[] = [];
  readonly #idle: ChunkedHandle[] = [];
  readonly #queue: Job[] = [];
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  #failed: unknown;
  #done = false;
  #ending = false;

  constructor(r: Resolved, seal: boolean, limit: number, sink: StreamSink | undefined) {
    this.r = r;
    this.#seal = seal;
    this.#limit = limit;
    this.#sink = sink ?? { data: (c) => this.#collected.push(c) };
  }

  /** Takes data; resolves once it is copied and every batch it filled is submitted. */
  async write(data: Uint8Array): Promise<void> {
    this.#guard();
    try {
      await this.consume(chunkBytes(data));
      this.#check();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Ends the message; resolves once every output is delivered. */
  async end(): Promise<void> {
    this.#guard();
    this.#ending = true;
    try {
      await this.last();
      while (this.#queue.length > 0) {
        await this.#wait();
        this.#check();
      }
      // A job that settled at submission (the final one, run in place) has
      // been delivered or failed by now with nobody waiting: look again.
      this.#check();
      this.#done = true;
      this.dispose();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** write(), then the outputs delivered so far (no sink given). */
  async push(data: Uint8Array): Promise<Uint8Array[]> {
    await this.write(data);
    return this.#take();
  }

  /** end(), then the remaining outputs (no sink given). */
  async finish(): Promise<Uint8Array[]> {
    await this.end();
    return this.#take();
  }

  /**
   * Zeroizes the derived keys (also done by end and on failure; a running
   * job's handle lets go when it settles). Before the end this fails the
   * engine: a destroyed stream takes no more input.
   */
  dispose(): void {
    if (!this.#done && this.#failed === undefined) this.#fail(new TesseraError('ERR_DISPOSED', 'chunked stream was disposed before its end'));
    for (const h of this.#handles.splice(0)) h.dispose();
    this.#idle.length = 0;
  }

  /** A handle of this message made by the subclass (the header's), kept for the first job. */
  protected adopt(h: ChunkedHandle): void {
    this.#handles.push(h);
    this.#idle.push(h);
  }

  protected abstract consume(data: Uint8Array): Promise<void>;
  protected abstract last(): Promise<void>;

  /** Delivers bytes ahead of every batch (the encryptor's header). */
  protected emit(b: Uint8Array): void {
    this.#sink.data(b);
  }

  /** Waits until a batch of `weight` bytes fits under the limit and the sink takes more. */
  protected async room(weight: number): Promise<void> {
    for (;;) {
      this.#check();
      if (this.#inFlight > 0 && this.#inFlight + weight > this.#limit) {
        await this.#wait();
        continue;
      }
      const ready = this.#ending ? undefined : this.#sink.ready?.();
      if (ready === undefined) return;
      await ready;
    }
  }

  /** Submits a run of chunks at the next counter; `input` stays untouched until the job settles. */
  protected submit(input: Uint8Array, final: boolean, recycle?: (b: Uint8Array) => void): void {
    const seal = this.#seal;
    const units = seal ? Math.floor(input.length / CHUNK_SIZE) + (final ? 1 : 0) : Math.ceil(input.length / CHUNK_CT);
    const outLen = seal ? input.length + units * TAG_SIZE : final ? this.r.backend.chunkedOpenedLength(input.length) : units * CHUNK_SIZE;
    const weight = Math.max(1, seal ? input.length : outLen);
    const at = this.counter;
    const c = this.#handle();
    this.counter += units;
    const job: Job = { weight, done: false };
    const settle = (out: Uint8Array | undefined, err?: unknown) => {
      job.done = true;
      if (err !== undefined) job.err = err;
      else job.out = out;
      if (this.#handles.includes(c)) this.#idle.push(c);
      if (recycle) recycle(input);
      this.#pump();
    };
    this.#queue.push(job);
    this.#inFlight += weight;
    let p: Promise<Uint8Array> | Uint8Array;
    try {
      if (final && input.length <= SYNC_MAX) {
        const out = this.r.backend.allocOutput(outLen);
        p = out.subarray(0, seal ? c.seal(at, input, out, final, this.r.threads) : c.open(at, input, out, final, this.r.threads));
      } else {
        // The workers allocate the batch's output (docs/API.md "Output memory").
        p = seal ? c.sealAlloc(at, input, final, this.r.threads) : c.openAlloc(at, input, final, this.r.threads);
      }
    } catch (e) {
      settle(undefined, e);
      return;
    }
    if (p instanceof Uint8Array) settle(p);
    else
      p.then(
        (out) => settle(out),
        (e: unknown) => settle(undefined, e),
      );
  }

  #handle(): ChunkedHandle {
    const idle = this.#idle.pop();
    if (idle) return idle;
    const h = cipher(this.r, this.salt!);
    this.#handles.push(h);
    return h;
  }

  /** Delivers finished jobs from the head of the queue, in order; the first failure fails the stream. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#queue[0]!.done) {
      const job = this.#queue.shift()!;
      this.#inFlight -= job.weight;
      if (this.#failed !== undefined) {
        if (!this.#seal) job.out?.fill(0); // verified, but after a failure: never delivered
        continue;
      }
      if (job.err !== undefined) {
        const e = this.#fail(job.err);
        this.#sink.error?.(e);
        continue;
      }
      if (job.out!.length > 0) this.#sink.data(job.out!);
    }
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Settles at the next delivery or failure. */
  #wait(): Promise<void> {
    return new Promise((res) => this.#waiters.push(res));
  }

  #take(): Uint8Array[] {
    const out = this.#collected;
    this.#collected = [];
    return out;
  }

  #check(): void {
    if (this.#failed !== undefined) throw this.#failed;
  }

  #guard(): void {
    this.#check(); // sticky: a failed stream never ends cleanly
    if (this.#done || this.#ending) throw new TesseraError('ERR_ARGUMENT', 'chunked stream already finished');
  }

  #fail(e: unknown): unknown {
    if (this.#failed !== undefined) return this.#failed;
    this.#failed = e;
    this.dispose();
    if (!this.#seal) for (const c of this.#take()) c.fill(0);
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
    return e;
  }
}

/** Fixed-size input buffers reused across batches (at most the in-flight count plus one exist). */
class Buffers {
  #free: Uint8Array[] = [];
  constructor(readonly size: number) {}
  get(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }
  put = (b: Uint8Array): void => {
    if (b.byteOffset === 0 && b.length === this.size) this.#free.push(b);
  };
}

export class ChunkEncryptor extends Engine {
  #header: Uint8Array | undefined;
  readonly #bufs = new Buffers(STREAM_BATCH * CHUNK_SIZE);
  #cur: Uint8Array | undefined;
  #fill = 0;

  constructor(r: Resolved, opts?: StreamOptions, sink?: StreamSink) {
    super(r, true, inFlightLimit(r, opts), sink);
    this.salt = randomSalt();
    const c = cipher(this.r, this.salt);
    const h = new Uint8Array(HEADER_SIZE);
    h.set(this.salt);
    h.set(c.commitment(), SALT_SIZE);
    this.adopt(c);
    this.#header = h;
  }

  #start(): void {
    if (this.#header) this.emit(this.#header);
    this.#header = undefined;
  }

  protected async consume(data: Uint8Array): Promise<void> {
    this.#start();
    let at = 0;
    while (at < data.length) {
      const cur = (this.#cur ??= this.#bufs.get());
      const n = Math.min(cur.length - this.#fill, data.length - at);
      cur.set(data.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      if (this.#fill === cur.length) {
        await this.room(cur.length);
        this.submit(cur, false, this.#bufs.put);
        this.#cur = undefined;
        this.#fill = 0;
      }
    }
  }

  protected async last(): Promise<void> {
    this.#start();
    const rest = this.#cur ? this.#cur.subarray(0, this.#fill) : new Uint8Array(0);
    await this.room(rest.length);
    this.submit(rest, true);
  }
}

export class ChunkDecryptor extends Engine {
  readonly #head = new Uint8Array(HEADER_SIZE);
  #headFill = 0;
  readonly #bufs = new Buffers(STREAM_BATCH * CHUNK_CT);
  #cur: Uint8Array | undefined;
  #fill = 0;

  constructor(r: Resolved, opts?: StreamOptions, sink?: StreamSink) {
    super(r, false, inFlightLimit(r, opts), sink);
  }

  protected async consume(data: Uint8Array): Promise<void> {
    let at = 0;
    if (!this.salt) {
      at = Math.min(HEADER_SIZE - this.#headFill, data.length);
      this.#head.set(data.subarray(0, at), this.#headFill);
      this.#headFill += at;
      if (this.#headFill < HEADER_SIZE) return;
      const c = cipher(this.r, this.#head.subarray(0, SALT_SIZE));
      try {
        c.check(this.#head.subarray(SALT_SIZE)); // before any chunk is decrypted
      } catch (e) {
        c.dispose();
        throw e;
      }
      this.adopt(c);
      this.salt = this.#head.slice(0, SALT_SIZE);
    }
    while (at < data.length) {
      // A full batch is submitted only once a byte past it has arrived: the
      // last chunk of the input is the final one.
      if (this.#cur && this.#fill === this.#cur.length) {
        await this.room(STREAM_BATCH_BYTES);
        this.submit(this.#cur, false, this.#bufs.put);
        this.#cur = undefined;
        this.#fill = 0;
      }
      const cur = (this.#cur ??= this.#bufs.get());
      const n = Math.min(cur.length - this.#fill, data.length - at);
      cur.set(data.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
    }
  }

  protected async last(): Promise<void> {
    if (!this.salt) throw new TesseraError('ERR_TRUNCATED', `chunked ciphertext too short: ${this.#headFill} bytes (at least ${HEADER_SIZE + TAG_SIZE})`);
    // What is left must end in a valid final chunk (ERR_TRUNCATED otherwise).
    const rest = this.#cur ? this.#cur.subarray(0, this.#fill) : new Uint8Array(0);
    await this.room(rest.length);
    this.submit(rest, true);
  }
}
