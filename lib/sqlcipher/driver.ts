/**
 * The SQLCipher driver (docs/API.md "SQLCipher databases"):
 * better-sqlite3-multiple-ciphers, an optional peer dependency loaded on
 * first use, configured for SQLCipher 4 files (`cipher='sqlcipher'`,
 * `legacy=4`; SQLite3 Multiple Ciphers, "SQLCipher" cipher scheme) and
 * keyed with raw 256-bit keys in SQLCipher's `x'<64 hex digits>'` form, so
 * SQLCipher's own passphrase KDF never runs (SQLCipher API, "PRAGMA key",
 * raw key data).
 *
 * The key goes to the driver as a Buffer (db.key / db.rekey) that is
 * wiped right after the call: never a JS string, which could not be wiped.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

import { TesseraError } from '../errors';
import { requirePeer } from '../peer';

/** The part of a better-sqlite3 Database that tessera uses (the driver's own type has it all). */
export interface SqliteDatabase {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  key(key: Buffer): number;
  rekey(key: Buffer): number;
  exec(sql: string): this;
  prepare(sql: string): { get(...params: unknown[]): unknown; all(...params: unknown[]): unknown[] };
  close(): this;
  readonly open: boolean;
  readonly name: string;
}

/** Options passed to the driver's constructor as they are (better-sqlite3's: readonly, fileMustExist, timeout, nativeBinding, ...). */
export type DriverOptions = Record<string, unknown>;

type DatabaseCtor = new (path: string, options?: DriverOptions) => SqliteDatabase;

function driver(): DatabaseCtor {
  return requirePeer<DatabaseCtor>('better-sqlite3-multiple-ciphers', 'tessera/sqlcipher', (m) =>
    typeof m !== 'function' ? 'no Database constructor' : undefined,
  );
}

/** A SQLite error as a TesseraError: a wrong key is ERR_AUTH, anything else ERR_DATABASE naming the SQLite code. */
export function sqliteError(e: unknown, what: string): TesseraError {
  if (e instanceof TesseraError) return e;
  const code = (e as { code?: unknown })?.code;
  if (code === 'SQLITE_NOTADB') return new TesseraError('ERR_AUTH', `${what}: the key does not open the database (or it is not a SQLCipher 4 database)`);
  const msg = e instanceof Error ? e.message : String(e);
  return new TesseraError('ERR_DATABASE', `${what}: ${typeof code === 'string' ? `${code}: ` : ''}${msg}`, { cause: e });
}

/** `x'<hex>'` as ASCII bytes, built without a JS string. */
function rawKeyLiteral(raw: Uint8Array): Buffer {
  if (raw.length !== 32) throw new TesseraError('ERR_KEY_LENGTH', `a SQLCipher raw key is 32 bytes (got ${raw.length})`);
  const out = Buffer.alloc(3 + 64);
  const hex = 0x30; // '0'
  out[0] = 0x78; // x
  out[1] = 0x27; // '
  for (let i = 0; i < 32; i++) {
    // Constant-time nibble -> ASCII hex (no table lookup indexed by key bits).
    for (const [j, n] of [
      [0, raw[i]! >> 4],
      [1, raw[i]! & 15],
    ] as const) {
      out[2 + 2 * i + j] = hex + n + (((9 - n) >> 8) & 39); // 0-9 -> '0'-'9', 10-15 -> 'a'-'f'
    }
  }
  out[66] = 0x27;
  return out;
}

/** Sets the SQLCipher 4 scheme on db and keys it with raw (db.key, or db.rekey with rekey). */
export function applyKey(db: SqliteDatabase, raw: Uint8Array, rekey = false): void {
  const lit = rawKeyLiteral(raw);
  try {
    if (!rekey) {
      db.pragma("cipher='sqlcipher'");
      db.pragma('legacy=4');
    }
    const rc = rekey ? db.rekey(lit) : db.key(lit);
    if (rc !== 0) throw new TesseraError('ERR_DATABASE', `sqlite3_${rekey ? 'rekey' : 'key'} returned ${rc}`);
  } finally {
    lit.fill(0);
  }
}

/** Opens path with the driver and keys it with raw; the first read proves the key (ERR_AUTH otherwise). */
export function openKeyed(path: string, raw: Uint8Array, options: DriverOptions = {}): SqliteDatabase {
  const Ctor = driver();
  let db: SqliteDatabase;
  try {
    db = new Ctor(path, options);
  } catch (e) {
    throw sqliteError(e, `cannot open ${path}`);
  }
  try {
    applyKey(db, raw);
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    return db;
  } catch (e) {
    db.close();
    throw sqliteError(e, `cannot open ${path}`);
  }
}

/** Row counts of every table of db, by name (sqlite_ tables excluded). */
export function tableCounts(db: SqliteDatabase): Record<string, number> {
  const names = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
  const out: Record<string, number> = {};
  for (const { name } of names) out[name] = Number((db.prepare(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`).get() as { n: number }).n);
  return out;
}

/**
 * Throws unless integrity_check passes. It reads every page in use, and
 * the SQLCipher scheme checks each page's HMAC as it decrypts it, so a
 * page altered on disk fails it (ERR_AUTH or ERR_DATABASE). SQLite3
 * Multiple Ciphers has no cipher_integrity_check (an unknown pragma
 * returns no rows), so that SQLCipher pragma is not used.
 */
export function checkIntegrity(db: SqliteDatabase, what: string): void {
  let ic: unknown;
  try {
    ic = db.pragma('integrity_check', { simple: true });
  } catch (e) {
    throw sqliteError(e, `${what}: integrity_check`);
  }
  if (ic !== 'ok') throw new TesseraError('ERR_DATABASE', `${what}: integrity_check reported ${String(ic).slice(0, 200)}`);
}

/** fsync path, and its directory (so a rename or a new file survives a crash). */
export function syncFile(path: string, dirToo = true): void {
  for (const p of dirToo ? [path, dirname(path)] : [path]) {
    const fd = openSync(p, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
