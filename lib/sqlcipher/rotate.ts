/**
 * SQLCipher database keys from a keyring (docs/API.md "SQLCipher databases").
 *
 * openDatabase(path, ring, purpose): the database keyed with the
 * purpose's primary key. While a rotation is unfinished the database may
 * be keyed with the pending key instead, so that key is tried next (then
 * older keys of the purpose, newest first).
 *
 * rotateDatabaseKey(path, ring, purpose), steps in order:
 *   lock     one connection with the current key, locking_mode=EXCLUSIVE:
 *            from its first read no other connection can write until the
 *            rotation is over (SQLite "PRAGMA locking_mode").
 *   backup   VACUUM INTO <path>.tessera-rotate-<old key id> beside the
 *            database: a transactional snapshot (SQLite "VACUUM INTO"),
 *            written by SQLite3 Multiple Ciphers with the source's cipher
 *            and key, then fsynced. (The driver's backup() opens its target
 *            without a key, so the online backup API cannot write an
 *            encrypted copy through it.)
 *   verify-backup  the backup opens, passes integrity_check (every page in
 *            use is read, so its HMAC is checked) and has the database's
 *            row counts.
 *   pending  a new key, stored in the keyring as 'pending' (before any
 *            byte of the database depends on it).
 *   rekey    PRAGMA rekey in rollback-journal mode: one write transaction,
 *            so a crash leaves a hot journal that the old key rolls back.
 *   verify   reopen with the new key: integrity_check, and every
 *            table's row count equals the backup's.
 *   activate the pending key becomes the primary, the old one
 *            decrypt-only; audited as 'rotate'.
 *   cleanup  the backup is removed.
 *
 * Crash anywhere, and the database opens with exactly one of the two
 * keys; the next rotateDatabaseKey finishes the rotation (pending key
 * exists: the database opens with the old key -> rekey again; with the new
 * key -> verify and activate) or, when verification after the rekey fails,
 * restores the backup and destroys the pending key. A backup named after a
 * key that is no longer the primary is what a finished rotation left
 * behind, and is removed.
 *
 * Other connections must be closed for the rekey: one opened before keeps
 * the old key and fails with ERR_AUTH afterwards.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { TesseraError } from '../errors';
import { describe } from '../format';
import type { Keyring } from '../keys/keyring';
import type { KeyringDatabaseKeys } from '../keys/keyring-database';
import { applyKey, checkIntegrity, type DriverOptions, openKeyed, type SqliteDatabase, sqliteError, syncFile, tableCounts } from './driver';

export type { DriverOptions, SqliteDatabase };

/** Options of openDatabase. */
export interface OpenDatabaseOptions {
  /** Passed to the driver's constructor as they are (better-sqlite3 options: readonly, timeout, nativeBinding, ...). */
  driver?: DriverOptions;
}

/** The steps of rotateDatabaseKey, in order (docs/API.md "SQLCipher databases"). */
export type RotationStep = 'lock' | 'backup' | 'verify-backup' | 'pending' | 'rekey' | 'verify' | 'activate' | 'cleanup' | 'done';

/** What rotateDatabaseKey reports to `onProgress` before each step. */
export interface RotationProgress {
  step: RotationStep;
  /** Database size in bytes. */
  bytes: number;
}

/** Options of rotateDatabaseKey. */
export interface RotateOptions extends OpenDatabaseOptions {
  /** Called before each step (awaited). */
  onProgress?: (p: RotationProgress) => void | Promise<void>;
  /** How long to wait for other connections' locks, ms (default 5000). */
  busyTimeoutMs?: number;
}

/** What rotateDatabaseKey did. */
export interface RotationResult {
  /** The key the database was keyed with, and the one it is keyed with now (equal when nothing was left to do). */
  from: number;
  to: number;
  /** 'rotated': a whole rotation; 'resumed': an earlier one was finished; 'cleaned': only a finished rotation's backup was removed. */
  outcome: 'rotated' | 'resumed' | 'cleaned';
  /** Row counts by table, checked after the rekey. */
  tables: Record<string, number>;
}

function checkArgs(path: unknown, ring: unknown, purpose: unknown): string {
  if (typeof path !== 'string' || path === '' || path === ':memory:')
    throw new TesseraError('ERR_ARGUMENT', `a database path is required (got ${describe(path)})`);
  if (!ring || typeof (ring as Keyring).databaseKeys !== 'function') throw new TesseraError('ERR_ARGUMENT', 'a Keyring is required');
  if (typeof purpose !== 'string') throw new TesseraError('ERR_ARGUMENT', `a purpose is required (got ${describe(purpose)})`);
  return resolve(path);
}

/** Which of ids opens path (tried in order), with the open connection; undefined when none does. */
function openWithAny(keys: KeyringDatabaseKeys, path: string, ids: number[], options?: DriverOptions): { id: number; db: SqliteDatabase } | undefined {
  for (const id of ids) {
    try {
      return { id, db: keys.withKey(id, (raw) => openKeyed(path, raw, options)) };
    } catch (e) {
      if (!(e instanceof TesseraError && e.code === 'ERR_AUTH')) throw e;
    }
  }
  return undefined;
}

/**
 * The database at path, keyed from the purpose's keys (a new database is
 * created with the primary key). ERR_AUTH when none of them opens it.
 */
export async function openDatabase(path: string, ring: Keyring, purpose: string, opts: OpenDatabaseOptions = {}): Promise<SqliteDatabase> {
  const file = checkArgs(path, ring, purpose);
  const keys = ring.databaseKeys(purpose);
  await keys.primary();
  const hit = openWithAny(keys, file, keys.candidates(), opts.driver);
  if (!hit) throw new TesseraError('ERR_AUTH', `${file}: none of the keys of ${describe(purpose)} opens this database`);
  return hit.db;
}

const BACKUP_TAG = '.tessera-rotate-';

/** Backups beside file: name -> the key id they are keyed with. */
function backups(file: string): Map<string, number> {
  const out = new Map<string, number>();
  const prefix = basename(file) + BACKUP_TAG;
  for (const name of readdirSync(dirname(file))) {
    if (!name.startsWith(prefix)) continue;
    const id = Number(name.slice(prefix.length));
    if (Number.isInteger(id) && id > 0) out.set(join(dirname(file), name), id);
  }
  return out;
}

function removeFile(p: string): void {
  rmSync(p, { force: true });
}

/** Rotates the key of the database at path to a new key of purpose (see the steps above). */
export async function rotateDatabaseKey(path: string, ring: Keyring, purpose: string, opts: RotateOptions = {}): Promise<RotationResult> {
  const file = checkArgs(path, ring, purpose);
  if (!existsSync(file)) throw new TesseraError('ERR_IO', `${file}: no such database`);
  const keys = ring.databaseKeys(purpose);
  const from = await keys.primary();
  const size = (): number => statSync(file).size;
  const step = async (s: RotationStep): Promise<void> => {
    await opts.onProgress?.({ step: s, bytes: size() });
  };
  const driver = opts.driver;

  let pending = keys.pending();
  const resumed = pending !== undefined;
  const hit = openWithAny(keys, file, pending === undefined ? [from] : [from, pending], driver);
  const mine = join(dirname(file), basename(file) + BACKUP_TAG + from);

  if (pending !== undefined && hit?.id === pending) {
    // Rekeyed before the crash: verify, activate, clean up.
    hit.db.close();
    return finish(keys, file, from, pending, existsSync(mine) ? mine : undefined, 'resumed', step, driver);
  }
  if (!hit) {
    const restored = pending !== undefined && existsSync(mine) ? restore(keys, file, mine, from, driver) : false;
    if (restored) await keys.discard(pending!);
    throw new TesseraError(
      'ERR_AUTH',
      `${file}: opens with neither the primary key ${from}${pending === undefined ? '' : ` nor the pending key ${pending}`} of ${describe(purpose)}` +
        (restored ? '; the backup keyed with the primary was restored, run the rotation again' : ''),
    );
  }
  hit.db.close();

  // A finished rotation's backup (keyed with a key that is no longer the primary).
  let cleaned = false;
  for (const [p, id] of backups(file)) {
    if (id === from) continue;
    removeFile(p);
    cleaned = true;
  }
  if (cleaned && pending === undefined) {
    // The last rotation had finished (its new key is the primary) before its backup was removed: that was all that was left.
    const db = keys.withKey(from, (raw) => openKeyed(file, raw, driver));
    try {
      return { from, to: from, outcome: 'cleaned', tables: tableCounts(db) };
    } finally {
      db.close();
    }
  }

  await step('lock');
  const db = keys.withKey(from, (raw) => openKeyed(file, raw, { ...driver, timeout: opts.busyTimeoutMs ?? 5000 }));
  let tables: Record<string, number>;
  let journal: string;
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    journal = String(db.pragma('journal_mode', { simple: true }));
    tables = tableCounts(db); // the first read takes the lock that is then kept

    await step('backup');
    removeFile(mine);
    db.exec(`VACUUM INTO '${mine.replaceAll("'", "''")}'`);
    syncFile(mine);

    await step('verify-backup');
    const bk = keys.withKey(from, (raw) => openKeyed(mine, raw, driver));
    try {
      checkIntegrity(bk, `backup ${mine}`);
      const counts = tableCounts(bk);
      if (JSON.stringify(counts) !== JSON.stringify(tables)) throw new TesseraError('ERR_DATABASE', `backup ${mine}: row counts differ from the database's`);
    } finally {
      bk.close();
    }

    await step('pending');
    pending = await keys.createPending();

    await step('rekey');
    if (journal.toLowerCase() === 'wal') db.pragma('journal_mode = DELETE');
    keys.withKey(pending, (raw) => applyKey(db, raw, true));
    if (journal.toLowerCase() === 'wal') db.pragma('journal_mode = WAL');
  } catch (e) {
    // Before a pending key exists nothing depends on the copy: do not leave it behind.
    if (pending === undefined) removeFile(mine);
    throw sqliteError(e, `rotating the key of ${file}`);
  } finally {
    db.close();
  }
  return finish(keys, file, from, pending, mine, resumed ? 'resumed' : 'rotated', step, driver);
}

/** The database is keyed with pending: verify it (against the backup when there is one), activate, remove the backup. */
async function finish(
  keys: KeyringDatabaseKeys,
  file: string,
  from: number,
  pending: number,
  backup: string | undefined,
  outcome: RotationResult['outcome'],
  step: (s: RotationStep) => Promise<void>,
  driver: DriverOptions | undefined,
): Promise<RotationResult> {
  await step('verify');
  let tables: Record<string, number>;
  try {
    const db = keys.withKey(pending, (raw) => openKeyed(file, raw, driver));
    try {
      checkIntegrity(db, file);
      tables = tableCounts(db);
    } finally {
      db.close();
    }
    if (backup) {
      const bk = keys.withKey(from, (raw) => openKeyed(backup, raw, driver));
      let expected: Record<string, number>;
      try {
        expected = tableCounts(bk);
      } finally {
        bk.close();
      }
      if (JSON.stringify(expected) !== JSON.stringify(tables))
        throw new TesseraError('ERR_DATABASE', `${file}: row counts after the rekey differ from the backup's`);
    }
  } catch (e) {
    const err = sqliteError(e, `verifying ${file} after the rekey`);
    if (backup && restore(keys, file, backup, from, driver)) {
      await keys.discard(pending);
      throw new TesseraError(err.code, `${err.message}; restored the backup (keyed with key ${from}) and destroyed the pending key ${pending}`, { cause: err });
    }
    throw err;
  }
  await step('activate');
  await keys.activate(pending);
  await step('cleanup');
  if (backup) {
    removeFile(backup);
    syncFile(dirname(backup), false);
  }
  await step('done');
  return { from, to: pending, outcome, tables };
}

/** Puts backup (keyed with key `from`) in place of file, if it opens and checks out; returns whether it did. */
function restore(keys: KeyringDatabaseKeys, file: string, backup: string, from: number, driver: DriverOptions | undefined): boolean {
  try {
    const bk = keys.withKey(from, (raw) => openKeyed(backup, raw, driver));
    try {
      checkIntegrity(bk, backup);
    } finally {
      bk.close();
    }
  } catch {
    return false;
  }
  for (const s of ['-journal', '-wal', '-shm']) removeFile(file + s);
  renameSync(backup, file);
  syncFile(file);
  return true;
}
