/**
 * Audit (docs/API.md "Key manager"): every key event and every failed decrypt is
 * an event {time, key id, purpose, operation, byte count, outcome}, never
 * key material or plaintext, delivered to hooks `ring.on('audit', fn)` and
 * optionally to a hash-chained JSON-lines file checked by
 * `verifyAuditLog(path)`.
 *
 * Line format (one JSON object per line, keys sorted):
 *   { ...event, seq, prev, hash }
 * seq counts lines from 1; prev is the previous line's hash (the first
 * line's is GENESIS, 64 zeros); hash = SHA-256 hex of the canonical JSON of
 * the line without `hash`. An edited line fails its own hash, a deleted or
 * reordered line breaks seq and the next line's prev. The chain is keyless:
 * it proves the file is internally consistent, not who wrote it; truncation
 * of the tail is visible only against a head ({lines, head}) kept elsewhere.
 * One process appends to a given log file (the chain continues from the
 * file's last line when it is reopened).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';

import { TesseraError } from '../errors';
import { ioError } from '../chunked/io';
import { canonicalJson } from './document';

/** The key operations the audit log records. */
export type AuditOp = 'create' | 'rotate' | 'state' | 'destroy' | 'export' | 'policy' | 'decrypt';

/** One audit record: a keyring's `audit` event and one line of its audit log (KeyringOptions.auditLog). */
export interface AuditEvent {
  /** ISO 8601. */
  time: string;
  keyId: number | null;
  purpose: string | null;
  op: AuditOp;
  /** Size of the data involved (the message for decrypt; 0 for key events). */
  bytes: number;
  outcome: 'success' | 'failure';
  /** TesseraError code of a failure. */
  code?: string;
  /** e.g. "decrypt-only -> retired", "previous 17"; never secrets. */
  detail?: string;
}

export const GENESIS = '0'.repeat(64);

function hashOf(body: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** Appends events to a hash-chained JSON-lines file, one write per line, in order. */
export class AuditLog {
  readonly path: string;
  #fh: fs.FileHandle | undefined;
  #prev = GENESIS;
  #seq = 0;
  #queue: Promise<void> = Promise.resolve();

  private constructor(p: string) {
    this.path = p;
  }

  static async open(p: string): Promise<AuditLog> {
    const log = new AuditLog(p);
    let text = '';
    try {
      text = await fs.readFile(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(e, `audit log ${p}`);
    }
    if (text.length > 0) {
      if (!text.endsWith('\n')) throw new TesseraError('ERR_FORMAT', `audit log ${p} ends in a partial line`);
      const last = text.slice(text.lastIndexOf('\n', text.length - 2) + 1, -1);
      let rec: { seq?: unknown; hash?: unknown };
      try {
        rec = JSON.parse(last) as typeof rec;
      } catch {
        throw new TesseraError('ERR_FORMAT', `audit log ${p}: the last line is not JSON`);
      }
      if (!Number.isSafeInteger(rec.seq) || typeof rec.hash !== 'string')
        throw new TesseraError('ERR_FORMAT', `audit log ${p}: the last line is not an audit record`);
      log.#seq = rec.seq as number;
      log.#prev = rec.hash;
    }
    try {
      log.#fh = await fs.open(p, 'a', 0o600);
    } catch (e) {
      throw ioError(e, `audit log ${p}`);
    }
    return log;
  }

  /** Queues a line; the promise settles when it is written (and fsynced when sync). */
  append(event: AuditEvent, sync: boolean): Promise<void> {
    const run = async () => {
      if (!this.#fh) throw new TesseraError('ERR_DISPOSED', 'the audit log is closed');
      const body: Record<string, unknown> = { ...event, seq: this.#seq + 1, prev: this.#prev };
      const hash = hashOf(body);
      const line = Buffer.from(canonicalJson({ ...body, hash }) + '\n');
      try {
        await this.#fh.write(line);
        if (sync) await this.#fh.datasync();
      } catch (e) {
        throw ioError(e, `audit log ${this.path}`);
      }
      this.#seq++;
      this.#prev = hash;
    };
    const p = this.#queue.then(run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    await this.#queue;
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh) {
      await fh.sync().catch(() => undefined);
      await fh.close();
    }
  }
}

/** Where a keyring's events go: hooks (synchronously, in order) and an optional AuditLog. */
export class AuditSink {
  readonly #listeners = new Set<(e: AuditEvent) => void>();
  #log: AuditLog | undefined;

  async open(logPath: string | undefined): Promise<void> {
    if (logPath !== undefined) this.#log = await AuditLog.open(logPath);
  }

  on(event: 'audit', fn: (e: AuditEvent) => void): void {
    if (event !== 'audit' || typeof fn !== 'function') throw new TesseraError('ERR_ARGUMENT', "on('audit', fn) is the only event");
    this.#listeners.add(fn);
  }

  off(event: 'audit', fn: (e: AuditEvent) => void): void {
    if (event === 'audit') this.#listeners.delete(fn);
  }

  /** Hooks get a copy each; a hook that throws becomes a process warning, never a failed key operation. */
  async emit(ev: AuditEvent, sync: boolean): Promise<void> {
    for (const fn of this.#listeners) {
      try {
        fn({ ...ev });
      } catch (e) {
        process.emitWarning(`tessera: an audit hook threw: ${e instanceof Error ? e.message : String(e)}`, { code: 'TESSERA_AUDIT' });
      }
    }
    if (this.#log) await this.#log.append(ev, sync);
  }

  async close(): Promise<void> {
    await this.#log?.close();
    this.#log = undefined;
  }
}

/** What verifyAuditLog found. */
export type AuditVerifyResult = { ok: true; lines: number; head: string } | { ok: false; lines: number; badLine: number; reason: string };

/**
 * Checks the whole chain. ok: the number of lines and the last hash (keep
 * them elsewhere to detect truncation later). Not ok: the first bad line
 * (1-based) and why; `lines` is how many lines before it verified.
 */
export async function verifyAuditLog(p: string): Promise<AuditVerifyResult> {
  let text: string;
  try {
    text = await fs.readFile(p, 'utf8');
  } catch (e) {
    throw ioError(e, `audit log ${p}`);
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else if (lines.length > 0) return { ok: false, lines: lines.length - 1, badLine: lines.length, reason: 'partial last line' };
  let prev = GENESIS;
  for (let i = 0; i < lines.length; i++) {
    const fail = (reason: string): AuditVerifyResult => ({ ok: false, lines: i, badLine: i + 1, reason });
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(lines[i]!) as Record<string, unknown>;
    } catch {
      return fail('not JSON');
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return fail('not an object');
    const { hash, ...body } = rec;
    if (body.seq !== i + 1) return fail(`sequence number ${String(body.seq)} where ${i + 1} was expected (line deleted or reordered)`);
    if (body.prev !== prev) return fail('does not chain to the previous line (line deleted, inserted or reordered)');
    if (hash !== hashOf(body)) return fail('hash mismatch (line edited)');
    prev = hash as string;
  }
  return { ok: true, lines: lines.length, head: prev };
}
