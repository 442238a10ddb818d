/**
 * FileKeyStore (contract: `new FileKeyStore(path)`; docs/ARCHITECTURE.md
 * "Key manager core"): crash-safe (atomic write, fsync, rename).
 *
 * One JSON file holding the keyring document (lib/keys/store.ts): key
 * material only wrapped by the KEK, the whole document authenticated by
 * the keyring's MAC (lib/keys/document.ts). File mode 0600.
 *
 * Commit protocol, under an exclusive lock:
 *   1. take `<path>.lock` (created with O_EXCL, see FileLock below);
 *   2. remove temp files a killed writer left behind (only a lock holder
 *      writes them, so any present now are dead);
 *   3. re-read the file: unparsable -> ERR_FORMAT (it is never
 *      overwritten); generation != expected -> ERR_CONFLICT; the caller's
 *      verifyCurrent (the keyring's MAC check) fails -> nothing written;
 *   4. keep the current generation as `<path>.bak` (hard link to a temp
 *      name, renamed over the old backup; a copy where links fail);
 *   5. write the new document with lib/chunked/io.ts atomicOutput: temp
 *      file, fsync, rename over `<path>`, fsync of the directory;
 *   6. release the lock.
 * A SIGKILL at any point leaves `<path>` holding either the old or the new
 * generation, complete; once commit() resolves the new one is durable.
 *
 * Lock choice: a lock file rather than flock(2), which Node cannot call
 * without an addon. The file holds {pid, host, token}. A lock whose pid is
 * not alive on this host (kill(pid, 0) = ESRCH), or that is empty and older
 * than a second (a writer killed between create and write), is stale: it is
 * moved aside, re-read to make sure it is the stale one, and deleted. Locks
 * of other hosts are never broken (shared filesystems: wait, then
 * ERR_LOCKED). PID reuse can make a stale lock look alive: the writer then
 * gets ERR_LOCKED, and deleting the lock file by hand is safe when no
 * process is writing.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';

import { TesseraError } from '../errors';
import { atomicOutput, ioError, writeAll } from '../chunked/io';
import { checkDocShape, type KeyringDoc, type KeyStore } from './store';

/** Options of FileKeyStore. */
export interface FileKeyStoreOptions {
  /** How long a commit waits for another writer's lock before ERR_LOCKED (default 10 000 ms). */
  lockTimeoutMs?: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The exclusive write lock of a FileKeyStore (see the module comment). */
export class FileLock {
  readonly path: string;
  readonly #timeoutMs: number;
  #token: string | undefined;

  constructor(lockPath: string, timeoutMs: number) {
    this.path = lockPath;
    this.#timeoutMs = timeoutMs;
  }

  async acquire(): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    const token = randomBytes(12).toString('hex');
    const body = JSON.stringify({ pid: process.pid, host: hostname(), token });
    for (;;) {
      try {
        const fh = await fs.open(this.path, 'wx', 0o600);
        try {
          await writeAll(fh, Buffer.from(body));
        } finally {
          await fh.close();
        }
        this.#token = token;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, `key store lock ${this.path}`);
      }
      const holder = await this.#inspect();
      if (holder.stale) {
        await this.#breakStale(holder.raw);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new TesseraError('ERR_LOCKED', `key store lock ${this.path} is held by ${holder.who} (waited ${this.#timeoutMs} ms)`);
      }
      await sleep(5 + Math.random() * 20);
    }
  }

  async #inspect(): Promise<{ stale: boolean; raw: string; who: string }> {
    let raw: string;
    let mtime: number;
    try {
      raw = await fs.readFile(this.path, 'utf8');
      mtime = (await fs.stat(this.path)).mtimeMs;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { stale: false, raw: '', who: 'nobody' }; // released: retry now
      throw ioError(e, `key store lock ${this.path}`);
    }
    let info: { pid?: unknown; host?: unknown } | undefined;
    try {
      info = JSON.parse(raw) as typeof info;
    } catch {
      info = undefined;
    }
    if (!info || !Number.isInteger(info.pid) || typeof info.host !== 'string') {
      // A writer killed between creating the file and writing its pid.
      return { stale: Date.now() - mtime > 1000, raw, who: 'an unidentified process' };
    }
    const pid = info.pid as number;
    const who = `process ${pid} on ${info.host}`;
    if (info.host !== hostname()) return { stale: false, raw, who };
    return { stale: pid !== process.pid && !pidAlive(pid), raw, who };
  }

  async #breakStale(raw: string): Promise<void> {
    const aside = `${this.path}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await fs.rename(this.path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw ioError(e, `key store lock ${this.path}`);
    }
    const moved = await fs.readFile(aside, 'utf8').catch(() => raw);
    // Another process replaced the stale lock between our read and rename:
    // put its live lock back (link fails if yet another one exists).
    if (moved !== raw) await fs.link(aside, this.path).catch(() => undefined);
    await fs.unlink(aside).catch(() => undefined);
  }

  async release(): Promise<void> {
    const token = this.#token;
    this.#token = undefined;
    if (token === undefined) return;
    const raw = await fs.readFile(this.path, 'utf8').catch(() => '');
    if (raw.includes(token)) await fs.unlink(this.path).catch(() => undefined);
  }
}

/**
 * A key store in one JSON file (mode 0600) holding only KEK-wrapped key material, every field authenticated (docs/API.md "Key manager").
 * Commits are atomic, checked against the generation and locked across processes; the previous generation is kept as `<path>.bak`.
 */
export class FileKeyStore implements KeyStore {
  readonly kind = 'file';
  readonly path: string;
  readonly backupPath: string;
  readonly lockPath: string;
  readonly #lock: FileLock;
  #closed = false;

  constructor(file: string, opts: FileKeyStoreOptions = {}) {
    if (typeof file !== 'string' || file.length === 0) throw new TesseraError('ERR_ARGUMENT', 'FileKeyStore needs a file path');
    const t = opts.lockTimeoutMs ?? 10_000;
    if (!Number.isFinite(t) || t < 0) throw new TesseraError('ERR_ARGUMENT', 'lockTimeoutMs must be a non-negative number');
    this.path = path.resolve(file);
    this.backupPath = `${this.path}.bak`;
    this.lockPath = `${this.path}.lock`;
    this.#lock = new FileLock(this.lockPath, t);
  }

  #open(): void {
    if (this.#closed) throw new TesseraError('ERR_DISPOSED', 'the key store is closed');
  }

  async #read(): Promise<{ raw: Buffer; doc: KeyringDoc } | undefined> {
    let raw: Buffer;
    try {
      raw = await fs.readFile(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(e, `key store ${this.path}`);
      // Never start a new keyring where one was lost: a backup means there was a store here.
      const bak = await fs.stat(this.backupPath).catch(() => undefined);
      if (bak) throw new TesseraError('ERR_FORMAT', `key store ${this.path} is missing but its backup ${this.backupPath} exists; restore it by hand`);
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new TesseraError('ERR_FORMAT', `key store ${this.path}: not valid JSON (truncated or corrupted)`);
    }
    return { raw, doc: checkDocShape(parsed, `key store ${this.path}`) };
  }

  async load(): Promise<KeyringDoc | undefined> {
    this.#open();
    return (await this.#read())?.doc;
  }

  async commit(next: KeyringDoc, expectedGeneration: number, verifyCurrent?: (current: KeyringDoc) => void): Promise<void> {
    this.#open();
    checkDocShape(next, 'commit');
    if (next.generation !== expectedGeneration + 1) {
      throw new TesseraError('ERR_ARGUMENT', `commit: next generation must be ${expectedGeneration + 1} (got ${next.generation})`);
    }
    const bytes = Buffer.from(JSON.stringify(next, null, 1) + '\n');
    await this.#lock.acquire();
    try {
      await this.#removeDeadTemps();
      const cur = await this.#read();
      const gen = cur ? cur.doc.generation : 0;
      if (gen !== expectedGeneration) {
        throw new TesseraError('ERR_CONFLICT', `key store ${this.path}: generation ${gen} was committed by another writer (expected ${expectedGeneration})`);
      }
      if (cur) {
        verifyCurrent?.(cur.doc);
        await this.#backup(cur.raw);
      }
      await atomicOutput(this.path, 0o600, undefined, `key store ${this.path}`, (fh) => writeAll(fh, bytes));
    } finally {
      await this.#lock.release();
    }
  }

  /** `<path>.bak` := the current generation (hard link, or copy + fsync where links fail). */
  async #backup(raw: Buffer): Promise<void> {
    const tmp = `${this.backupPath}.${randomBytes(6).toString('hex')}.tessera-tmp`;
    try {
      await fs.link(this.path, tmp);
    } catch {
      await atomicOutput(this.backupPath, 0o600, undefined, `key store backup ${this.backupPath}`, (fh) => writeAll(fh, raw));
      return;
    }
    try {
      await fs.rename(tmp, this.backupPath);
    } catch (e) {
      await fs.unlink(tmp).catch(() => undefined);
      throw ioError(e, `key store backup ${this.backupPath}`);
    }
    // rename(2) does nothing when both names are links to one file (a crash
    // between the backup and the new generation leaves <path>.bak linked to
    // <path>): then tmp is still there.
    await fs.unlink(tmp).catch(() => undefined);
  }

  async #removeDeadTemps(): Promise<void> {
    const dir = path.dirname(this.path);
    const base = path.basename(this.path);
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const n of names) {
      if (!n.endsWith('.tessera-tmp')) continue;
      if (n.startsWith(`.${base}.`) || n.startsWith(`${base}.bak.`)) await fs.unlink(path.join(dir, n)).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
