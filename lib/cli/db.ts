/**
 * `tessera db rotate <database> --keyring <store> --purpose <P> [KEK]`
 * (docs/API.md "SQLCipher databases"): rotates a SQLCipher database's key with
 * rotateDatabaseKey (lib/sqlcipher/rotate.ts), printing each step with the
 * time it took and the database size to stderr, and the result to stdout.
 * Run it again after an interruption: it finishes or rolls back the
 * rotation it finds. Exit codes as for `tessera keyring` (lib/cli/main.ts);
 * a database the keys do not open is 3, a failed check 4.
 */
import { TesseraError } from '../errors';
import { rotateDatabaseKey, type RotationProgress } from '../sqlcipher/index';
import { type KekSource, kekOption, keyringFailure, ONE_KEK, openExisting, openStore, storeName } from './keyring';
import { CliError, EXIT } from './keys';

export interface DbArgs {
  database: string;
  store: string;
  purpose: string;
  kek?: KekSource;
  json: boolean;
}

export function parseDb(args: string[]): DbArgs {
  const bad = (m: string): never => {
    throw new CliError(EXIT.usage, m);
  };
  const [cmd, ...rest] = args;
  if (cmd !== 'rotate') bad(cmd === undefined ? 'db needs a command (rotate)' : `unknown db command ${cmd}`);
  const pos: string[] = [];
  const keks: KekSource[] = [];
  let store: string | undefined;
  let purpose: string | undefined;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const o = rest[i]!;
    const value = () => rest[++i] ?? bad(`${o} needs a value`);
    const kek = kekOption(o, value);
    if (!o.startsWith('-')) pos.push(o);
    else if (kek) keks.push(kek);
    else if (o === '--keyring') store = value();
    else if (o === '--purpose') purpose = value();
    else if (o === '--json') json = true;
    else bad(`unknown option ${o} for db rotate`);
  }
  if (pos.length !== 1) bad('db rotate takes <database>');
  if (store === undefined) bad('db rotate needs --keyring <store>');
  if (purpose === undefined) bad('db rotate needs --purpose <purpose> (the keyring purpose that keys this database)');
  if (keks.length > 1) bad(ONE_KEK);
  return { database: pos[0]!, store: store!, purpose: purpose!, kek: keks[0], json };
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export async function db(a: DbArgs): Promise<void> {
  const store = openStore(a.store);
  try {
    const ring = await openExisting(store, a.store, a.kek);
    try {
      if (!(a.purpose in ring.purposes())) throw new CliError(EXIT.usage, `no purpose ${JSON.stringify(a.purpose)} in ${storeName(a.store)}`);
      let t = Date.now();
      let last: RotationProgress | undefined;
      const res = await rotateDatabaseKey(a.database, ring, a.purpose, {
        onProgress: (p) => {
          if (last) process.stderr.write(`  ${last.step}: ${Date.now() - t} ms\n`);
          if (p.step !== 'done') process.stderr.write(`${p.step} (${mib(p.bytes)})...\n`);
          last = p;
          t = Date.now();
        },
      });
      if (a.json) process.stdout.write(JSON.stringify(res) + '\n');
      else {
        const rows = Object.values(res.tables).reduce((x, y) => x + y, 0);
        const what = { rotated: 'rotated', resumed: 'finished an interrupted rotation', cleaned: 'removed the backup of a finished rotation' }[res.outcome];
        process.stdout.write(`${a.database}: ${what}; key ${res.from} -> ${res.to} (${Object.keys(res.tables).length} tables, ${rows} rows verified)\n`);
      }
    } finally {
      await ring.close();
    }
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** Exit code and one-line message: the keyring's mapping, with database failures as key (3) and check (4) errors. */
export function dbFailure(e: unknown, a: DbArgs | undefined): [number, string] {
  if (e instanceof TesseraError && e.code === 'ERR_AUTH') return [EXIT.key, e.message];
  if (e instanceof TesseraError && e.code === 'ERR_DATABASE') return [EXIT.input, e.message];
  return keyringFailure(e, a ? storeName(a.store) : 'the key store');
}
