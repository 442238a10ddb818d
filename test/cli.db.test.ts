/**
 * `tessera db rotate` (lib/cli/db.ts; docs/API.md "SQLCipher databases").
 *
 * Proves: a rotation from the command line rekeys the database (the
 * library then opens it with the new primary; the old key no longer does),
 * prints each step to stderr and one result line (or --json) to stdout;
 * run again after a rotation was killed before its verify step, it
 * reports finishing that rotation; usage errors exit 2 with the usage
 * text, a wrong KEK and a database of another keyring exit 3 with one
 * line and no key material.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { root, T, TEST_BUILD_ARGS } from './tessera';

const require_ = createRequire(import.meta.url);
const S = require_('../dist/cjs/sqlcipher/index.js') as typeof import('../dist/cjs/sqlcipher/index');
const BIN = path.join(root, 'dist', 'cjs', 'cli', 'main.js');

let dir: string;
let n = 0;
const fresh = (ext: string) => path.join(dir, `c-${n++}${ext}`);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cli-db-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], mk: Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, TSR_KEK: mk.toString('hex') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A keyring file with purpose 'db' and a database of 1200 rows keyed by it. */
async function setup() {
  const mk = randomBytes(32);
  const store = fresh('.json');
  const database = fresh('.db');
  const ring = await T.Keyring.open(new T.FileKeyStore(store), { kek: T.kek.fromKey(mk) });
  const db = await S.openDatabase(database, ring, 'db');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t(v) VALUES (?)') as unknown as { run(v: string): void };
  for (let i = 0; i < 1200; i++) ins.run(`row ${i}`);
  db.close();
  const from = await ring.databaseKeys('db').primary();
  await ring.close();
  return { mk, store, database, from };
}

const reopen = (store: string, mk: Buffer) => T.Keyring.open(new T.FileKeyStore(store), { kek: T.kek.fromKey(mk) });

describe('tessera db rotate', () => {
  test('rekeys the database: steps on stderr, one result line, the library opens it with the new primary', async () => {
    const { mk, store, database, from } = await setup();
    const r = cli(['db', 'rotate', database, '--keyring', store, '--purpose', 'db', '--key-env', 'TSR_KEK'], mk);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^lock \([\d.]+ MiB\)\.\.\.\n {2}lock: \d+ ms\nbackup/);
    for (const s of ['verify-backup', 'pending', 'rekey', 'verify', 'activate', 'cleanup']) expect(r.stderr).toContain(`\n${s} (`);
    const ring = await reopen(store, mk);
    const to = await ring.databaseKeys('db').primary();
    expect(to).not.toBe(from);
    expect(r.stdout).toBe(`${database}: rotated; key ${from} -> ${to} (1 tables, 1200 rows verified)\n`);
    const db = await S.openDatabase(database, ring, 'db');
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(1200);
    db.close();
    expect(ring.status().find((k) => k.id === from)?.state).toBe('decrypt-only');
    await ring.close();
    const j = cli(['db', 'rotate', database, '--keyring', store, '--purpose', 'db', '--key-env', 'TSR_KEK', '--json'], mk);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ from: to, outcome: 'rotated', tables: { t: 1200 } });
  });

  test('after a rotation killed before its verify step, the next run finishes it', async () => {
    const { mk, store, database, from } = await setup();
    const code = `
      const T = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
      const S = require(${JSON.stringify(path.join(root, 'dist/cjs/sqlcipher/index.js'))});
      T.Keyring.open(new T.FileKeyStore(${JSON.stringify(store)}), { kek: T.kek.fromKey(Buffer.from(${JSON.stringify(mk.toString('hex'))}, 'hex')) })
        .then((ring) => S.rotateDatabaseKey(${JSON.stringify(database)}, ring, 'db', {
          onProgress: ({ step }) => { if (step === 'verify') { process.stdout.write('at verify\\n'); return new Promise(() => {}); } },
        }));`;
    const child = spawn(process.execPath, [...TEST_BUILD_ARGS, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('at verify') && child.kill('SIGKILL'));
      child.once('exit', () => resolve());
    });
    const r = cli(['db', 'rotate', database, '--keyring', store, '--purpose', 'db', '--key-env', 'TSR_KEK'], mk);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`finished an interrupted rotation; key ${from} -> \\d+ \\(1 tables, 1200 rows verified\\)`));
    const ring = await reopen(store, mk);
    expect(ring.databaseKeys('db').pending()).toBeUndefined();
    await ring.close();
  });

  test("usage errors exit 2 with the usage text; a wrong KEK or another keyring's database exits 3 with one line", async () => {
    const { mk, store, database } = await setup();
    for (const args of [
      ['db'],
      ['db', 'status', database],
      ['db', 'rotate', database, '--keyring', store],
      ['db', 'rotate', '--keyring', store, '--purpose', 'db'],
      ['db', 'rotate', database, '--keyring', store, '--purpose', 'nope', '--key-env', 'TSR_KEK'],
      ['db', 'rotate', database, '--keyring', store, '--purpose', 'db', '--bogus'],
    ]) {
      const r = cli(args, mk);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('usage:');
    }
    const wrong = cli(['db', 'rotate', database, '--keyring', store, '--purpose', 'db', '--key-env', 'TSR_KEK'], randomBytes(32));
    expect(wrong.code).toBe(3);
    expect(wrong.stderr.trimEnd().split('\n')).toHaveLength(1);
    const other = await setup();
    const r = cli(['db', 'rotate', database, '--keyring', other.store, '--purpose', 'db', '--key-env', 'TSR_KEK'], other.mk);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/opens with neither the primary key/);
    expect(r.stderr).not.toMatch(/[0-9a-f]{64}/);
  });
});
