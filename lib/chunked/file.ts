/**
 * Files: Cobblestone from one path to another, on the worker pool, with
 * reading, encryption and writing overlapped (batch i is written while batch
 * i + 1 is encrypted and batch i + 2 is read). The output goes to a temp
 * file that is fsynced and renamed over dst only when complete, so a failure
 * or an abort never leaves a partial or unauthenticated file at dst.
 *
 * Regular files on the native backend go through one native job
 * (ChunkedHandle.fileAsync: native/pool/tsr_chunked_file.c reads with pread,
 * seals or opens and writes with pwrite on the pool; docs/ARCHITECTURE.md
 * "Files"): JS opens the files, writes or checks the header and finishes the
 * atomic output. Pipes, and the WASM backend, use the JS loop below.
 */
import * as fs from 'node:fs/promises';
import { getSystemErrorMap } from 'node:util';

import type { ChunkedHandle } from '../backend/types';
import { TesseraError } from '../errors';
import { describe } from '../format';
import { aborted, atomicOutput, type Input, ioError, readFull, writeAll } from './io';
import {
  CHUNK_CT,
  CHUNK_SIZE,
  type ChunkedKey,
  type ChunkedOptions,
  cipher,
  decryptedLength,
  HEADER_SIZE,
  randomSalt,
  type Resolved,
  resolve,
  SALT_SIZE,
} from './options';
import { ChunkDecryptor } from './stream-core';

/** Chunks per pool job for files: 256 x 16 KiB = 4 MiB (docs/API.md "Chunked encryption": 4 MiB batches). */
export const FILE_BATCH = 256;

/** What encryptFile / decryptFile report to `onProgress`: at most once per 4 MiB batch, ending at the input size. */
export interface FileProgress {
  /** Input bytes processed so far. */
  bytes: number;
  /** Input size, when the input is a regular file. */
  total: number | undefined;
}

/** Options of encryptFile / decryptFile: the Cobblestone options, progress and cancellation. */
export interface FileOptions extends ChunkedOptions {
  /** Called as batches complete (fewer, larger steps while the event loop is busy). */
  onProgress?: (p: FileProgress) => void;
  /** Aborts between 4 MiB batches: ERR_ABORTED, `dst` untouched and no temp file left. */
  signal?: AbortSignal;
}

/** What the internal file loops read from the options. */
type RunOptions = Pick<FileOptions, 'onProgress' | 'signal'>;

/** @internal the CLI writes its envelope header before the ciphertext and reads past it. */
export interface EnvelopeOptions {
  prefix?: Uint8Array;
  skip?: number;
}

function checkFileOpts(src: unknown, dst: unknown, opts: FileOptions | undefined): void {
  if (typeof src !== 'string' || typeof dst !== 'string')
    throw new TesseraError('ERR_ARGUMENT', `src and dst must be paths (got ${describe(src)}, ${describe(dst)})`);
  if (opts?.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new TesseraError('ERR_ARGUMENT', 'options.onProgress must be a function');
  if (opts?.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new TesseraError('ERR_ARGUMENT', 'options.signal must be an AbortSignal');
}

/** @internal the input handle and, for a regular file, its size. */
export async function openInput(src: string): Promise<[fs.FileHandle, number | undefined]> {
  const fh = await fs.open(src, 'r').catch((e: unknown) => {
    throw ioError(e, 'open input');
  });
  const st = await fh.stat();
  return [fh, st.isFile() ? st.size : undefined];
}

/** The fd of a regular-file input the native job can pread, or undefined (pipes, stdin, WASM). */
function nativeFd(input: Input, size: number | undefined, c: ChunkedHandle): number | undefined {
  if (size === undefined || typeof c.fileAsync !== 'function') return undefined;
  const fd = (input as { fd?: unknown }).fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** A failed system call worded as Node words its fs errors ("ENOSPC: no space left on device, write"). */
function sysError(errno: number, syscall: string): NodeJS.ErrnoException {
  const [code, desc] = getSystemErrorMap().get(errno) ?? [`errno ${-errno}`, 'unknown error'];
  const e: NodeJS.ErrnoException = new Error(`${code}: ${desc}, ${syscall}`);
  Object.assign(e, { errno, code, syscall });
  return e;
}

/**
 * One native job for the whole file (in: input bytes from inOff, out: from
 * outOff). Progress comes at 4 MiB batch granularity, at most one call queued
 * at a time (chunked_file.cc), and ends with the input size here; `base` is
 * what the reported counts start from (decryption: envelope + header).
 * An abort sets the job's cancel flag, which it reads before each batch step.
 */
async function runNative(
  c: ChunkedHandle,
  seal: boolean,
  inFd: number,
  inOff: number,
  inLen: number,
  out: fs.FileHandle,
  outOff: number,
  r: Resolved,
  opts: RunOptions,
  total: number | undefined,
  base: number,
  what: string,
): Promise<void> {
  let thrown: { e: unknown } | undefined; // by onProgress: cancels the job, then surfaces as today
  let reported = -1;
  const report = (bytes: number): void => {
    if (thrown || bytes <= reported || opts.signal?.aborted) return;
    reported = bytes;
    try {
      opts.onProgress!({ bytes, total });
    } catch (e) {
      thrown = { e };
      c.cancel!();
    }
  };
  const onAbort = (): void => c.cancel!();
  const job = c.fileAsync!(seal, inFd, inOff, inLen, out.fd, outOff, r.threads, opts.onProgress ? (n) => report(base + n) : undefined);
  opts.signal?.addEventListener('abort', onAbort);
  let n: number;
  try {
    n = await job;
  } catch (e) {
    if (thrown) throw thrown.e;
    const err = e as TesseraError & { errno?: unknown; syscall?: unknown };
    if (err.code === 'ERR_ABORTED') aborted(opts.signal, what);
    if (err.code === 'ERR_IO' && typeof err.errno === 'number' && typeof err.syscall === 'string') {
      const sys = sysError(err.errno, err.syscall);
      throw err.syscall === 'read' ? ioError(sys, 'read input') : sys; // writes: atomicOutput names the call, as writeAll's errors
    }
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (opts.onProgress) report(base + n);
  if (thrown) throw thrown.e;
}

/**
 * The overlapped loop (pipes and the WASM backend). next(buf) reads one batch and says whether it is the
 * last; work(input, out, last) seals or opens it into out.
 */
async function pump(
  out: fs.FileHandle,
  inSize: number,
  outSize: number,
  opts: RunOptions,
  total: number | undefined,
  what: string,
  bytes: number,
  next: (buf: Uint8Array) => Promise<[number, boolean]>,
  work: (input: Uint8Array, out: Uint8Array, last: boolean) => Promise<number>,
): Promise<void> {
  let inputs = [Buffer.allocUnsafeSlow(inSize), Buffer.allocUnsafeSlow(inSize)];
  let outputs = [Buffer.allocUnsafeSlow(outSize), Buffer.allocUnsafeSlow(outSize)];
  // A read or write in flight may fail while this loop awaits something
  // else: each gets a handler at once (no unhandled rejection), and the
  // failure surfaces where it is awaited.
  const inFlight = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => undefined);
    return p;
  };
  let reading = inFlight(next(inputs[0]!));
  let writing: Promise<void> = Promise.resolve();
  try {
    for (;;) {
      aborted(opts.signal, what);
      const [n, last] = await reading;
      if (!last) reading = inFlight(next(inputs[1]!));
      const m = await work(inputs[0]!.subarray(0, n), outputs[0]!, last);
      await writing;
      writing = inFlight(writeAll(out, outputs[0]!.subarray(0, m)));
      bytes += n;
      opts.onProgress?.({ bytes, total });
      if (last) break;
      inputs = [inputs[1]!, inputs[0]!];
      outputs = [outputs[1]!, outputs[0]!];
    }
  } finally {
    // Never leave a read or write running against handles about to close.
    await Promise.allSettled([reading, writing]);
  }
  await writing;
}

/** @internal */
export async function sealFile(src: string, dst: string, r: Resolved, opts: RunOptions, env: EnvelopeOptions = {}): Promise<void> {
  aborted(opts.signal, 'encryptFile');
  const [input, total] = await openInput(src);
  return sealHandle(input, total, dst, r, opts, env);
}

/** @internal sealFile on an open input (closed when done). */
export async function sealHandle(
  input: Input,
  total: number | undefined,
  dst: string,
  r: Resolved,
  opts: RunOptions,
  env: EnvelopeOptions = {},
): Promise<void> {
  const what = 'encryptFile';
  let c: ChunkedHandle | undefined;
  try {
    await atomicOutput(dst, 0o666, opts.signal, what, async (out) => {
      const salt = randomSalt();
      c = cipher(r, salt);
      const head = new Uint8Array((env.prefix?.length ?? 0) + HEADER_SIZE);
      head.set(env.prefix ?? new Uint8Array(0));
      head.set(salt, head.length - HEADER_SIZE);
      head.set(c.commitment(), head.length - HEADER_SIZE + SALT_SIZE);
      await writeAll(out, head);
      const fd = nativeFd(input, total, c);
      if (fd !== undefined) return runNative(c, true, fd, 0, total!, out, head.length, r, opts, total, 0, what);
      const batch = FILE_BATCH * CHUNK_SIZE;
      let pos = 0;
      let counter = 0;
      const seekable = total !== undefined;
      await pump(
        out,
        batch,
        FILE_BATCH * CHUNK_CT + CHUNK_CT,
        opts,
        total,
        what,
        0,
        async (buf) => {
          const n = await readFull(input, buf, seekable ? pos : null).catch((e: unknown) => {
            throw ioError(e, 'read input');
          });
          pos += n;
          return [n, n < buf.length];
        },
        async (pt, ct, last) => {
          const at = counter;
          counter += pt.length / CHUNK_SIZE;
          return c!.sealAsync(at, pt, ct, last, r.threads);
        },
      );
    });
  } finally {
    c?.dispose();
    await input.close().catch(() => undefined);
  }
}

/** @internal */
export async function openFile(src: string, dst: string, r: Resolved, opts: RunOptions, env: EnvelopeOptions = {}): Promise<void> {
  aborted(opts.signal, 'decryptFile');
  const [input, size] = await openInput(src);
  return openHandle(input, size, dst, r, opts, env);
}

/**
 * @internal openFile on an open input (closed when done). size undefined: a
 * pipe, read from its current position, with env.skip bytes already consumed.
 */
export async function openHandle(input: Input, size: number | undefined, dst: string, r: Resolved, opts: RunOptions, env: EnvelopeOptions = {}): Promise<void> {
  const what = 'decryptFile';
  const skip = env.skip ?? 0;
  try {
    if (size === undefined) return await openStream(input, dst, r, opts);
    const body = size - skip;
    const ptlen = decryptedLength(body, r.backend);
    const head = new Uint8Array(HEADER_SIZE);
    if ((await readFull(input, head, skip)) < HEADER_SIZE) throw new TesseraError('ERR_TRUNCATED', 'chunked file shrank while it was being read');
    const c = cipher(r, head.subarray(0, SALT_SIZE));
    try {
      c.check(head.subarray(SALT_SIZE));
      await atomicOutput(dst, 0o600, opts.signal, what, async (out) => {
        const fd = nativeFd(input, size, c);
        if (fd !== undefined) return runNative(c, false, fd, skip + HEADER_SIZE, body - HEADER_SIZE, out, 0, r, opts, size, skip + HEADER_SIZE, what);
        // Runs end at chunk boundaries; the run holding the final chunk is
        // `last` and takes whatever remains.
        const lastChunk = Math.floor(ptlen / CHUNK_SIZE);
        const batch = FILE_BATCH * CHUNK_CT;
        let pos = skip + HEADER_SIZE;
        let readAt = 0; // first chunk of the next batch to read
        let openAt = 0; // ... and to open (work runs in order, behind the reads)
        // Progress counts input bytes, the envelope and header included, so it ends at `size`.
        await pump(
          out,
          batch + CHUNK_CT,
          FILE_BATCH * CHUNK_SIZE + CHUNK_SIZE,
          opts,
          size,
          what,
          skip + HEADER_SIZE,
          async (buf) => {
            const last = readAt + FILE_BATCH > lastChunk;
            const want = last ? size - pos : batch; // the last run: < FILE_BATCH + 1 chunks
            const n = await readFull(input, buf.subarray(0, want), pos).catch((e: unknown) => {
              throw ioError(e, 'read input');
            });
            if (n < want) throw new TesseraError('ERR_TRUNCATED', 'chunked file shrank while it was being read');
            pos += n;
            readAt += FILE_BATCH;
            return [n, last];
          },
          async (ct, pt, last) => {
            const at = openAt;
            openAt += FILE_BATCH;
            return c.openAsync(at, ct, pt, last, r.threads);
          },
        );
      });
    } finally {
      c.dispose();
    }
  } finally {
    await input.close().catch(() => undefined);
  }
}

/** Inputs that are not regular files (pipes, devices): the streaming decryptor, 1 MiB at a time. */
async function openStream(input: Input, dst: string, r: Resolved, opts: RunOptions): Promise<void> {
  const what = 'decryptFile';
  const dec = new ChunkDecryptor(r);
  await atomicOutput(dst, 0o600, opts.signal, what, async (out) => {
    const buf = Buffer.allocUnsafeSlow(1 << 20);
    let bytes = 0;
    for (;;) {
      aborted(opts.signal, what);
      const n = await readFull(input, buf, null);
      for (const o of await dec.push(buf.subarray(0, n))) await writeAll(out, o);
      bytes += n;
      opts.onProgress?.({ bytes, total: undefined });
      if (n < buf.length) break;
    }
    for (const o of await dec.finish()) await writeAll(out, o);
  }).finally(() => dec.dispose());
}

/** Encrypts the file at src into a Cobblestone file at dst (atomically; see the module comment). */
export async function encryptFile(src: string, dst: string, key: ChunkedKey, opts: FileOptions): Promise<void> {
  checkFileOpts(src, dst, opts);
  return sealFile(src, dst, resolve(key, opts), opts);
}

/** Decrypts the Cobblestone file at src into dst; dst appears only once every chunk verified. */
export async function decryptFile(src: string, dst: string, key: ChunkedKey, opts: FileOptions): Promise<void> {
  checkFileOpts(src, dst, opts);
  return openFile(src, dst, resolve(key, opts), opts);
}
