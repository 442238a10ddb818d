/** File plumbing for the chunked file APIs: typed I/O errors, full reads, atomic output. */
import { createHash, randomBytes } from 'node:crypto';
import * as fsCb from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { TesseraError } from '../errors';

/** A TesseraError ERR_IO for a failed system call (paths and errno are not secret); TesseraErrors pass through. */
export function ioError(e: unknown, what: string): unknown {
  if (e instanceof TesseraError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string') return new TesseraError('ERR_IO', `${what}: ${err.message}`, { cause: e });
  return e;
}

/** Input bytes from `position` (null: the current one) to the end, 1 MiB at a time. */
export async function* readChunks(input: Input, position: number | null): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = Buffer.allocUnsafeSlow(1 << 20);
    const { bytesRead } = await input.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return;
    if (position !== null) position += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

export function aborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new TesseraError('ERR_ABORTED', `${what} aborted`, { cause: signal.reason });
}

/** What the file loops read from: a fs.promises FileHandle, or stdinInput(). */
export interface Input {
  read(buf: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/**
 * Standard input as an Input, read from its current position whatever it
 * is (pipe, socket, terminal, or a file someone already read part of).
 * Opening /dev/stdin instead fails for sockets and restarts files at 0.
 */
export function stdinInput(): Input {
  return {
    read: (buf, offset, length) =>
      new Promise((resolve, reject) => {
        fsCb.read(0, buf, offset, length, null, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead })));
      }),
    close: async () => undefined,
  };
}

/** Reads until buf is full or the input ends; position null reads from the current offset (pipes). */
export async function readFull(fh: Input, buf: Uint8Array, position: number | null): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, position === null ? null : position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

export async function writeAll(fh: fs.FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done);
    done += bytesWritten;
  }
}

/**
 * Temp files are `.<dst name>.<host>-<pid>.<random>.tessera-tmp`. A process
 * killed outright (SIGKILL, power loss) cannot remove its own: the host tag
 * (a hash of os.hostname(), for directories shared between machines) and the
 * pid let a later run prove one stale (same host, process gone) and remove it.
 */
const HOST = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
const TEMP = /^\..*\.([0-9a-f]{8})-(\d+)\.[0-9a-f]{12}\.tessera-tmp$/;
/** Directories swept recently (ms timestamp): at most one readdir per directory per minute. */
const swept = new Map<string, number>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Removes the temp files in dir left by dead processes of this host (best effort). */
export async function sweepStaleTemps(dir: string): Promise<void> {
  const now = Date.now();
  if ((swept.get(dir) ?? -Infinity) > now - 60_000) return;
  swept.set(dir, now);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || m[1] !== HOST) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || alive(pid)) continue;
    await fs.unlink(path.join(dir, name)).catch(() => undefined);
  }
}

/**
 * Runs fill(fh) against a temp file next to dst, then fsyncs it, renames it
 * over dst and fsyncs the directory. Any failure or abort removes the temp
 * file: dst is either untouched or the complete, authenticated output.
 */
export async function atomicOutput(
  dst: string,
  mode: number,
  signal: AbortSignal | undefined,
  what: string,
  fill: (fh: fs.FileHandle) => Promise<void>,
): Promise<void> {
  const abs = path.resolve(dst);
  const dir = path.dirname(abs);
  await sweepStaleTemps(dir);
  const tmp = path.join(dir, `.${path.basename(abs)}.${HOST}-${process.pid}.${randomBytes(6).toString('hex')}.tessera-tmp`);
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(tmp, 'wx', mode);
    await fill(fh);
    aborted(signal, what);
    await fh.sync();
    await fh.close();
    fh = undefined;
    aborted(signal, what);
    await fs.rename(tmp, abs);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw ioError(e, what);
  }
  // The rename is durable once the directory is: best effort where a
  // filesystem cannot fsync a directory.
  const d = await fs.open(dir, 'r').catch(() => undefined);
  await d?.sync().catch(() => undefined);
  await d?.close().catch(() => undefined);
}
