/**
 * tessera/sqlcipher (lib/sqlcipher; docs/API.md "SQLCipher databases"):
 * SQLCipher 4 databases keyed with raw keys from a keyring, and their key
 * rotation.
 *
 * Proves: openDatabase creates an encrypted file (no SQLite header, no
 * plaintext on disk) that reopens with the keyring and refuses another
 * keyring's key (ERR_AUTH); SQLCipher 4 interop both ways with
 * @journeyapps/sqlcipher (SQLCipher 4 community) using the same raw key;
 * rotateDatabaseKey rekeys (old key refused, new key opens, rows intact,
 * new key primary and old decrypt-only, one 'rotate' audit event, no
 * backup left, states in the keyring), and refuses a database whose pages
 * fail their HMAC with nothing changed; SIGKILL before every step and
 * inside the rekey leaves a database that opens with exactly one of the
 * two keys, and the next rotateDatabaseKey finishes the rotation; a
 * database that opens with neither key during a rotation gets its backup
 * restored; the raw key literal is what SQLCipher reads; a missing driver
 * is ERR_BACKEND naming the package.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { childLines, rejects, root, T, TEST_BUILD_ARGS } from './tessera';

const require_ = createRequire(import.meta.url);
const S = require_('../dist/cjs/sqlcipher/index.js') as typeof import('../dist/cjs/sqlcipher/index');
const Driver = require_('better-sqlite3-multiple-ciphers') as new (p: string) => import('../dist/cjs/sqlcipher/index').SqliteDatabase;
const journeyapps = require_('@journeyapps/sqlcipher') as {
  Database: new (
    p: string,
    cb?: (e: Error | null) => void,
  ) => {
    serialize(fn: () => void): void;
    run(sql: string, ...a: unknown[]): void;
    get(sql: string, cb: (e: Error | null, row: Record<string, unknown>) => void): void;
    all(sql: string, cb: (e: Error | null, rows: Record<string, unknown>[]) => void): void;
    close(cb?: (e: Error | null) => void): void;
  };
};

let dir: string;
let n = 0;
const fresh = (ext = '.db') => path.join(dir, `f-${n++}${ext}`);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-sqlcipher-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function ring(file = fresh('.json'), mk = randomBytes(32)) {
  const r = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
  return { ring: r, file, mk };
}

const hexOf = (r: Awaited<ReturnType<typeof T.Keyring.open>>, purpose: string, id: number) =>
  r.databaseKeys(purpose).withKey(id, (raw: Uint8Array) => Buffer.from(raw).toString('hex'));

/** Opens path with the driver directly and a raw hex key; the row count of t, or the error code. */
function probe(p: string, hex: string): number | string {
  const db = new Driver(p);
  try {
    db.pragma("cipher='sqlcipher'");
    db.pragma('legacy=4');
    db.key(Buffer.from(`x'${hex}'`));
    return (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  } finally {
    db.close();
  }
}

const MARK = 'plaintext-marker-0123456789';

function fill(db: import('../dist/cjs/sqlcipher/index').SqliteDatabase, rows: number): void {
  db.exec('CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT, b BLOB)');
  db.exec('CREATE TABLE IF NOT EXISTS u(x)');
  const ins = db.prepare('INSERT INTO t(v, b) VALUES (?, ?)') as unknown as { run(...a: unknown[]): void };
  db.exec('BEGIN');
  for (let i = 0; i < rows; i++) ins.run(`${MARK} ${i}`, randomBytes(200));
  db.exec('COMMIT');
}

function jaQuery(p: string, hex: string, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const db = new journeyapps.Database(p);
    let out: Record<string, unknown>[] = [];
    let err: Error | null = null;
    db.serialize(() => {
      db.run(`PRAGMA key = "x'${hex}'"`);
      db.all(sql, (e, rows) => {
        err = e;
        out = rows;
      });
    });
    db.close(() => (err ? reject(err) : resolve(out)));
  });
}

describe('openDatabase', () => {
  test('a new database is encrypted on disk, reopens with the keyring, and refuses another keyring (ERR_AUTH)', async () => {
    const { ring: r } = await ring();
    const p = fresh();
    const db = await S.openDatabase(p, r, 'app-db');
    fill(db, 500);
    db.close();
    const bytes = fs.readFileSync(p);
    expect(bytes.subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\0');
    expect(bytes.includes(Buffer.from(MARK))).toBe(false);
    const again = await S.openDatabase(p, r, 'app-db');
    expect((again.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(500);
    again.close();
    const other = await ring();
    const e = await rejects(S.openDatabase(p, other.ring, 'app-db'));
    expect(e.code).toBe('ERR_AUTH');
    expect(e.message).not.toMatch(/[0-9a-f]{64}/);
    // A plain (unencrypted) SQLite database is not one of ours either.
    const plain = fresh();
    const pd = new Driver(plain);
    pd.exec('CREATE TABLE t(a)');
    pd.close();
    expect((await rejects(S.openDatabase(plain, r, 'app-db'))).code).toBe('ERR_AUTH');
    await r.close();
    await other.ring.close();
  });

  test("the key is the raw 256-bit key (x'..' form): the driver opens the file with it directly, and with nothing derived from it", async () => {
    const { ring: r } = await ring();
    const p = fresh();
    const db = await S.openDatabase(p, r, 'raw');
    fill(db, 3);
    db.close();
    const id = await r.databaseKeys('raw').primary();
    const hex = hexOf(r, 'raw', id);
    expect(probe(p, hex)).toBe(3);
    // The same 32 bytes as a passphrase (SQLCipher's PBKDF2 path) do not open it.
    const pd = new Driver(p);
    pd.pragma("cipher='sqlcipher'");
    pd.pragma('legacy=4');
    pd.key(Buffer.from(hex));
    expect(() => pd.prepare('SELECT count(*) FROM t').get()).toThrow(/not a database/);
    pd.close();
    await r.close();
  });

  test('argument errors are ERR_ARGUMENT; a closed keyring is ERR_DISPOSED', async () => {
    const { ring: r } = await ring();
    expect((await rejects(S.openDatabase('', r, 'x'))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(S.openDatabase(':memory:', r, 'x'))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(S.openDatabase(fresh(), {} as never, 'x'))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(S.rotateDatabaseKey(fresh(), r, 'x'))).code).toBe('ERR_IO');
    await r.close();
    expect((await rejects(S.openDatabase(fresh(), r, 'x'))).code).toBe('ERR_DISPOSED');
  });
});

describe('interop with @journeyapps/sqlcipher (SQLCipher 4 community)', () => {
  test('a database written and rotated by tessera opens there with the raw key; one made there opens in tessera', async () => {
    const { ring: r } = await ring();
    const p = fresh();
    const db = await S.openDatabase(p, r, 'interop');
    fill(db, 100);
    db.close();
    const k0 = await r.databaseKeys('interop').primary();
    expect(await jaQuery(p, hexOf(r, 'interop', k0), 'SELECT count(*) AS n FROM t')).toEqual([{ n: 100 }]);
    const res = await S.rotateDatabaseKey(p, r, 'interop');
    expect(res.outcome).toBe('rotated');
    await expect(jaQuery(p, hexOf(r, 'interop', k0), 'SELECT count(*) AS n FROM t')).rejects.toThrow(/not a database/);
    expect(await jaQuery(p, hexOf(r, 'interop', res.to), 'SELECT count(*) AS n FROM t')).toEqual([{ n: 100 }]);
    const ver = await jaQuery(p, hexOf(r, 'interop', res.to), 'PRAGMA cipher_version');
    expect(String(ver[0]!.cipher_version)).toMatch(/^4\./);

    // Made by SQLCipher 4 with its defaults and the keyring's raw key.
    const q = fresh();
    const k1 = await r.databaseKeys('made-there').primary();
    await new Promise<void>((resolve, reject) => {
      const j = new journeyapps.Database(q);
      j.serialize(() => {
        j.run(`PRAGMA key = "x'${hexOf(r, 'made-there', k1)}'"`);
        j.run('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
        j.run("INSERT INTO t(v) VALUES ('from sqlcipher')");
      });
      j.close((e) => (e ? reject(e) : resolve()));
    });
    const t = await S.openDatabase(q, r, 'made-there');
    expect(t.prepare('SELECT v FROM t').all()).toEqual([{ v: 'from sqlcipher' }]);
    t.close();
    const res2 = await S.rotateDatabaseKey(q, r, 'made-there');
    expect(await jaQuery(q, hexOf(r, 'made-there', res2.to), 'SELECT v FROM t')).toEqual([{ v: 'from sqlcipher' }]);
    await r.close();
  });
});

describe('rotateDatabaseKey', () => {
  test('rekeys: old key refused, new key opens, rows intact, key states, one audit event, no backup left', async () => {
    const { ring: r } = await ring();
    const events: { op: string; detail?: string; keyId: number | null }[] = [];
    r.on('audit', (e) => events.push(e));
    const p = fresh();
    const db = await S.openDatabase(p, r, 'orders');
    fill(db, 2000);
    db.exec("INSERT INTO u VALUES ('a'), ('b')");
    db.close();
    const keys = r.databaseKeys('orders');
    const k0 = await keys.primary();
    const steps: string[] = [];
    const res = await S.rotateDatabaseKey(p, r, 'orders', { onProgress: (s) => void steps.push(s.step) });
    expect(steps).toEqual(['lock', 'backup', 'verify-backup', 'pending', 'rekey', 'verify', 'activate', 'cleanup', 'done']);
    expect(res).toEqual({ from: k0, to: expect.any(Number), outcome: 'rotated', tables: { t: 2000, u: 2 } });
    expect(res.to).not.toBe(k0);
    expect(probe(p, hexOf(r, 'orders', k0))).toBe('SQLITE_NOTADB');
    expect(probe(p, hexOf(r, 'orders', res.to))).toBe(2000);
    const st = r.status().filter((k) => k.purpose === 'orders');
    expect(st.map((k) => [k.id, k.state]).sort()).toEqual(
      [
        [k0, 'decrypt-only'],
        [res.to, 'active'],
      ].sort(),
    );
    expect(keys.pending()).toBeUndefined();
    expect(events.filter((e) => e.op === 'rotate')).toEqual([expect.objectContaining({ keyId: res.to, detail: `previous ${k0} (database rekeyed)` })]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(p) + '.tessera-rotate'))).toEqual([]);
    const again = await S.openDatabase(p, r, 'orders');
    expect(again.prepare('SELECT x FROM u ORDER BY x').all()).toEqual([{ x: 'a' }, { x: 'b' }]);
    again.close();
    // A second rotation goes on from the new key.
    const res2 = await S.rotateDatabaseKey(p, r, 'orders');
    expect(res2.from).toBe(res.to);
    expect(probe(p, hexOf(r, 'orders', res2.to))).toBe(2000);
    await r.close();
  });

  test('a database in WAL mode is rekeyed and stays in WAL mode', async () => {
    const { ring: r } = await ring();
    const p = fresh();
    const db = await S.openDatabase(p, r, 'wal');
    db.pragma('journal_mode = WAL');
    fill(db, 300);
    db.close();
    const res = await S.rotateDatabaseKey(p, r, 'wal');
    const d2 = await S.openDatabase(p, r, 'wal');
    expect(d2.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((d2.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(300);
    d2.close();
    expect(probe(p, hexOf(r, 'wal', res.from))).toBe('SQLITE_NOTADB');
    await r.close();
  });

  test('a page that fails its HMAC stops the rotation before any key changes (ERR_DATABASE or ERR_AUTH), database untouched', async () => {
    const { ring: r } = await ring();
    const p = fresh();
    const db = await S.openDatabase(p, r, 'bad');
    fill(db, 1000);
    db.close();
    const buf = fs.readFileSync(p);
    buf[4096 * 5 + 100]! ^= 1; // a data page, not page 1
    fs.writeFileSync(p, buf);
    const k0 = await r.databaseKeys('bad').primary();
    const e = await rejects(S.rotateDatabaseKey(p, r, 'bad'));
    expect(['ERR_DATABASE', 'ERR_AUTH']).toContain(e.code);
    expect(fs.readFileSync(p).equals(buf)).toBe(true);
    expect(r.databaseKeys('bad').pending()).toBeUndefined();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(`${path.basename(p)}.`))).toEqual([]); // no copy left behind
    expect(
      r
        .status()
        .filter((k) => k.purpose === 'bad')
        .map((k) => k.id),
    ).toEqual([k0]);
    await r.close();
  });

  test('a keyring purpose with a pending key: activate / discard / status, and pending keys never become primary by themselves', async () => {
    const { ring: r } = await ring();
    const keys = r.databaseKeys('p');
    const k0 = await keys.primary();
    const k1 = await keys.createPending();
    expect(await keys.createPending()).toBe(k1); // at most one
    expect(r.status().find((k) => k.id === k1)).toMatchObject({ state: 'pending', primary: false });
    expect((await rejects(r.setState(k1, 'retired'))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(keys.activate(k0))).code).toBe('ERR_ARGUMENT');
    await keys.discard(k1);
    expect(r.status().find((k) => k.id === k1)?.state).toBe('destroyed');
    const k2 = await keys.createPending();
    await keys.activate(k2);
    expect(
      r
        .status()
        .filter((k) => k.purpose === 'p')
        .map((k) => [k.id, k.state])
        .sort(),
    ).toEqual(
      [
        [k0, 'decrypt-only'],
        [k1, 'destroyed'],
        [k2, 'active'],
      ].sort(),
    );
    expect(() => keys.withKey(k1, () => 0)).toThrow(expect.objectContaining({ code: 'ERR_KEY_MISMATCH' }));
    await r.close();
  });
});

/** A child that opens the ring and rotates the database, printing each step; the parent kills it. */
function rotateChild(ringFile: string, mk: Buffer, db: string, purpose: string) {
  const code = `
    const T = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
    const S = require(${JSON.stringify(path.join(root, 'dist/cjs/sqlcipher/index.js'))});
    (async () => {
      const ring = await T.Keyring.open(new T.FileKeyStore(${JSON.stringify(ringFile)}), { kek: T.kek.fromKey(Buffer.from(${JSON.stringify(mk.toString('hex'))}, 'hex')) });
      const stop = process.env.STOP_AT;
      await S.rotateDatabaseKey(${JSON.stringify(db)}, ring, ${JSON.stringify(purpose)}, {
        onProgress: async ({ step }) => {
          process.stdout.write(step + '\\n');
          if (step === stop) await new Promise(() => {}); // wait here to be killed
        },
      });
      process.stdout.write('finished\\n');
    })().catch((e) => { process.stdout.write('error ' + e.code + ' ' + e.message + '\\n'); process.exit(1); });`;
  return code;
}

async function runUntil(code: string, stopAt: string): Promise<string[]> {
  const child = spawn(process.execPath, [...TEST_BUILD_ARGS, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, STOP_AT: stopAt } });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    childLines(child, (l) => {
      seen.push(l);
      if (l === stopAt) child.kill('SIGKILL');
      if (l.startsWith('error')) reject(new Error(l));
    });
    child.once('exit', () => resolve());
  });
  return seen;
}

describe('rotateDatabaseKey survives SIGKILL', () => {
  // Killed while waiting in onProgress before each step (inside PRAGMA rekey: the next test).
  const points = ['lock', 'backup', 'verify-backup', 'pending', 'rekey', 'verify', 'activate', 'cleanup', 'done'];
  test.each(points)('killed at %s: the database opens with exactly one of the two keys, and the next call finishes the rotation', async (stopAt) => {
    const { ring: r0, file, mk } = await ring();
    const p = fresh();
    const db = await S.openDatabase(p, r0, 'crash');
    fill(db, 3000);
    db.close();
    const k0 = await r0.databaseKeys('crash').primary();
    await r0.close();
    const seen = await runUntil(rotateChild(file, mk, p, 'crash'), stopAt);
    expect(seen.at(-1)).toBe(stopAt);

    const { ring: r } = await ring(file, mk);
    const keys = r.databaseKeys('crash');
    const ids = r
      .status()
      .filter((k) => k.purpose === 'crash' && k.state !== 'destroyed')
      .map((k) => k.id);
    const opens = ids.filter((id) => probe(p, hexOf(r, 'crash', id)) === 3000);
    expect(opens).toHaveLength(1);
    const db2 = await S.openDatabase(p, r, 'crash'); // what an application does after the crash
    expect((db2.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(3000);
    db2.close();

    const res = await S.rotateDatabaseKey(p, r, 'crash');
    const primary = await keys.primary();
    expect(keys.pending()).toBeUndefined();
    expect(probe(p, hexOf(r, 'crash', primary))).toBe(3000);
    expect(res.to).toBe(primary);
    expect(primary).not.toBe(k0);
    const expected = {
      lock: 'rotated',
      backup: 'rotated',
      'verify-backup': 'rotated',
      pending: 'rotated',
      rekey: 'resumed',
      verify: 'resumed',
      activate: 'resumed',
      cleanup: 'cleaned',
      done: 'rotated',
    } as const;
    expect(res.outcome).toBe(expected[stopAt as keyof typeof expected]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(p) + '.'))).toEqual([]);
    await r.close();
  });

  test('killed inside PRAGMA rekey (hot journal): the old key rolls it back, and the next call rekeys again', async () => {
    const { ring: r0, file, mk } = await ring();
    const p = fresh();
    const db = await S.openDatabase(p, r0, 'mid');
    fill(db, 60_000); // ~20 MiB: the rekey takes long enough to be interrupted
    db.close();
    await r0.close();
    // The child prints 'rekey' and goes on (STOP_AT is another step); the parent kills it shortly after.
    const code = rotateChild(file, mk, p, 'mid');
    const child = spawn(process.execPath, [...TEST_BUILD_ARGS, '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, STOP_AT: 'never' },
    });
    let finished = false;
    await new Promise<void>((resolve) => {
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        if (d.includes('rekey')) setTimeout(() => child.kill('SIGKILL'), 30);
        if (d.includes('finished')) finished = true;
      });
      child.once('exit', () => resolve());
    });
    expect(finished).toBe(false);
    const { ring: r } = await ring(file, mk);
    const keys = r.databaseKeys('mid');
    const k0 = await keys.primary();
    const pending = keys.pending()!;
    expect(pending).toBeDefined();
    expect(fs.existsSync(`${p}-journal`)).toBe(true); // killed inside the rekey's transaction
    expect(probe(p, hexOf(r, 'mid', k0))).toBe(60_000); // rolls back the journal when there is one
    expect(probe(p, hexOf(r, 'mid', pending))).toBe('SQLITE_NOTADB');
    const res = await S.rotateDatabaseKey(p, r, 'mid');
    expect(res).toMatchObject({ from: k0, to: pending, outcome: 'resumed' });
    expect(probe(p, hexOf(r, 'mid', pending))).toBe(60_000);
    await r.close();
  });

  test('during a rotation, a database that opens with neither key gets the backup (old key) restored and the pending key destroyed', async () => {
    const { ring: r0, file, mk } = await ring();
    const p = fresh();
    const db = await S.openDatabase(p, r0, 'lost');
    fill(db, 500);
    db.close();
    await r0.close();
    await runUntil(rotateChild(file, mk, p, 'lost'), 'verify');
    // The rekeyed file is damaged on page 1 before anyone verified it.
    const buf = fs.readFileSync(p);
    buf[50]! ^= 0xff;
    fs.writeFileSync(p, buf);
    const { ring: r } = await ring(file, mk);
    const keys = r.databaseKeys('lost');
    const k0 = await keys.primary();
    const pending = keys.pending()!;
    const e = await rejects(S.rotateDatabaseKey(p, r, 'lost'));
    expect(e.code).toBe('ERR_AUTH');
    expect(e.message).toMatch(/backup keyed with the primary was restored/);
    expect(probe(p, hexOf(r, 'lost', k0))).toBe(500);
    expect(keys.pending()).toBeUndefined();
    expect(r.status().find((k) => k.id === pending)?.state).toBe('destroyed');
    await r.close();
  });
});

test('without the driver installed, ERR_BACKEND names the package', () => {
  const code = `
    const Module = require('node:module');
    const orig = Module._resolveFilename;
    Module._resolveFilename = function (req, ...a) {
      if (req === 'better-sqlite3-multiple-ciphers') { const e = new Error('Cannot find module ' + req); e.code = 'MODULE_NOT_FOUND'; throw e; }
      return orig.call(this, req, ...a);
    };
    const T = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
    const S = require(${JSON.stringify(path.join(root, 'dist/cjs/sqlcipher/index.js'))});
    T.Keyring.open(new T.FileKeyStore(${JSON.stringify(fresh('.json'))}), { kek: T.kek.fromKey(Buffer.alloc(32, 1)) })
      .then((ring) => S.openDatabase(${JSON.stringify(fresh())}, ring, 'x'))
      .then(() => console.log('opened'), (e) => console.log(e.code + ' ' + e.message));`;
  const r = require_('node:child_process').spawnSync(process.execPath, [...TEST_BUILD_ARGS, '-e', code], { encoding: 'utf8' });
  expect(r.stdout + r.stderr).toMatch(/^ERR_BACKEND .*better-sqlite3-multiple-ciphers.*npm install better-sqlite3-multiple-ciphers/);
});
