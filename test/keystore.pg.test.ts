/**
 * PostgresKeyStore (lib/keys/pg-store.ts; docs/ARCHITECTURE.md "Key manager
 * core"): `PostgresKeyStore({ connectionString })` on the `pg` package;
 * schema created and migrated by the store; rotation in a transaction so
 * that four processes rotating concurrently end with exactly one primary
 * per purpose and no lost versions; key material stored wrapped, never in
 * plaintext; a wrong passphrase is ERR_KEK, a tampered key store ERR_FORMAT
 * (and the store is not overwritten).
 *
 * Runs against a private server (test/pg/server.ts): never skipped; the
 * suite fails when no server can be started.
 *
 * Proves: without `pg` the store is ERR_BACKEND naming `npm install pg`
 * (and the package itself still loads); the schema is created on first
 * open, re-opening is idempotent, concurrent first opens are safe, a newer
 * schema version is refused; keyring round trip (encrypt, rotate, close,
 * reopen, decrypt) with the previous generation kept in the row; no raw
 * key bytes in the stored row; wrong KEK -> ERR_KEK; a tampered row ->
 * ERR_FORMAT on open and never overwritten by a later commit; store-level
 * optimistic concurrency (stale generation and racing first INSERTs ->
 * ERR_CONFLICT, exactly one winner); four child processes rotating one
 * purpose concurrently end with one primary and every acknowledged key;
 * connection refused / wrong password -> ERR_IO naming host and database
 * but never the password.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';

import { startPostgres, type PgServer } from './pg/server';
import { rejects, root, T } from './tessera';

const require = createRequire(import.meta.url);
const pgStorePath = path.join(root, 'dist/cjs/keys/pg-store.js');
const { PostgresKeyStore } = require(pgStorePath) as typeof import('../dist/cjs/keys/pg-store');
type Store = InstanceType<typeof PostgresKeyStore>;
const pg = require('pg') as typeof import('pg');

let srv: PgServer;
let admin: import('pg').Client;
const stores: Store[] = [];
let tables = 0;
const freshTable = () => `ks_${process.pid}_${tables++}`;

function store(table: string, extra: Record<string, unknown> = {}): Store {
  const s = new PostgresKeyStore({ connectionString: srv.url(), table, ...extra });
  stores.push(s);
  return s;
}

beforeAll(async () => {
  srv = await startPostgres();
  admin = new pg.Client({ connectionString: srv.url() });
  await admin.connect();
}, 120_000);

// Every store a test made is closed after it (each holds a small connection pool).
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
});

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await srv?.stop();
}, 60_000);

async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof T.TesseraError ? e.code : `not a TesseraError: ${String(e)}`;
  }
  return 'no error';
}

async function row(table: string): Promise<{ generation: string; doc: string; previous: string | null; previous_generation: string | null } | undefined> {
  const r = await admin.query(`SELECT generation, doc, previous, previous_generation FROM "${table}" WHERE name = 'default'`);
  return r.rows[0];
}

/** A keyring in table with purposes a and b, a rotated once; returns the master key. */
async function populated(table: string): Promise<Buffer> {
  const mk = randomBytes(32);
  const ring = await T.Keyring.open(store(table), { kek: T.kek.fromKey(mk) });
  await ring.createPurpose('a');
  await ring.createPurpose('b');
  await ring.rotate('a');
  await ring.close();
  return mk;
}

describe('PostgresKeyStore: package and schema', () => {
  test('without `pg` installed: ERR_BACKEND naming `npm install pg`, and tessera itself still loads', () => {
    const code = `
      const Module = require('module');
      const orig = Module._resolveFilename;
      Module._resolveFilename = function (req, ...rest) {
        if (req === 'pg' || req.startsWith('pg/')) { const e = new Error("Cannot find module '" + req + "'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
        return orig.call(this, req, ...rest);
      };
      const T = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
      const { PostgresKeyStore } = require(${JSON.stringify(pgStorePath)});
      try {
        new PostgresKeyStore({ connectionString: 'postgres://u@127.0.0.1:1/db' });
        console.log(JSON.stringify({ code: 'no error' }));
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, message: e.message, tessera: e instanceof T.TesseraError }));
      }`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.code).toBe('ERR_BACKEND');
    expect(out.tessera).toBe(true);
    expect(out.message).toContain('npm install pg');
  });

  test('exported from the package root', () => {
    expect(T.PostgresKeyStore).toBe(PostgresKeyStore);
  });

  test('bad options are ERR_ARGUMENT', () => {
    const mk = (o: unknown) => () => new PostgresKeyStore(o as never);
    for (const o of [
      undefined,
      {},
      { connectionString: '' },
      { connectionString: srv.url(), table: 'a; drop table x' },
      { connectionString: srv.url(), table: 'a.b.c' },
      { connectionString: srv.url(), table: '"x"' },
    ]) {
      let code = 'no error';
      try {
        mk(o)();
      } catch (e) {
        code = (e as { code?: string }).code ?? String(e);
      }
      expect(code, JSON.stringify(o)).toBe('ERR_ARGUMENT');
    }
  });

  test('schema created on first open, re-open idempotent, concurrent first opens safe, newer schema refused', async () => {
    const t = freshTable();
    const reg = async (n: string) => (await admin.query('SELECT to_regclass($1) AS r', [n])).rows[0].r as string | null;
    expect(await reg(t)).toBeNull();
    const s1 = store(t);
    expect(s1.kind).toBe('postgres');
    expect(await s1.load()).toBeUndefined();
    expect(await reg(t)).toBe(t);
    expect(await reg(`${t}_schema`)).toBe(`${t}_schema`);
    const ver = async () => (await admin.query(`SELECT version FROM "${t}_schema"`)).rows;
    expect(await ver()).toEqual([{ version: 1 }]);
    const cols = (await admin.query('SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name', [t])).rows.map(
      (r) => r.column_name,
    );
    expect(cols).toEqual(['doc', 'generation', 'name', 'previous', 'previous_generation', 'updated_at']);

    // A keyring written, then opened again through new store objects: nothing recreated or lost.
    const mk = randomBytes(32);
    const ring = await T.Keyring.open(s1, { kek: T.kek.fromKey(mk) });
    await ring.createPurpose('p');
    await ring.close();
    const before = await row(t);
    for (let i = 0; i < 3; i++) {
      const s = store(t);
      const doc = await s.load();
      expect(doc?.generation).toBe(Number(before!.generation));
      await s.close();
    }
    expect(await ver()).toEqual([{ version: 1 }]);
    expect(await row(t)).toEqual(before);

    // Eight stores (eight connections) opening a new table at once.
    const t2 = freshTable();
    const many = Array.from({ length: 8 }, () => store(t2));
    expect(await Promise.all(many.map((s) => s.load()))).toEqual(Array(8).fill(undefined));
    expect((await admin.query(`SELECT version FROM "${t2}_schema"`)).rows).toEqual([{ version: 1 }]);

    // A schema version this code does not know: refused, not "migrated".
    await admin.query(`UPDATE "${t2}_schema" SET version = 99`);
    const e = await rejects(store(t2).load());
    expect(e.code).toBe('ERR_FORMAT');
    expect(e.message).toMatch(/schema version 99/);
    expect((await admin.query(`SELECT version FROM "${t2}_schema"`)).rows).toEqual([{ version: 99 }]);
  });

  test('schema-qualified table names work', async () => {
    await admin.query('CREATE SCHEMA IF NOT EXISTS tessera_q');
    const s = store('tessera_q.ring');
    const ring = await T.Keyring.open(s, { kek: T.kek.fromKey(randomBytes(32)) });
    await ring.createPurpose('x');
    await ring.close();
    expect((await admin.query('SELECT count(*)::int AS n FROM tessera_q.ring')).rows[0].n).toBe(1);
    expect((await admin.query('SELECT version FROM tessera_q.ring_schema')).rows).toEqual([{ version: 1 }]);
  });
});

describe('PostgresKeyStore with a keyring', () => {
  test('round trip: encrypt, rotate, close, reopen, decrypt; previous generation kept', async () => {
    const t = freshTable();
    const mk = randomBytes(32);
    const s = store(t);
    const ring = await T.Keyring.open(s, { kek: T.kek.fromKey(mk) });
    const aad = { aad: Buffer.from('row 7') };
    const m1 = await ring.encrypt('user-data', Buffer.from('first secret'), aad);
    const id1 = ring.status().find((k) => k.purpose === 'user-data')!.id;
    const s1 = await ring.encryptToString('files', Buffer.from('file key'));
    const g = (await row(t))!;
    const id2 = await ring.rotate('user-data');
    expect(id2).not.toBe(id1);
    const m2 = await ring.encrypt('user-data', Buffer.from('second secret'), aad);
    expect(T.parseHeader(m2).keyId).toBe(id2);
    await ring.close();
    await s.close();
    expect(await codeOfAsync(s.load())).toBe('ERR_DISPOSED');

    const r = (await row(t))!;
    expect(Number(r.generation)).toBeGreaterThan(Number(g.generation));
    expect(Number(r.previous_generation)).toBe(Number(r.generation) - 1);
    expect(JSON.parse(r.previous!).generation).toBe(Number(r.generation) - 1);

    const again = await T.Keyring.open(store(t), { kek: T.kek.fromKey(mk) });
    expect(Buffer.from(await again.decrypt(m1, aad)).toString()).toBe('first secret');
    expect(Buffer.from(await again.decrypt(m2, aad)).toString()).toBe('second secret');
    expect(Buffer.from(await again.decryptString(s1)).toString()).toBe('file key');
    const st = again.status();
    expect(st.filter((k) => k.purpose === 'user-data')).toHaveLength(2);
    expect(st.find((k) => k.id === id2)?.primary).toBe(true);
    expect(st.find((k) => k.id === id1)?.state).toBe('decrypt-only');
    expect(st.find((k) => k.id === id1)?.encrypted).toBe(1); // use counts persisted at close
    await again.close();
  });

  test('the stored row holds no raw key bytes, only KEK-wrapped material', async () => {
    const t = freshTable();
    const mk = randomBytes(32);
    const ring = await T.Keyring.open(store(t), { kek: T.kek.fromKey(mk) });
    const id = await ring.createPurpose('user-data');
    await ring.rotate('user-data'); // so `previous` holds a key too
    const raws: Uint8Array[] = [];
    for (const k of ring.status()) raws.push(T.keywrap.unwrapPad(mk, (await ring.exportKey(k.id, T.kek.fromKey(mk))).wrapped));
    await ring.close();
    const r = (await row(t))!;
    const everything = `${r.doc}\n${r.previous}`;
    const dump = (await admin.query(`SELECT * FROM "${t}"`)).rows;
    for (const raw of raws) {
      for (const enc of ['hex', 'base64', 'base64url'] as const) {
        expect(everything).not.toContain(Buffer.from(raw).toString(enc));
        expect(JSON.stringify(dump)).not.toContain(Buffer.from(raw).toString(enc));
      }
    }
    const doc = JSON.parse(r.doc);
    expect(doc).toMatchObject({ format: 'tessera-keyring', version: 1, kekId: T.kek.fromKey(mk).id });
    expect(doc.keys.find((k: { id: number }) => k.id === id).wrapped).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(doc.keys[0].wrapped, 'base64')).toHaveLength(40); // AES-KWP of 32 bytes
  });

  test('wrong KEK -> ERR_KEK; the row is unchanged', async () => {
    const t = freshTable();
    await populated(t);
    const before = await row(t);
    expect(await codeOfAsync(T.Keyring.open(store(t), { kek: T.kek.fromKey(randomBytes(32)) }))).toBe('ERR_KEK');
    expect(await row(t)).toEqual(before);
  });

  const tamperings: [string, (doc: string) => string][] = [
    ['a key state edited', (d) => d.replace('"decrypt-only"', '"active"')],
    ['a use count edited', (d) => d.replace(/"encrypted":(\d+)/, (_, n) => `"encrypted":${Number(n) + 5}`)],
    ['a wrapped key edited', (d) => d.replace(/"wrapped":"(.)/, (_, c) => `"wrapped":"${c === 'A' ? 'B' : 'A'}`)],
    ['not JSON', (d) => d.slice(0, d.length >> 1)],
  ];
  for (const [what, edit] of tamperings) {
    test(`tampered row (${what}) -> ERR_FORMAT on open; never overwritten by a later commit`, async () => {
      const t = freshTable();
      const mk = await populated(t);
      const early = await T.Keyring.open(store(t), { kek: T.kek.fromKey(mk) }); // opened before the tampering
      const orig = (await row(t))!;
      const bad = edit(orig.doc);
      expect(bad).not.toBe(orig.doc);
      await admin.query(`UPDATE "${t}" SET doc = $1 WHERE name = 'default'`, [bad]);
      expect(await codeOfAsync(T.Keyring.open(store(t), { kek: T.kek.fromKey(mk) }))).toBe('ERR_FORMAT');
      expect(await codeOfAsync(early.rotate('a'))).toBe('ERR_FORMAT');
      expect(await codeOfAsync(early.setState(early.status()[0]!.id, 'retired'))).not.toBe('no error');
      await early.close().catch(() => undefined);
      const after = (await row(t))!;
      expect(after.doc).toBe(bad);
      expect(after.generation).toBe(orig.generation);
      expect(after.previous).toBe(orig.previous);
    });
  }

  test('a generation column that disagrees with the document is ERR_FORMAT', async () => {
    const t = freshTable();
    const mk = await populated(t);
    await admin.query(`UPDATE "${t}" SET generation = generation + 1 WHERE name = 'default'`);
    const e = await rejects(T.Keyring.open(store(t), { kek: T.kek.fromKey(mk) }));
    expect(e.code).toBe('ERR_FORMAT');
    expect(e.message).toMatch(/generation column/);
  });

  test('store-level optimistic concurrency: stale generation and racing first commits -> ERR_CONFLICT, one winner', async () => {
    const t = freshTable();
    await populated(t);
    const s = store(t);
    const doc = (await s.load())!;
    const g = doc.generation;
    expect(await codeOfAsync(s.commit({ ...doc, generation: g }, g - 1))).toBe('ERR_CONFLICT');
    expect(await codeOfAsync(s.commit({ ...doc, generation: g + 5 }, g))).toBe('ERR_ARGUMENT');

    // Eight writers (eight connections) commit on top of the same generation: exactly one lands.
    const writers = Array.from({ length: 8 }, () => store(t));
    const results = await Promise.allSettled(writers.map((w, i) => w.commit({ ...doc, generation: g + 1, kekId: `${doc.kekId}#${i}` }, g)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('ERR_CONFLICT');
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    expect((await s.load())!.kekId).toBe(`${doc.kekId}#${winner}`);
    expect(Number((await row(t))!.previous_generation)).toBe(g);

    // Eight writers initializing an empty keyring at once: the primary key makes it one INSERT.
    const t2 = freshTable();
    const firsts = Array.from({ length: 8 }, () => store(t2));
    const res2 = await Promise.allSettled(firsts.map((w, i) => w.commit({ ...doc, generation: 1, kekId: `k${i}` }, 0)));
    expect(res2.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of res2) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('ERR_CONFLICT');
    expect(Number((await row(t2))!.generation)).toBe(1);
  });

  test('after a conflict the loser keeps the row for its retry; released after conflictHoldMs if no retry comes', async () => {
    const t = freshTable();
    await populated(t);
    const loser = store(t, { conflictHoldMs: 600 });
    const winner = store(t, { conflictHoldMs: 0 });
    const doc = (await loser.load())!;
    const g = doc.generation;
    await winner.commit({ ...doc, generation: g + 1 }, g);
    expect(await codeOfAsync(loser.commit({ ...doc, generation: g + 1 }, g))).toBe('ERR_CONFLICT');
    // The loser now holds the row: the winner's next commit waits for the loser's retry.
    const cur = (await loser.load())!;
    expect(cur.generation).toBe(g + 1);
    const order: string[] = [];
    const w = winner.commit({ ...cur, generation: g + 2 }, g + 1).then(
      () => order.push('winner ok'),
      (e) => order.push(`winner ${(e as { code?: string }).code}`),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(order).toEqual([]);
    await loser.commit({ ...cur, generation: g + 2, kekId: 'loser' }, g + 1);
    order.push('loser ok');
    await w;
    expect(order).toEqual(['loser ok', 'winner ERR_CONFLICT']);
    expect((await row(t))!.generation).toBe(String(g + 2));

    // A conflict with no retry: the row is released after conflictHoldMs.
    expect(await codeOfAsync(loser.commit({ ...cur, generation: g + 2 }, g + 1))).toBe('ERR_CONFLICT');
    const t0 = Date.now();
    const now = (await winner.load())!;
    await winner.commit({ ...now, generation: g + 3 }, g + 2);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(450);
    expect(waited).toBeLessThan(5000);
    expect((await row(t))!.generation).toBe(String(g + 3));
  });

  test('a row locked by someone else for longer than lockTimeoutMs -> ERR_LOCKED, nothing written', async () => {
    const t = freshTable();
    await populated(t);
    const s = store(t, { lockTimeoutMs: 300 });
    const doc = (await s.load())!;
    const other = new pg.Client({ connectionString: srv.url() });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM "${t}" FOR UPDATE`);
      const t0 = Date.now();
      expect(await codeOfAsync(s.commit({ ...doc, generation: doc.generation + 1 }, doc.generation))).toBe('ERR_LOCKED');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }
    expect((await row(t))!.generation).toBe(String(doc.generation));
    await s.commit({ ...doc, generation: doc.generation + 1 }, doc.generation);
    expect((await row(t))!.generation).toBe(String(doc.generation + 1));
  });

  test('four processes rotating one purpose concurrently: one primary, every acknowledged version present', async () => {
    const t = freshTable();
    const mk = randomBytes(32);
    {
      const ring = await T.Keyring.open(store(t), { kek: T.kek.fromKey(mk) });
      await ring.createPurpose('p');
      await ring.createPurpose('q');
      await ring.close();
    }
    const procs = 4;
    const rotations = 15;
    const child = (k: number) => `
      const T = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
      const { PostgresKeyStore } = require(${JSON.stringify(pgStorePath)});
      (async () => {
        const store = new PostgresKeyStore({ connectionString: process.env.TESSERA_PG_URL, table: ${JSON.stringify(t)} });
        // Longest run of conflicts one rotation met (the keyring gives up after 32).
        let run = 0, maxRun = 0;
        const commit = store.commit.bind(store);
        store.commit = async (...a) => {
          try { const r = await commit(...a); run = 0; return r; }
          catch (e) { if (e.code === 'ERR_CONFLICT') maxRun = Math.max(maxRun, ++run); throw e; }
        };
        const ring = await T.Keyring.open(store, { kek: T.kek.fromKey(Buffer.from('${mk.toString('hex')}', 'hex')) });
        console.log('ready');
        await new Promise((r) => process.stdin.once('data', r)); // start together
        for (let i = 0; i < ${rotations}; i++) {
          const id = await ring.rotate(${k % 2 === 0 ? "'p'" : "i % 2 ? 'q' : 'p'"});
          console.log(String(id));
        }
        await ring.close();
        await store.close();
        console.log('maxrun ' + maxRun);
        console.log('done');
      })().catch((e) => { console.error(e); process.exit(3); });`;
    const acknowledged: number[] = [];
    const maxRuns: number[] = [];
    const children: ChildProcess[] = [];
    const readies: Promise<void>[] = [];
    const exits: Promise<void>[] = [];
    for (let k = 0; k < procs; k++) {
      const c = spawn(process.execPath, ['-e', child(k)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TESSERA_PG_URL: srv.url() } });
      children.push(c);
      let err = '';
      c.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      let buf = '';
      let onReady!: () => void;
      readies.push(new Promise<void>((r) => (onReady = r)));
      let done = false;
      c.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (l === 'ready') onReady();
          else if (l === 'done') done = true;
          else if (l.startsWith('maxrun ')) maxRuns.push(Number(l.slice(7)));
          else if (/^\d+$/.test(l)) acknowledged.push(Number(l));
        }
      });
      exits.push(
        new Promise<void>((resolve, reject) =>
          c.once('exit', (code) => (code === 0 && done ? resolve() : reject(new Error(`child ${k} exited with ${code}: ${err}`)))),
        ),
      );
    }
    try {
      await Promise.race([Promise.all(readies), Promise.all(exits)]);
      for (const c of children) c.stdin!.end('go\n');
      await Promise.all(exits);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    }
    expect(acknowledged).toHaveLength(procs * rotations);
    // No writer starves: after losing a race it holds the row for its retry (conflictHoldMs).
    expect(maxRuns).toHaveLength(procs);
    expect(Math.max(...maxRuns)).toBeLessThanOrEqual(2);
    expect(new Set(acknowledged).size).toBe(procs * rotations);

    const ring = await T.Keyring.open(store(t), { kek: T.kek.fromKey(mk) });
    const st = ring.status();
    const ids = new Set(st.map((k) => k.id));
    for (const id of acknowledged) expect(ids.has(id)).toBe(true);
    for (const p of ['p', 'q'])
      expect(
        st.filter((k) => k.purpose === p && k.state === 'active'),
        p,
      ).toHaveLength(1);
    // Every key that exists was either the initial one or an acknowledged rotation: none lost, none extra.
    expect(st).toHaveLength(2 + procs * rotations);
    const r = (await row(t))!;
    expect(Number(r.generation)).toBeGreaterThanOrEqual(3 + procs * rotations);
    await ring.close();
  });
});

describe('PostgresKeyStore connection errors', () => {
  test('connection refused -> ERR_IO naming host and database, never the password', async () => {
    // A port nobody listens on: the server's own port + 1 is not guaranteed free, so use a closed socket's port.
    const net = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as import('node:net').AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const password = `s3cret-${randomBytes(8).toString('hex')}`;
    const s = new PostgresKeyStore({ connectionString: `postgres://alice:${password}@127.0.0.1:${port}/payments`, table: 'x', connectTimeoutMs: 3000 });
    for (const op of [() => s.load(), () => T.Keyring.open(s, { kek: T.kek.fromKey(randomBytes(32)) })]) {
      const e = await rejects(op());
      expect(e.code).toBe('ERR_IO');
      expect(e.message).toContain(`127.0.0.1:${port}`);
      expect(e.message).toContain('payments');
      expect(e.message).toMatch(/ECONNREFUSED/);
      expect(e.message).not.toContain(password);
      expect(inspect(e, { depth: 10 })).not.toContain(password);
      expect(String(e.stack)).not.toContain(password);
    }
    await s.close();
  });

  test('wrong password against the real server -> ERR_IO without either password', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const s = new PostgresKeyStore({ connectionString: srv.url().replace(encodeURIComponent(srv.password), wrong), table: 'y' });
    const e = await rejects(s.load());
    expect(e.code).toBe('ERR_IO');
    expect(e.message).toContain(`127.0.0.1:${srv.port}`);
    expect(e.message).toMatch(/password authentication failed/);
    for (const pw of [wrong, srv.password]) {
      expect(e.message).not.toContain(pw);
      expect(inspect(e, { depth: 10 })).not.toContain(pw);
    }
    await s.close();
  });

  test('a database that does not exist -> ERR_IO naming it', async () => {
    const s2 = new PostgresKeyStore({ connectionString: srv.url('no_such_db'), table: 'z' });
    const e = await rejects(s2.load());
    expect(e.code).toBe('ERR_IO');
    expect(e.message).toContain('no_such_db');
    expect(e.message).not.toContain(srv.password);
    await s2.close();
  });
});
