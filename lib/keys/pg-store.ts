/**
 * PostgresKeyStore (contract: `new PostgresKeyStore({ connectionString })`;
 * docs/ARCHITECTURE.md "Key manager core").
 *
 * The same KeyStore contract as FileKeyStore (lib/keys/store.ts): one
 * keyring document with a generation number, replaced as a whole with
 * optimistic concurrency. The store only ever sees the document the
 * keyring produces: key material wrapped by the KEK, everything MACed.
 *
 * `pg` is an optional peer dependency, loaded on first construction through
 * lib/peer.ts (ERR_BACKEND naming `npm install pg` when missing), so
 * the rest of tessera works without it.
 *
 * Schema (created and migrated by the store, `table` defaults to
 * `tessera_keyring`, optionally schema-qualified):
 *   <table>_schema (singleton boolean PK, version integer): the schema version;
 *   <table> (name text PK, generation bigint, doc text,
 *            previous_generation bigint, previous text, updated_at timestamptz):
 *     one row per keyring (`keyring` option, default 'default'); `doc` is the
 *     JSON document as written, `previous` the generation it replaced (the
 *     file store's .bak).
 * Migrations run once per store object, in one transaction under a
 * transaction-scoped advisory lock derived from the table name, so
 * concurrent first opens (several processes) neither race on CREATE TABLE
 * nor apply a migration twice. A schema newer than this code is ERR_FORMAT.
 *
 * commit(next, expected, verifyCurrent) is one READ COMMITTED transaction:
 *   SELECT generation, doc ... FOR UPDATE   (row lock: writers serialize here)
 *   generation != expected                  -> ROLLBACK, ERR_CONFLICT
 *   unparsable / not a keyring document     -> ROLLBACK, ERR_FORMAT
 *   verifyCurrent(current) throws (MAC)     -> ROLLBACK, its error
 *   UPDATE ... SET doc = next, generation = next.generation,
 *          previous = doc, previous_generation = generation
 *     (no row and expected 0: INSERT; a concurrent first INSERT loses on the
 *      primary key, 23505 -> ERR_CONFLICT)
 *   COMMIT (when commit() resolves, the new generation is durable).
 * A waiter blocked on the row lock re-reads the committed row when it gets
 * the lock (READ COMMITTED re-check of FOR UPDATE), so it sees the new
 * generation and fails with ERR_CONFLICT; the keyring reloads and re-applies.
 *
 * Fairness (conflictHoldMs, default 250 ms): the keyring retries a conflict
 * at once (reload, re-apply, commit), and the writer that just won needs
 * one round trip less than the losers, so under sustained contention the
 * same process kept winning and a loser ran out of retries (observed: 33
 * conflicts in a row with four processes rotating continuously). So a
 * commit that loses keeps its transaction, and with it the row lock and
 * the current row, for up to conflictHoldMs: the load() that follows is
 * served from that row, and the retrying commit() continues in the same
 * transaction, so it cannot lose again; other writers wait on the row lock
 * meanwhile (READ COMMITTED: then they see the new generation). Measured
 * with the hold: at most one conflict per rotation. If no retry comes (the
 * change became a no-op after the reload), the transaction is rolled back
 * when conflictHoldMs expires. lock_timeout (lockTimeoutMs) bounds every
 * wait for the row (ERR_LOCKED), and idle_in_transaction_session_timeout
 * lets the server end a transaction whose process froze.
 *
 * Errors: connection and server failures are ERR_IO with a message naming
 * the host, port and database, never the password (it is scrubbed from
 * every message, and the underlying error is attached as `cause` only when
 * it does not contain it).
 */
import { createHash } from 'node:crypto';

import { TesseraError } from '../errors';
import { requirePeer } from '../peer';
import { checkDocShape, type KeyringDoc, type KeyStore } from './store';

/** Options of PostgresKeyStore. */
export interface PostgresKeyStoreOptions {
  /** `postgres://user:password@host:port/database?...` (anything `pg` accepts). */
  connectionString: string;
  /** Table name, optionally `schema.table` (default `tessera_keyring`); `<table>_schema` holds the schema version. */
  table?: string;
  /** Row name: several keyrings can share one table (default 'default'). */
  keyring?: string;
  /** How long to wait for a connection before ERR_IO (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** How long a commit waits for another writer's row lock before ERR_LOCKED (default 10 000 ms; 0 waits forever). */
  lockTimeoutMs?: number;
  /**
   * After a commit loses a race (ERR_CONFLICT), how long its transaction
   * keeps the row locked for the caller's reload and retry (default 250 ms;
   * 0 disables). This is what keeps a writer from starving when several
   * processes write continuously: see the module comment.
   */
  conflictHoldMs?: number;
  /** Connection pool size (default 2; the keyring runs one operation at a time). */
  maxConnections?: number;
}

/** The part of the `pg` API this store uses (so the public types do not depend on @types/pg). */
interface PgResult {
  rows: Record<string, unknown>[];
}
interface PgClient {
  query(text: string, values?: unknown[]): Promise<PgResult>;
  release(err?: Error | boolean): void;
  on(ev: 'error', fn: (e: Error) => void): unknown;
  removeListener(ev: 'error', fn: (e: Error) => void): unknown;
}
interface PgPool {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
  on(ev: 'error', fn: (e: Error) => void): unknown;
}
interface Conn {
  client: PgClient;
  broken: Error | undefined;
  onError: (e: Error) => void;
}
/** The transaction kept open after a conflict (see #hold). */
interface Held {
  conn: Conn;
  generation: number;
  rows: Record<string, unknown>[];
  timer: NodeJS.Timeout;
}
interface PgModule {
  Pool: new (config: Record<string, unknown>) => PgPool;
}

/** The current schema version and how to get there from each older one. */
const MIGRATIONS: ((t: string) => string[])[] = [
  // 0 -> 1
  (t) => [
    `CREATE TABLE IF NOT EXISTS ${t} (
       name text PRIMARY KEY,
       generation bigint NOT NULL CHECK (generation >= 1),
       doc text NOT NULL,
       previous_generation bigint,
       previous text,
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
  ],
];
/** The schema version this store creates and migrates to (`<table>_schema`). */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,50}$/;
/** Advisory lock class of tessera's schema migrations (first key of pg_advisory_xact_lock(int4, int4)). */
const LOCK_CLASS = 0x7e55e7a;

function loadPg(): PgModule {
  return requirePeer<PgModule>('pg', 'PostgresKeyStore', (m) => (typeof m.Pool !== 'function' ? 'no Pool' : undefined));
}

/** "host h:p, database d" from a connection string, and the secrets to scrub from messages. */
function describeTarget(cs: string): { where: string; secrets: string[] } {
  const secrets: string[] = [];
  try {
    const u = new URL(cs);
    if (u.password) {
      secrets.push(u.password);
      try {
        secrets.push(decodeURIComponent(u.password));
      } catch {
        /* keep the raw form */
      }
    }
    const qp = u.searchParams.get('password');
    if (qp) secrets.push(qp);
    const host = u.hostname ? decodeURIComponent(u.hostname) : (u.searchParams.get('host') ?? process.env.PGHOST ?? 'localhost');
    const port = u.port || process.env.PGPORT || '5432';
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || u.searchParams.get('db') || process.env.PGDATABASE || '(default database)';
    return { where: `host ${host}:${port}, database ${db}`, secrets };
  } catch {
    return { where: 'the configured server', secrets };
  }
}

/**
 * A key store in a PostgreSQL row (the same contract as FileKeyStore: one document, replaced whole with optimistic concurrency).
 * Needs the optional peer `pg`, loaded on first construction.
 */
export class PostgresKeyStore implements KeyStore {
  readonly kind = 'postgres';
  /** The quoted, possibly schema-qualified table name. */
  readonly table: string;
  /** The row's name (the `keyring` option). */
  readonly keyring: string;
  /** "host h:p, database d": what messages name (never the password). */
  readonly where: string;
  readonly #schemaTable: string;
  readonly #lockKey: number;
  readonly #secrets: string[];
  readonly #cs: string;
  readonly #pool: PgPool;
  readonly #lockTimeoutMs: number;
  readonly #holdMs: number;
  #ready: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #held: Held | undefined;
  #closed = false;

  constructor(opts: PostgresKeyStoreOptions) {
    if (!opts || typeof opts !== 'object' || typeof opts.connectionString !== 'string' || opts.connectionString.length === 0) {
      throw new TesseraError('ERR_ARGUMENT', 'PostgresKeyStore needs { connectionString }');
    }
    const table = opts.table ?? 'tessera_keyring';
    const parts = typeof table === 'string' ? table.split('.') : [];
    if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
      throw new TesseraError(
        'ERR_ARGUMENT',
        'PostgresKeyStore: table must be an identifier or schema.identifier ([A-Za-z_][A-Za-z0-9_]*, at most 51 characters each)',
      );
    }
    const keyring = opts.keyring ?? 'default';
    if (typeof keyring !== 'string' || keyring.length === 0 || keyring.length > 200)
      throw new TesseraError('ERR_ARGUMENT', 'PostgresKeyStore: keyring must be a non-empty string');
    const timeout = opts.connectTimeoutMs ?? 10_000;
    if (!Number.isSafeInteger(timeout) || timeout < 1) throw new TesseraError('ERR_ARGUMENT', 'connectTimeoutMs must be a positive integer');
    const lockMs = opts.lockTimeoutMs ?? 10_000;
    if (!Number.isSafeInteger(lockMs) || lockMs < 0) throw new TesseraError('ERR_ARGUMENT', 'lockTimeoutMs must be a non-negative integer');
    const holdMs = opts.conflictHoldMs ?? 250;
    if (!Number.isSafeInteger(holdMs) || holdMs < 0) throw new TesseraError('ERR_ARGUMENT', 'conflictHoldMs must be a non-negative integer');
    this.#lockTimeoutMs = lockMs;
    this.#holdMs = holdMs;
    const max = opts.maxConnections ?? 2;
    if (!Number.isSafeInteger(max) || max < 1) throw new TesseraError('ERR_ARGUMENT', 'maxConnections must be a positive integer');

    const quoted = parts.map((p) => `"${p}"`);
    this.table = quoted.join('.');
    this.#schemaTable = [...quoted.slice(0, -1), `"${parts[parts.length - 1]}_schema"`].join('.');
    this.#lockKey = createHash('sha256')
      .update(`tessera-keystore:${parts.join('.')}`)
      .digest()
      .readInt32BE(0);
    this.keyring = keyring;
    this.#cs = opts.connectionString;
    const t = describeTarget(opts.connectionString);
    this.where = t.where;
    this.#secrets = t.secrets.filter((s) => s.length > 0);

    const pg = loadPg();
    this.#pool = new pg.Pool({
      connectionString: opts.connectionString,
      max,
      connectionTimeoutMillis: timeout,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true, // idle connections never keep the process alive
      application_name: 'tessera-keystore',
    });
    // An idle connection that dies (server restart) must not crash the process: the next query reconnects.
    this.#pool.on('error', () => undefined);
  }

  #scrub(s: string): string {
    let out = s.split(this.#cs).join('<connection string>');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
  }

  /** A pg / socket error as ERR_IO naming the server (TesseraErrors pass through). */
  #ioError(e: unknown, what: string): unknown {
    if (e instanceof TesseraError) return e;
    const err = e as { message?: unknown; code?: unknown };
    const raw = typeof err?.message === 'string' ? err.message : String(e);
    const msg = this.#scrub(raw);
    const code = typeof err?.code === 'string' ? ` (${err.code})` : '';
    let dump = raw;
    try {
      dump += JSON.stringify(e ?? null);
    } catch {
      dump = this.#secrets.length ? this.#secrets[0]! : dump; // cannot inspect it: do not attach it
    }
    const clean = msg === raw && !this.#secrets.some((s) => dump.includes(s));
    return new TesseraError('ERR_IO', `PostgreSQL key store (${this.where}): ${what}: ${msg}${code}`, clean ? { cause: e } : undefined);
  }

  #checkOpen(): void {
    if (this.#closed) throw new TesseraError('ERR_DISPOSED', 'the key store is closed');
  }

  /** A pooled connection with an error listener (a checked-out client that errors must not crash the process). */
  async #connect(): Promise<Conn> {
    let client: PgClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw this.#ioError(e, 'cannot connect');
    }
    const conn: Conn = {
      client,
      broken: undefined,
      onError: (e: Error) => {
        conn.broken = e;
      },
    };
    client.on('error', conn.onError);
    return conn;
  }

  /** Returns conn to the pool, or discards it if it failed. */
  #release(conn: Conn): void {
    conn.client.removeListener('error', conn.onError);
    conn.client.release(conn.broken ?? false);
  }

  /** Runs fn on one pooled connection; a connection that failed mid-way is discarded. */
  async #withClient<R>(what: string, fn: (c: PgClient) => Promise<R>): Promise<R> {
    const conn = await this.#connect();
    try {
      return await fn(conn.client);
    } catch (e) {
      if (!(e instanceof TesseraError)) conn.broken ??= e as Error;
      throw this.#ioError(e, what);
    } finally {
      this.#release(conn);
    }
  }

  /** fn inside BEGIN ... COMMIT; any throw rolls back (the rollback's own failure is ignored: the connection is dropped). */
  #transaction<R>(what: string, fn: (c: PgClient) => Promise<R>): Promise<R> {
    return this.#withClient(what, async (c) => {
      await c.query('BEGIN');
      let r: R;
      try {
        r = await fn(c);
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
      await c.query('COMMIT');
      return r;
    });
  }

  /** Store operations run one at a time (the held transaction below is shared state). */
  #serial<R>(fn: () => Promise<R>): Promise<R> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** Takes the held transaction (if any) out of the store. */
  #takeHeld(): Held | undefined {
    const h = this.#held;
    if (!h) return undefined;
    this.#held = undefined;
    clearTimeout(h.timer);
    return h;
  }

  async #dropHeld(h: Held | undefined): Promise<void> {
    if (!h) return;
    await h.conn.client.query('ROLLBACK').catch((e: Error) => {
      h.conn.broken ??= e;
    });
    this.#release(h.conn);
  }

  /**
   * After a conflict: keep the transaction that holds the row lock (and the
   * current row) for the caller's immediate reload + retry, so a writer
   * that lost a race cannot lose the next one (no starvation under
   * sustained contention). Rolled back after holdMs if no retry comes.
   */
  #hold(conn: Conn, generation: number, rows: Record<string, unknown>[]): void {
    const timer = setTimeout(() => {
      if (this.#held?.conn !== conn) return;
      void this.#serial(() => this.#dropHeld(this.#takeHeld()));
    }, this.#holdMs); // not unref'd: the checked-out connection must be returned before the process can exit
    this.#held = { conn, generation, rows, timer };
  }

  /** Creates / migrates the schema once per store object (retried after a failure). */
  #ensureSchema(): Promise<void> {
    this.#ready ??= this.#migrate().catch((e) => {
      this.#ready = undefined;
      throw e;
    });
    return this.#ready;
  }

  async #migrate(): Promise<void> {
    await this.#transaction('schema setup', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1::int4, $2::int4)', [LOCK_CLASS, this.#lockKey]);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.#schemaTable} (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), version integer NOT NULL)`);
      const { rows } = await c.query(`SELECT version FROM ${this.#schemaTable}`);
      const have = rows.length ? Number(rows[0]!.version) : 0;
      if (have > PG_SCHEMA_VERSION) {
        throw new TesseraError(
          'ERR_FORMAT',
          `PostgreSQL key store (${this.where}): table ${this.table} has schema version ${have}, newer than this tessera supports (${PG_SCHEMA_VERSION}); upgrade tessera`,
        );
      }
      if (have === PG_SCHEMA_VERSION) return;
      for (let v = have; v < PG_SCHEMA_VERSION; v++) for (const sql of MIGRATIONS[v]!(this.table)) await c.query(sql);
      await c.query(
        `INSERT INTO ${this.#schemaTable} (singleton, version) VALUES (true, $1) ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version`,
        [PG_SCHEMA_VERSION],
      );
    });
  }

  /** Parses a stored row: ERR_FORMAT if it is not a keyring document or disagrees with its generation column. */
  #parse(row: Record<string, unknown>): KeyringDoc {
    const where = `PostgreSQL key store (${this.where}) ${this.table} row ${JSON.stringify(this.keyring)}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(row.doc));
    } catch {
      throw new TesseraError('ERR_FORMAT', `${where}: not valid JSON (corrupted)`);
    }
    const doc = checkDocShape(parsed, where);
    if (Number(row.generation) !== doc.generation) {
      throw new TesseraError('ERR_FORMAT', `${where}: generation column ${String(row.generation)} disagrees with the document's ${doc.generation}`);
    }
    return doc;
  }

  async load(): Promise<KeyringDoc | undefined> {
    this.#checkOpen();
    await this.#ensureSchema();
    return this.#serial(async () => {
      this.#checkOpen();
      const held = this.#held;
      if (held) {
        // The row as locked by our own open transaction: current, and no writer can change it before our retry.
        try {
          return this.#parse(held.rows[0]!);
        } catch (e) {
          await this.#dropHeld(this.#takeHeld());
          throw e;
        }
      }
      const rows = await this.#withClient(
        'load',
        async (c) => (await c.query(`SELECT generation, doc FROM ${this.table} WHERE name = $1`, [this.keyring])).rows,
      );
      return rows.length ? this.#parse(rows[0]!) : undefined;
    });
  }

  async commit(next: KeyringDoc, expectedGeneration: number, verifyCurrent?: (current: KeyringDoc) => void): Promise<void> {
    this.#checkOpen();
    checkDocShape(next, 'commit');
    if (next.generation !== expectedGeneration + 1) {
      throw new TesseraError('ERR_ARGUMENT', `commit: next generation must be ${expectedGeneration + 1} (got ${next.generation})`);
    }
    const text = JSON.stringify(next);
    await this.#ensureSchema();
    return this.#serial(async () => {
      this.#checkOpen();
      let held = this.#takeHeld();
      if (held && held.generation !== expectedGeneration) {
        await this.#dropHeld(held);
        held = undefined;
      }
      const conn = held ? held.conn : await this.#connect();
      const q = (sql: string, values?: unknown[]) => conn.client.query(sql, values);
      let keep = false;
      try {
        let rows: Record<string, unknown>[];
        if (held) {
          rows = held.rows;
        } else {
          await q('BEGIN');
          await q(`SET LOCAL lock_timeout = ${this.#lockTimeoutMs}`);
          await q(`SET LOCAL idle_in_transaction_session_timeout = ${this.#holdMs + 30_000}`);
          rows = (await q(`SELECT generation, doc FROM ${this.table} WHERE name = $1 FOR UPDATE`, [this.keyring])).rows;
        }
        const gen = rows.length ? Number(rows[0]!.generation) : 0;
        if (gen !== expectedGeneration) {
          if (rows.length && this.#holdMs > 0) {
            this.#hold(conn, gen, rows);
            keep = true;
          }
          throw new TesseraError(
            'ERR_CONFLICT',
            `PostgreSQL key store (${this.where}): generation ${gen} was committed by another writer (expected ${expectedGeneration})`,
          );
        }
        if (rows.length) {
          const cur = this.#parse(rows[0]!);
          verifyCurrent?.(cur);
          await q(
            `UPDATE ${this.table} SET previous = doc, previous_generation = generation, doc = $2, generation = $3, updated_at = now()
              WHERE name = $1 AND generation = $4`,
            [this.keyring, text, next.generation, expectedGeneration],
          );
        } else {
          try {
            await q(`INSERT INTO ${this.table} (name, generation, doc) VALUES ($1, $2, $3)`, [this.keyring, next.generation, text]);
          } catch (e) {
            if ((e as { code?: unknown }).code === '23505') {
              throw new TesseraError(
                'ERR_CONFLICT',
                `PostgreSQL key store (${this.where}): another writer initialized keyring ${JSON.stringify(this.keyring)} first`,
              );
            }
            throw e;
          }
        }
        await q('COMMIT');
      } catch (e) {
        if (!keep) {
          if (!(e instanceof TesseraError)) conn.broken ??= e as Error;
          await q('ROLLBACK').catch(() => undefined);
        }
        if ((e as { code?: unknown }).code === '55P03') {
          throw new TesseraError(
            'ERR_LOCKED',
            `PostgreSQL key store (${this.where}): another writer held the keyring row for more than ${this.#lockTimeoutMs} ms`,
          );
        }
        throw this.#ioError(e, 'commit');
      } finally {
        if (!keep) this.#release(conn);
      }
    });
  }

  /** Ends the connection pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#serial(() => this.#dropHeld(this.#takeHeld()));
    await this.#pool.end().catch(() => undefined);
  }
}
