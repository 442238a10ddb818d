/**
 * Cobblestone files through the native file job (native/pool/tsr_chunked_file.c,
 * NativeChunked#fileAsync in native/node/chunked_file.cc; lib/chunked/file.ts
 * picks it for regular files on the native backend). test/chunked.file.test.ts
 * covers the public behaviour on every backend; this suite proves what is
 * particular to the native job:
 *   - encryptFile and decryptFile each make exactly one native submission,
 *     and the output is plain Cobblestone: decryptChunked opens what
 *     encryptFile wrote and decryptFile opens what encryptChunked made, at
 *     0, 1, 16383, 16384, 16385 bytes, one 4 MiB batch, 3 batches + 1 and a
 *     few random sizes, with 1 and 2 threads.
 *   - A tampered chunk (first, middle or final batch) is ERR_AUTH with no dst
 *     and no temp file.
 *   - An abort from onProgress mid-file (256 MiB) rejects ERR_ABORTED with no
 *     dst and no temp file and the source unchanged; at the handle, cancel()
 *     stops the job within a few batches of the count it was given.
 *   - A throwing onProgress stops the job and its error is what rejects.
 *   - At the handle: an input shorter than the length given is ERR_TRUNCATED
 *     (the file shrank), failed reads and writes reject ERR_IO with Node's
 *     errno and syscall, bad arguments are ERR_ARGUMENT / ERR_TRUNCATED.
 *   - A process killed with SIGKILL mid-encrypt leaves no dst, only its temp
 *     file, which the next encryptFile into that directory removes (its pid
 *     is gone); a temp file of a live process is left alone.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { getBackend, root, T } from './tessera';

const CJS = path.join(root, 'dist/cjs/index.js');
const MiB = 1 << 20;
const CHUNK = 16384;
const CHUNK_CT = CHUNK + 16;
const HEADER = 24 + 32;
const BATCH = 256 * CHUNK; // TSR_CHUNKED_FILE_BATCH chunks
const BATCH_CT = 256 * CHUNK_CT;
const KEY = randomBytes(32);
const OPTS = { context: 'tessera chunked.file.native.test' } as const;

let dir = '';
let submissions = 0;
let restore: (() => void) | undefined;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-file-native-'));
  // Count native submissions: every handle the package makes gets a counting
  // fileAsync of its own (the addon's prototype methods are read-only).
  const b = getBackend() as unknown as { createChunked: (...a: unknown[]) => Record<string, unknown> };
  const create = b.createChunked;
  b.createChunked = (...a: unknown[]) => {
    const h = create(...a);
    const fileAsync = h.fileAsync as ((...x: unknown[]) => Promise<number>) | undefined;
    if (fileAsync)
      Object.defineProperty(h, 'fileAsync', {
        value: (...x: unknown[]) => {
          submissions++;
          return fileAsync.apply(h, x);
        },
      });
    return h;
  };
  restore = () => (b.createChunked = create);
});

afterAll(() => {
  restore?.();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const p = (name: string): string => path.join(dir, name);
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const temps = (d: string): string[] => fs.readdirSync(d).filter((f) => f.endsWith('.tessera-tmp'));
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const rm = (...files: string[]): void => {
  for (const f of files) fs.rmSync(f, { force: true });
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return e instanceof T.TesseraError ? e.code : `not a TesseraError: ${String(e)}`;
  }
  return 'no error';
}

/** `size` bytes of one random block repeated (fast for big files). */
function writeRepeated(file: string, size: number): void {
  const block = randomBytes(4 * MiB);
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < size; done += block.length) fs.writeSync(fd, block.subarray(0, Math.min(block.length, size - done)));
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------- round trips

const RANDOM = [randomInt(2, 3 * BATCH), randomInt(2, 3 * BATCH), randomInt(3 * BATCH, 6 * BATCH)];
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, BATCH, 3 * BATCH + 1, ...RANDOM];

describe('round trip through one native job', () => {
  test.each(SIZES.flatMap((n) => [1, 2].map((threads) => [n, threads] as const)))(
    '%i bytes, threads %i: decryptChunked(encryptFile(x)) == x and decryptFile(encryptChunked(x)) == x',
    async (n, threads) => {
      const pt = randomBytes(n);
      const [src, enc, enc2, out] = ['pt', 'enc', 'enc2', 'out'].map((s) => p(`rt-${n}-${threads}.${s}`)) as [string, string, string, string];
      try {
        fs.writeFileSync(src, pt);
        const before = submissions;
        await T.encryptFile(src, enc, KEY, { ...OPTS, threads });
        expect(submissions - before).toBe(1);
        const ct = fs.readFileSync(enc);
        expect(ct.length).toBe(T.chunkedSealedLength(n));
        expect(same(T.decryptChunked(KEY, ct, OPTS), pt)).toBe(true);

        fs.writeFileSync(enc2, T.encryptChunked(KEY, pt, OPTS));
        await T.decryptFile(enc2, out, KEY, { ...OPTS, threads });
        expect(submissions - before).toBe(2);
        expect(same(fs.readFileSync(out), pt)).toBe(true);
        expect(fs.statSync(out).mode & 0o777).toBe(0o600);
        expect(temps(dir)).toEqual([]);
      } finally {
        rm(src, enc, enc2, out);
      }
    },
  );
});

// ---------------------------------------------------------------- tampering

describe('a tampered file never reaches dst', () => {
  const N = 3 * BATCH + 5 * CHUNK + 7; // four batches: the last holds the final chunk
  const chunks = Math.floor(N / CHUNK) + 1;
  test.each([
    ['the first chunk', 0],
    ['a chunk in the middle batch', 2 * 256 + 3],
    ['the final chunk', chunks - 1],
  ] as const)('a flipped byte in %s: ERR_AUTH, no dst, no temp file (threads 1 and 2)', async (_what, chunk) => {
    const enc = p('tampered.enc');
    const dst = p('tampered.out');
    const ct = Buffer.from(T.encryptChunked(KEY, randomBytes(N), OPTS));
    ct[HEADER + chunk * CHUNK_CT + 3]! ^= 0x20;
    fs.writeFileSync(enc, ct);
    for (const threads of [1, 2]) {
      const before = submissions;
      expect(await codeOf(T.decryptFile(enc, dst, KEY, { ...OPTS, threads }))).toBe('ERR_AUTH');
      expect(submissions - before).toBe(1); // it was the native job that refused it
      expect(fs.existsSync(dst)).toBe(false);
      expect(temps(dir)).toEqual([]);
    }
    rm(enc);
  });
});

// ---------------------------------------------------------------- abort

describe('abort', () => {
  const BIG = 256 * MiB;
  let bigPt = '';
  let bigCt = '';
  beforeAll(async () => {
    bigPt = p('big.pt');
    bigCt = p('big.enc');
    writeRepeated(bigPt, BIG);
    await T.encryptFile(bigPt, bigCt, KEY, OPTS);
  });
  afterAll(() => rm(bigPt, bigCt));

  test.each(['encryptFile', 'decryptFile'] as const)(
    '%s of a 256 MiB file aborted from onProgress: ERR_ABORTED, no dst, no temp file, source unchanged',
    async (fn) => {
      const src = fn === 'encryptFile' ? bigPt : bigCt;
      const hash = sha(src);
      const dst = p(`aborted-${fn}.out`);
      const ac = new AbortController();
      const seen: number[] = [];
      let error: unknown;
      const before = submissions;
      try {
        await T[fn](src, dst, KEY, {
          ...OPTS,
          threads: 1,
          signal: ac.signal,
          onProgress: ({ bytes }) => {
            seen.push(bytes);
            ac.abort();
          },
        });
      } catch (e) {
        error = e;
      }
      expect(submissions - before).toBe(1);
      expect(error).toBeInstanceOf(T.TesseraError);
      expect((error as InstanceType<typeof T.TesseraError>).code).toBe('ERR_ABORTED');
      expect((error as Error).message).toBe(`${fn} aborted`);
      expect(seen).toHaveLength(1); // no report after the abort
      expect(seen[0]!).toBeLessThan(fs.statSync(src).size);
      expect(fs.existsSync(dst)).toBe(false);
      expect(temps(dir)).toEqual([]);
      expect(sha(src)).toBe(hash);
    },
  );

  test('cancel() at the handle stops the job within a few batches of the count it was given', async () => {
    const c = getBackend().createChunked(1, KEY, randomBytes(24), new Uint8Array(0));
    const inFh = await fs.promises.open(bigPt, 'r');
    const outFh = await fs.promises.open(p('cancel.out'), 'w');
    let at = -1;
    try {
      const job = c.fileAsync!(true, inFh.fd, 0, BIG, outFh.fd, 0, 1, (bytes) => {
        if (at < 0) {
          at = bytes;
          c.cancel!();
        }
      });
      expect(await codeOf(job)).toBe('ERR_ABORTED');
      const written = (await outFh.stat()).size;
      expect(at).toBeGreaterThan(0);
      // Batches go out in order, one per step, and the flag is read before
      // every step: what was reported, plus the step running when cancel()
      // came (and one more if the step boundary fell between the count being
      // read and cancel(); one of slack for a descheduled event loop).
      expect(written).toBeGreaterThanOrEqual((at / BATCH) * BATCH_CT);
      expect(written).toBeLessThanOrEqual((at / BATCH + 3) * BATCH_CT);
      expect(written).toBeLessThan(T.chunkedSealedLength(BIG) - HEADER);
    } finally {
      c.dispose();
      await inFh.close();
      await outFh.close();
      rm(p('cancel.out'));
    }
  });
});

// ---------------------------------------------------------------- onProgress throwing

test('an onProgress that throws stops the job: its error rejects, no dst, no temp file', async () => {
  const src = p('throwing.pt');
  const dst = p('throwing.out');
  writeRepeated(src, 64 * MiB);
  const boom = new Error('progress sink failed');
  let calls = 0;
  let error: unknown;
  try {
    await T.encryptFile(src, dst, KEY, {
      ...OPTS,
      onProgress: () => {
        calls++;
        throw boom;
      },
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBe(boom);
  expect(calls).toBe(1);
  expect(fs.existsSync(dst)).toBe(false);
  expect(temps(dir)).toEqual([]);
  rm(src);
});

// ---------------------------------------------------------------- the handle's failures

describe('fileAsync failures at the handle', () => {
  const withHandle = async (f: (c: import('../dist/cjs/backend/types').ChunkedHandle) => Promise<void>, salt: Uint8Array = randomBytes(24)): Promise<void> => {
    const c = getBackend().createChunked(1, KEY, salt, Buffer.from(OPTS.context));
    try {
      await f(c);
    } finally {
      c.dispose();
    }
  };

  test('an input shorter than the chunk stream length given: ERR_TRUNCATED (shrank while read)', async () => {
    const enc = p('short.enc');
    const ct = T.encryptChunked(KEY, randomBytes(2 * BATCH + 100), OPTS);
    fs.writeFileSync(enc, ct);
    const inFh = await fs.promises.open(enc, 'r');
    const outFh = await fs.promises.open(p('short.out'), 'w');
    try {
      await withHandle(
        async (c) => {
          // A valid length for a longer message: the read of the last batch comes up short.
          const claimed = T.chunkedSealedLength(3 * BATCH + 100) - HEADER;
          let error: any;
          await c.fileAsync!(false, inFh.fd, HEADER, claimed, outFh.fd, 0, 2).catch((e) => (error = e));
          expect(error?.code).toBe('ERR_TRUNCATED');
          expect(error?.message).toMatch(/shrank/);
          // The chunks before the missing bytes verified: it is the length, not the key, that failed.
          expect(await c.fileAsync!(false, inFh.fd, HEADER, ct.length - HEADER, outFh.fd, 0, 2)).toBe(ct.length - HEADER);
        },
        ct.subarray(0, 24),
      );
    } finally {
      await inFh.close();
      await outFh.close();
      rm(enc, p('short.out'));
    }
  });

  test('failed reads and writes reject ERR_IO with errno and syscall (EBADF)', async () => {
    const src = p('io.pt');
    fs.writeFileSync(src, randomBytes(100_000));
    const inFh = await fs.promises.open(src, 'r');
    const readOnlyOut = await fs.promises.open(src, 'r'); // pwrite on it fails with EBADF
    const closed = await fs.promises.open(src, 'r');
    const closedFd = closed.fd;
    await closed.close();
    try {
      await withHandle(async (c) => {
        const w: any = await c.fileAsync!(true, inFh.fd, 0, 100_000, readOnlyOut.fd, 0, 1).catch((e) => e);
        expect([w?.code, w?.errno, w?.syscall]).toEqual(['ERR_IO', -9, 'write']);
        const r: any = await c.fileAsync!(true, closedFd, 0, 100_000, inFh.fd, 0, 1).catch((e) => e);
        expect([r?.code, r?.errno, r?.syscall]).toEqual(['ERR_IO', -9, 'read']);
      });
      expect(fs.statSync(src).size).toBe(100_000);
    } finally {
      await inFh.close();
      await readOnlyOut.close();
      rm(src);
    }
  });

  test('bad arguments are refused before any I/O', async () => {
    await withHandle(async (c) => {
      const codes = [];
      for (const args of [
        [true, -1, 0, 0, 1, 0, 1],
        [true, 0, 0.5, 0, 1, 0, 1],
        [true, 0, 0, 0, 1, 0, 65],
        [false, 0, 0, 15, 1, 0, 1], // a final chunk holds at least its 16-byte tag
        [false, 0, 0, CHUNK_CT, 1, 0, 1], // whole chunks only: the final one is missing
      ] as const) {
        try {
          await c.fileAsync!(...(args as unknown as [boolean, number, number, number, number, number, number]));
          codes.push('no error');
        } catch (e) {
          codes.push((e as { code: string }).code);
        }
      }
      expect(codes).toEqual(['ERR_ARGUMENT', 'ERR_ARGUMENT', 'ERR_ARGUMENT', 'ERR_TRUNCATED', 'ERR_TRUNCATED']);
      // The handle is not left busy by a refused call.
      expect(c.commitment()).toHaveLength(32);
    });
  });
});

// ---------------------------------------------------------------- kill -9

const killScript = `
  const T = require(${JSON.stringify(CJS)});
  const [src, dst, keyHex] = process.argv.slice(-3);
  let said = false;
  T.encryptFile(src, dst, Buffer.from(keyHex, 'hex'), {
    context: 'kill', threads: 1,
    onProgress: () => { if (!said) { said = true; process.stdout.write('started\\n'); } },
  }).then(() => process.stdout.write('finished\\n'));
`;

test('SIGKILL mid-encrypt: no dst; the next encryptFile into the directory removes the dead process temp file, not a live one', async () => {
  const sub = p('killed');
  fs.mkdirSync(sub);
  const src = p('kill.pt');
  writeRepeated(src, 768 * MiB);
  const dst = path.join(sub, 'out.enc');
  // A temp file of a live process on this host (a sleeping child): never touched.
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const host = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
  const live = path.join(sub, `.other.enc.${host}-${sleeper.pid}.0123456789ab.tessera-tmp`);
  fs.writeFileSync(live, 'in use');
  try {
    const child = spawn(process.execPath, ['-e', killScript, '--', src, dst, KEY.toString('hex')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('started')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('close', () => resolve());
    });
    const signal = await exited;
    expect({ signal, out, err }).toEqual({ signal: 'SIGKILL', out: 'started\n', err: '' });
    expect(fs.existsSync(dst)).toBe(false);
    const stale = temps(sub).filter((f) => f.includes(`-${child.pid}.`));
    expect(stale).toHaveLength(1); // the killed process left its temp file: the case to clean up

    const small = p('kill-small.pt');
    fs.writeFileSync(small, randomBytes(5000));
    await T.encryptFile(small, path.join(sub, 'next.enc'), KEY, OPTS);
    expect(temps(sub)).toEqual([path.basename(live)]);
    expect(fs.readdirSync(sub).sort()).toEqual([path.basename(live), 'next.enc'].sort());
    expect(same(T.decryptChunked(KEY, fs.readFileSync(path.join(sub, 'next.enc')), OPTS), fs.readFileSync(small))).toBe(true);
    rm(small);
  } finally {
    sleeper.kill('SIGKILL');
    rm(src);
  }
}, 120_000);
