/**
 * Monitoring of the keyring and its primitives: audit events and use
 * counts (docs/API.md "Key manager"; docs/ARCHITECTURE.md "Key manager core").
 * The primitives (keyring-aead.ts, keyring-streaming.ts, keyring-prf.ts)
 * hold no audit policy and count nothing: this layer wraps them.
 *
 * - Use counts: counting(keys) is the KeySource primitives are given. The
 *   keys it hands out are the keyring's, wrapped so that each successful
 *   seal / open (and batch) records its uses through
 *   KeyResolver.recordUse, synchronously, in the same tick as the
 *   primary() policy check: concurrent encrypts cannot overshoot a
 *   maxMessages policy (the keyring persists the counts; keyring-counts.ts).
 * - Audit of data operations: audit(primitive, ops) wraps the named
 *   operations of a primitive in place (own properties, so the primitive's
 *   calls to its own operations, e.g. reencrypt -> decrypt or a stream
 *   adapter -> its iterable, go through the wrapper too). An operation
 *   that fails with a FailureContext attached (keyring-keys.ts failure())
 *   becomes one audit event, reported once however many wrapped
 *   operations the error passes through; the caller sees the rejection
 *   after the event is written. Promises and async iterables are wrapped.
 * - Audit of keyset operations: keyOp(op, keyId, purpose, fn) for the
 *   keyring's own operations (create, rotate, state, destroy, export,
 *   policy): a failure is one event; success events come from the
 *   keyring's commits through success().
 * Event shape (lib/keys/audit.ts): {time, keyId, purpose, op, bytes,
 * outcome, code?, detail?}; never key material or plaintext.
 */
import type { AadOptions } from '../aead';
import { backend } from '../backend/select';
import { TesseraError } from '../errors';
import { keysetChannel, opChannel } from '../metrics/events';
import { type AuditEvent, type AuditOp, AuditSink } from './audit';
import { codeOf, type PendingEvent, PURPOSE } from './keyring-doc';
import { type FailureContext, failure, type Key, type KeyResolver, type KeySource, takeFailure } from './keyring-keys';

/** A key version whose successful operations record their uses. */
class CountedKey implements Key {
  readonly keyId: number;
  readonly key: Key;
  readonly #rec: KeyResolver;

  constructor(key: Key, rec: KeyResolver) {
    this.keyId = key.keyId;
    this.key = key;
    this.#rec = rec;
  }

  // Metrics (lib/metrics/events.ts): an event per operation only while a
  // binding listens; otherwise one property read.
  // A key version's algorithm, backend and purpose never change: looked up once.
  #labels: { algorithm: string; backend: string; purpose: string | null } | undefined;

  #published(op: 'encrypt' | 'decrypt', count: number, bytes: number, t0: number): void {
    const l = (this.#labels ??= { algorithm: algorithmOf(this.key), backend: backend(), purpose: this.#rec.purposeOf(this.keyId) ?? null });
    opChannel.publish({
      op,
      algorithm: l.algorithm,
      backend: l.backend,
      purpose: l.purpose,
      result: 'ok',
      count,
      bytes,
      seconds: (performance.now() - t0) / 1000,
    });
  }

  seal(plaintext: Uint8Array, opts?: AadOptions): Uint8Array {
    const t0 = opChannel.hasSubscribers ? performance.now() : -1;
    const out = this.key.seal(plaintext, opts);
    this.#rec.recordUse(this.keyId, 'encrypt', 1);
    if (t0 >= 0) this.#published('encrypt', 1, plaintext.length, t0);
    return out;
  }

  open(message: Uint8Array, opts?: AadOptions): Uint8Array {
    const t0 = opChannel.hasSubscribers ? performance.now() : -1;
    const out = this.key.open(message, opts);
    this.#rec.recordUse(this.keyId, 'decrypt', 1);
    if (t0 >= 0) this.#published('decrypt', 1, message.length, t0);
    return out;
  }

  sealBatch(plaintexts: Uint8Array[], opts?: AadOptions): Uint8Array[] {
    const t0 = opChannel.hasSubscribers ? performance.now() : -1;
    const out = this.key.sealBatch(plaintexts, opts);
    this.#rec.recordUse(this.keyId, 'encrypt', out.length);
    if (t0 >= 0) this.#published('encrypt', out.length, total(plaintexts), t0);
    return out;
  }

  openBatch(messages: Uint8Array[], opts?: AadOptions): Uint8Array[] {
    const t0 = opChannel.hasSubscribers ? performance.now() : -1;
    const out = this.key.openBatch(messages, opts);
    this.#rec.recordUse(this.keyId, 'decrypt', out.length);
    if (t0 >= 0) this.#published('decrypt', out.length, total(messages), t0);
    return out;
  }
}

function total(list: Uint8Array[]): number {
  let n = 0;
  for (const b of list) n += b.length;
  return n;
}

/** A key's algorithm (an AeadKey's), for metrics labels. */
function algorithmOf(k: unknown): string {
  const a = (k as { algorithm?: unknown } | null)?.algorithm;
  return typeof a === 'string' ? a : 'unknown';
}

function isAsyncIterator(v: unknown): v is AsyncGenerator<unknown> {
  return (
    v !== null && typeof v === 'object' && typeof (v as AsyncGenerator)[Symbol.asyncIterator] === 'function' && typeof (v as AsyncGenerator).next === 'function'
  );
}

/** The audit events of one keyring: to its hooks and log (sink), time-stamped by its clock. */
export class KeyringMonitor {
  readonly sink = new AuditSink();
  readonly #now: () => number;
  #keys: KeyResolver | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  #emit(ev: AuditEvent, sync: boolean): Promise<void> {
    ev.time = new Date(this.#now()).toISOString();
    return this.sink.emit(ev, sync);
  }

  /** A committed change or an export (written and fsynced before the caller goes on). */
  success(ev: PendingEvent): Promise<void> {
    if (keysetChannel.hasSubscribers) keysetChannel.publish({ op: ev.op, purpose: ev.purpose });
    return this.#emit({ ...ev, time: '', outcome: 'success' }, true);
  }

  #failed(ctx: FailureContext, e: unknown): Promise<void> {
    const { op, keyId, purpose, bytes, detail } = ctx;
    const ev: AuditEvent = {
      op,
      keyId,
      purpose: purpose !== null && PURPOSE.test(purpose) ? purpose : null,
      bytes,
      outcome: 'failure',
      code: codeOf(e),
      time: '',
    };
    if (detail !== undefined) ev.detail = detail;
    if (op === 'decrypt' && opChannel.hasSubscribers) {
      let algorithm = 'unknown';
      try {
        if (keyId !== null && this.#keys) algorithm = algorithmOf(this.#keys.byId(keyId));
      } catch {
        // a key not in this keyring, destroyed or retired: no algorithm to name
      }
      opChannel.publish({ op, algorithm, backend: backend(), purpose: ev.purpose, result: 'error', code: ev.code, count: 1, bytes });
    }
    return this.#emit(ev, false);
  }

  /** Reports e's failure context (if any, and not reported yet), then rethrows e. */
  async #report(e: unknown): Promise<never> {
    const ctx = takeFailure(e);
    if (ctx) await this.#failed(ctx, e);
    throw e;
  }

  /** A keyring operation: a failure is audited as op on (keyId, purpose) before it is rethrown. */
  keyOp<R>(op: AuditOp, keyId: number | null, purpose: string | null, fn: () => Promise<R>): Promise<R> {
    let p: Promise<R>;
    try {
      p = fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.catch((e: unknown) => this.#report(failure(e, { op, keyId, purpose, bytes: 0 })));
  }

  /** The KeySource primitives get: keys' uses are recorded through keys.recordUse. */
  counting(keys: KeyResolver): KeySource {
    this.#keys = keys;
    // One wrapper per key version, made on first use (ids are never reused in a keyring; the identity check is a guard).
    const wrapped = new Map<number, CountedKey>();
    const counted = (k: Key): Key => {
      let c = wrapped.get(k.keyId);
      if (c === undefined || c.key !== k) wrapped.set(k.keyId, (c = new CountedKey(k, keys)));
      return c;
    };
    return {
      primary: (purpose, n) => {
        const k = keys.primary(purpose, n);
        return k === undefined ? undefined : counted(k);
      },
      prepare: (purpose, n) => keys.prepare(purpose, n),
      byId: (id) => counted(keys.byId(id)),
      purposeOf: (id) => keys.purposeOf(id),
      indexKey: (purpose) => keys.indexKey(purpose),
      files: keys.files,
      checkOpen: () => keys.checkOpen(),
    };
  }

  /** Wraps p's operations `ops` in place so that their failures are audited; returns p. */
  audit<T extends object>(p: T, ops: readonly (keyof T & string)[]): T {
    const report = (e: unknown) => this.#report(e);
    for (const name of ops) {
      // Operations take at most three arguments; a fixed arity keeps the hot path free of rest arrays.
      const op = p[name] as unknown as (a?: unknown, b?: unknown, c?: unknown) => unknown;
      if (op.length > 3) throw new TesseraError('ERR_INTERNAL', `audit: ${name} takes more than three arguments`);
      const wrapped = function (this: T, a?: unknown, b?: unknown, c?: unknown): unknown {
        const r = op.call(this, a, b, c);
        if (r instanceof Promise) return r.catch(report);
        if (isAsyncIterator(r)) return guarded(r, report);
        return r;
      };
      Object.defineProperty(p, name, { value: wrapped, writable: true, configurable: true });
    }
    return p;
  }
}

async function* guarded<T>(it: AsyncGenerator<T>, report: (e: unknown) => Promise<never>): AsyncGenerator<T> {
  try {
    return yield* it;
  } catch (e) {
    return await report(e);
  }
}
