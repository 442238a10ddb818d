/**
 * Keyring (docs/API.md "Key manager"; docs/ARCHITECTURE.md "Key manager core"):
 * manages keysets and hands out primitives, after Tink's model.
 *
 * Keysets: purposes ('user-data', 'files', ...) each hold key versions
 * with uint32 ids unique across the keyring (message headers carry only
 * the id) and exactly one primary ('active'). States: active ->
 * decrypt-only -> retired (kept; refuses use, ERR_KEY_RETIRED, until
 * setState re-enables it) -> destroyed (wrapped material removed, id kept:
 * ERR_KEY_DESTROYED). A purpose is created with its first key on first use
 * (autoCreate, default true; `autoCreate: false` makes an unknown purpose
 * ERR_ARGUMENT and requires createPurpose, which guards against typos).
 *
 * Primitives, one module each, given keys through KeySource
 * (keyring-keys.ts), never this class's fields, and monitored (audit, use
 * counts) by keyring-monitor.ts:
 *   ring.aead(purpose)           keyring-aead.ts       message format v1
 *   ring.streamingAead(purpose)  keyring-streaming.ts  files and streams (TSRF)
 *   ring.prf(purpose)            keyring-prf.ts        blind indexes
 * They are cached per purpose (cheap to ask for per message) and resolve
 * keys per call: one obtained before rotate() uses the new primary after.
 * The data methods of earlier versions remain as deprecated one-line
 * delegations (ring.encrypt(p, pt) is ring.aead(p).encrypt(pt)).
 *
 * - Every change (create, rotate, state, destroy, policy) is a draft
 *   edit committed by KeyringState.mutate (keyring-state.ts: MACed,
 *   optimistic concurrency, used only once committed; ERR_CONFLICT reloads
 *   and re-applies); the edits themselves are keyring-doc.ts's.
 * - Rotation policies (maxAgeDays, maxMessages) are checked before every
 *   seal (#ready, synchronously with it); no timers.
 * - Use counts (keyring-counts.ts): persisted with every commit, and in the
 *   background whenever a key reaches `countFlushEvery` (default 1000)
 *   unpersisted uses (the call that reaches it does not wait; one count
 *   flush at a time), and at close(). A crash loses the uses since the last
 *   completed flush, about countFlushEvery per key (so a maxMessages policy
 *   may overshoot by as much after a crash). A failed background flush is a
 *   TESSERA_KEYRING process warning; the counts stay pending and the next
 *   flush retries. Changes made by other processes are seen at the next
 *   commit or refresh().
 * - Data keys are unwrapped at open into AeadKey objects (secure memory);
 *   close() disposes them. The caller owns the store.
 */
import type { AadOptions } from '../aead';
import { TesseraError } from '../errors';
import { type Algorithm, describe } from '../format';
import { SecureBuffer } from '../secure';
import type { AuditEvent } from './audit';
import type { BlindIndexOptions } from './blind';
import {
  type CacheStats,
  checkCacheOptions,
  type DecryptFileOptions,
  type EncryptFileOptions,
  EnvelopeFiles,
  type EnvelopeInfo,
  type KeyringFileOptions,
} from './envelope-file';
import type { KekProvider } from './kek';
import { AEAD_AUDITED, KeyringAead } from './keyring-aead';
import { UseCounts } from './keyring-counts';
import {
  applyDestroy,
  applyState,
  checkOptions,
  checkPolicy,
  checkPurpose,
  dueBefore,
  type ExportedKey,
  findLive,
  type KeyringOptions,
  type KeyStatus,
  newIndexKey,
  PURPOSE,
  purposeRecord,
  statusOf,
  unwrapIndexKey,
  usableKey,
} from './keyring-doc';
import type { Key, KeyResolver, KeySource } from './keyring-keys';
import { monitoredKek } from './kek-monitor';
import { KeyringMonitor } from './keyring-monitor';
import { type DatabaseKeyHost, KeyringDatabaseKeys } from './keyring-database';
import { KeyringPrf } from './keyring-prf';
import { type Draft, KeyringState } from './keyring-state';
import { KeyringStreamingAead, STREAMING_AUDITED } from './keyring-streaming';
import type { KeyState, KeyStore, RotationPolicy } from './store';

export type { BlindIndexOptions, ExportedKey, KeyringOptions, KeyStatus };

/** Primitives cached per kind; past that (purposes named from request data, say) they are made per call, which stays cheap. */
const MAX_CACHED = 1024;

/**
 * Keysets (purposes with key versions, states, rotation) in a key store under a KEK, and the primitives that use them:
 * `aead`, `streamingAead`, `prf`, `databaseKeys` (docs/API.md "Key manager"). Made by `Keyring.open`; `close()` wipes its keys.
 */
export class Keyring {
  readonly #state: KeyringState;
  readonly #alg: Algorithm;
  readonly #now: () => number;
  readonly #autoCreate: boolean;
  /** Unwrapped blind-index keys by purpose (PurposeRecord.indexKey; they never change once created). */
  readonly #indexKeys = new Map<string, SecureBuffer>();
  readonly #uses: UseCounts;
  /** The count flush running in the background, if any (#count). */
  #bgFlush: Promise<void> | undefined;
  readonly #monitor: KeyringMonitor;
  #closed = false;
  /** Keyring files and their data-key cache (lib/keys/envelope-file.ts). */
  readonly #files: EnvelopeFiles;
  /** What the primitives get: keys that count their uses (keyring-monitor.ts). */
  readonly #source: KeySource;
  /** Primitives by purpose (undefined: the purpose-less ones). */
  readonly #aeads = new Map<string | undefined, KeyringAead>();
  readonly #streams = new Map<string | undefined, KeyringStreamingAead>();
  readonly #prfs = new Map<string, KeyringPrf>();

  private constructor(state: KeyringState, opts: KeyringOptions & KeyringFileOptions, uses: UseCounts, monitor: KeyringMonitor) {
    this.#state = state;
    this.#alg = opts.algorithm ?? 'xaes-256-gcm';
    this.#now = opts.now ?? Date.now;
    this.#autoCreate = opts.autoCreate ?? true;
    this.#uses = uses;
    this.#monitor = monitor;
    this.#files = new EnvelopeFiles(state.kek, opts.cache, this.#now);
    const resolver: KeyResolver = {
      primary: (purpose, n) => this.#ready(purpose, n),
      prepare: (purpose, n) => this.#prepare(purpose, n),
      byId: (id) => state.keys.get(usableKey(state.record(id), id).id)!,
      purposeOf: (id) => state.record(id)?.purpose,
      indexKey: (purpose) => this.#indexKeys.get(purpose) ?? this.#indexKey(checkPurpose(purpose)),
      files: this.#files,
      checkOpen: () => this.#checkOpen(),
      recordUse: (id, use, n) => this.#count(id, use === 'encrypt' ? 0 : 1, n),
    };
    this.#source = monitor.counting(resolver);
  }

  /** Loads the keyring from store, or initializes an empty store. ERR_KEK: wrong KEK; ERR_FORMAT: tampered document. */
  static async open(store: KeyStore, opts: KeyringOptions & KeyringFileOptions): Promise<Keyring> {
    const kek = monitoredKek(checkOptions(store, opts));
    checkCacheOptions(opts.cache);
    const uses = new UseCounts(opts.countFlushEvery ?? 1000);
    const monitor = new KeyringMonitor(opts.now ?? Date.now);
    const state = await KeyringState.open(store, kek, { uses, committed: (ev) => monitor.success(ev) });
    const ring = new Keyring(state, opts, uses, monitor);
    try {
      await monitor.sink.open(opts.auditLog);
    } catch (e) {
      ring.#disposeAll();
      throw e;
    }
    return ring;
  }

  /** The AEAD primitive of purpose (keyring-aead.ts); without a purpose it opens any message and cannot encrypt. */
  aead(purpose?: string): KeyringAead {
    return this.#aeads.get(purpose) ?? this.#cache(this.#aeads, purpose, this.#monitor.audit(new KeyringAead(purpose, this.#source), AEAD_AUDITED));
  }

  /** The streaming AEAD primitive of purpose: files and streams (keyring-streaming.ts); without a purpose it only decrypts. */
  streamingAead(purpose?: string): KeyringStreamingAead {
    return (
      this.#streams.get(purpose) ?? this.#cache(this.#streams, purpose, this.#monitor.audit(new KeyringStreamingAead(purpose, this.#source), STREAMING_AUDITED))
    );
  }

  /** The PRF primitive of purpose: blind indexes (keyring-prf.ts). */
  prf(purpose: string): KeyringPrf {
    return this.#prfs.get(purpose) ?? this.#cache(this.#prfs, purpose, new KeyringPrf(purpose, this.#source));
  }

  /** The raw keys of one encrypted database, with pending keys for its rotation (keyring-database.ts; lib/sqlcipher). */
  databaseKeys(purpose: string): KeyringDatabaseKeys {
    return new KeyringDatabaseKeys(checkPurpose(purpose), this.#databaseHost);
  }

  readonly #databaseHost: DatabaseKeyHost = {
    primary: async (purpose) => {
      const id = this.#state.primaryId(purpose);
      if (id !== undefined) return id;
      if (!this.#autoCreate) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(purpose)} (autoCreate is off: call createPurpose)`);
      // Never #prepare: a rotation policy must not rotate a database key (the database would stay keyed with the old one).
      return this.#keyOp('create', null, purpose, () => this.#create(purpose, {}, false));
    },
    ids: (purpose, state) => this.#state.doc.keys.filter((k) => k.purpose === purpose && k.state === state).map((k) => k.id),
    exportRaw: (id) => this.#state.keys.get(id)!.exportKey(),
    addPending: (purpose) =>
      this.#keyOp('create', null, purpose, () =>
        this.#state.mutate(async (c) => {
          if (!purposeRecord(c.doc, purpose)) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(purpose)}`);
          const cur = c.doc.keys.find((k) => k.purpose === purpose && k.state === 'pending');
          if (cur) {
            c.noop = true; // made meanwhile by another process
            return cur.id;
          }
          const id = await this.#state.newKey(c, purpose, this.#alg, this.#now(), 'pending');
          c.events.push({ op: 'create', keyId: id, purpose, bytes: 0, detail: 'pending' });
          return id;
        }),
      ),
    settle: (id, to) =>
      this.#keyOp(to === 'active' ? 'rotate' : 'destroy', id, this.#state.record(id)?.purpose ?? null, async () => {
        await this.#state.mutate(async (c) => {
          const rec = findLive(c.doc, id);
          if (rec.state !== 'pending') throw new TesseraError('ERR_ARGUMENT', `key ${id} is no longer pending`);
          const prev = c.doc.keys.find((k) => k.purpose === rec.purpose && k.state === 'active');
          if (to === 'destroyed') return applyDestroy(c.doc, id, this.#now(), c.events);
          applyState(c.doc, id, 'active', this.#now(), c.events);
          c.events.push({ op: 'rotate', keyId: id, purpose: rec.purpose, bytes: 0, detail: `previous ${prev?.id ?? 'none'} (database rekeyed)` });
        });
        if (to === 'destroyed') await this.#state.mutate(async () => undefined); // out of the store's previous generation too (destroy())
      }),
    checkOpen: () => this.#checkOpen(),
  };

  /** Keeps p for a well-formed purpose, up to MAX_CACHED per kind (primitives never go stale: they resolve keys per call). */
  #cache<P, K extends string | undefined>(map: Map<K, P>, purpose: K, p: P): P {
    if (!this.#closed && map.size < MAX_CACHED && (purpose === undefined || PURPOSE.test(purpose))) map.set(purpose, p);
    return p;
  }

  /** Re-reads the store (changes committed by other processes). */
  async refresh(): Promise<void> {
    this.#checkOpen();
    await this.#state.refresh();
  }

  /** A keyring operation whose failure is audited (keyring-monitor.ts). */
  #keyOp<R>(op: AuditEvent['op'], keyId: number | null, purpose: string | null, fn: () => Promise<R>): Promise<R> {
    this.#checkOpen();
    return this.#monitor.keyOp(op, keyId, purpose, fn);
  }

  /** Adds purpose to c.doc with its first key. */
  async #addPurpose(c: Draft, purpose: string, policy: RotationPolicy): Promise<number> {
    c.doc.purposes[purpose] = { policy };
    const id = await this.#state.newKey(c, purpose, this.#alg, this.#now());
    c.events.push({ op: 'create', keyId: id, purpose, bytes: 0 });
    return id;
  }

  /** Creates purpose with its first (primary) key; ERR_ARGUMENT if it exists. Returns the key id. */
  createPurpose(purpose: string, policy?: RotationPolicy): Promise<number> {
    return this.#keyOp('create', null, purpose, () => this.#create(checkPurpose(purpose), checkPolicy(policy), true));
  }

  #create(purpose: string, policy: RotationPolicy, strict: boolean): Promise<number> {
    return this.#state.mutate(async (c) => {
      if (!purposeRecord(c.doc, purpose)) return this.#addPurpose(c, purpose, policy);
      if (strict) throw new TesseraError('ERR_ARGUMENT', `purpose ${describe(purpose)} already exists`);
      c.noop = true;
      return c.doc.keys.find((k) => k.purpose === purpose && k.state === 'active')!.id;
    });
  }

  /** New primary for purpose; the old one becomes decrypt-only. Committed before use. Returns the new key id. */
  rotate(purpose: string): Promise<number> {
    return this.#keyOp('rotate', null, purpose, () => this.#rotate(checkPurpose(purpose), false));
  }

  /** onlyIfDue: a policy rotation before sealing n messages (keyring-doc.ts dueBefore). */
  #rotate(purpose: string, onlyIfDue: boolean, n = 1): Promise<number> {
    return this.#state.mutate(async (c) => {
      const pol = purposeRecord(c.doc, purpose);
      if (!pol) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(purpose)}`);
      const cur = c.doc.keys.find((k) => k.purpose === purpose && k.state === 'active')!;
      if (onlyIfDue && !dueBefore(cur, pol.policy, 0, n, this.#now)) {
        c.noop = true; // another caller rotated meanwhile
        return cur.id;
      }
      const id = await this.#state.newKey(c, purpose, this.#alg, this.#now());
      c.events.push({ op: 'rotate', keyId: id, purpose, bytes: 0, detail: `previous ${cur.id}${onlyIfDue ? ' (policy)' : ''}` });
      return id;
    });
  }

  /** Sets (replaces) the rotation policy of purpose; {} clears it. */
  setPolicy(purpose: string, policy: RotationPolicy): Promise<void> {
    return this.#keyOp('policy', null, purpose, () => {
      const p = checkPurpose(purpose);
      const pol = checkPolicy(policy);
      return this.#state.mutate(async (c) => {
        const rec = purposeRecord(c.doc, p);
        if (!rec) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(p)}`);
        c.doc.purposes[p] = { ...rec, policy: pol }; // keeps the blind-index key
        c.events.push({ op: 'policy', keyId: null, purpose: p, bytes: 0, detail: JSON.stringify(pol) });
      });
    });
  }

  /** Is key id, purpose's primary, due for rotation before n more seals (counting its unpersisted seals)? */
  #due(id: number, purpose: string, n: number): boolean {
    return dueBefore(this.#state.record(id)!, this.#state.doc.purposes[purpose]!.policy, this.#uses.sealed(id), n, this.#now);
  }

  /** KeySource.primary: purpose's primary if it can seal n messages right now, else undefined (#prepare). */
  #ready(purpose: string, n: number): Key | undefined {
    this.#checkOpen();
    const id = this.#state.primaryId(purpose);
    if (id === undefined || this.#due(id, purpose, n)) return undefined;
    return this.#state.keys.get(id);
  }

  /** KeySource.prepare: does what #ready found missing: create the purpose, rotate by policy, or flush counts. */
  async #prepare(purpose: string, n: number): Promise<void> {
    const id = this.#state.primaryId(purpose);
    if (id === undefined) {
      checkPurpose(purpose);
      if (!this.#autoCreate) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(purpose)} (autoCreate is off: call createPurpose)`);
      await this.#keyOp('create', null, purpose, () => this.#create(purpose, {}, false));
      return;
    }
    if (this.#due(id, purpose, n)) {
      await this.#keyOp('rotate', id, purpose, () => this.#rotate(purpose, true, n));
      return;
    }
    await this.flush();
  }

  /** Counts uses of key id; past countFlushEvery, persists the counts in the background. */
  #count(id: number, slot: 0 | 1, n: number): void {
    if (!this.#uses.add(id, slot, n) || this.#bgFlush || this.#closed) return;
    this.#bgFlush = this.flush()
      .catch((e) => {
        process.emitWarning(`tessera: persisting keyring use counts failed (will retry): ${e instanceof Error ? e.message : String(e)}`, {
          code: 'TESSERA_KEYRING',
        });
      })
      .finally(() => {
        this.#bgFlush = undefined;
      });
  }

  /** Persists the use counts now (close() does this too). */
  async flush(): Promise<void> {
    this.#checkOpen();
    if (this.#uses.pending.size > 0) await this.#state.mutate(async () => undefined);
  }

  /** KeySource.indexKey: unwraps (creating it first when missing) purpose's blind-index key. */
  async #indexKey(purpose: string): Promise<SecureBuffer> {
    if (purposeRecord(this.#state.doc, purpose)?.indexKey === undefined) {
      if (!purposeRecord(this.#state.doc, purpose) && !this.#autoCreate)
        throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(purpose)} (autoCreate is off: call createPurpose)`);
      await this.#keyOp('create', null, purpose, () =>
        this.#state.mutate(async (c) => {
          if (!purposeRecord(c.doc, purpose)) await this.#addPurpose(c, purpose, {});
          const rec = c.doc.purposes[purpose]!;
          if (rec.indexKey !== undefined) {
            c.noop = true; // made meanwhile (here or by another process)
            return;
          }
          rec.indexKey = await newIndexKey(this.#state.kek);
          c.events.push({ op: 'create', keyId: null, purpose, bytes: 0, detail: 'blind index key' });
        }),
      );
    }
    const raw = await unwrapIndexKey(this.#state.kek, this.#state.doc.purposes[purpose]!.indexKey!, purpose);
    try {
      const cur = this.#indexKeys.get(purpose);
      if (cur) return cur;
      const sb = SecureBuffer.from(raw);
      this.#indexKeys.set(purpose, sb);
      return sb;
    } finally {
      raw.fill(0);
    }
  }

  /** Changes a key's state: 'active' makes it the primary (the old primary becomes decrypt-only); 'destroyed' is destroy(id). */
  setState(id: number, state: KeyState): Promise<void> {
    if (state === 'destroyed') return this.destroy(id);
    return this.#keyOp('state', typeof id === 'number' ? id : null, this.#state.record(id)?.purpose ?? null, () =>
      this.#state.mutate(async (c) => {
        c.noop = !applyState(c.doc, id, state, this.#now(), c.events);
      }),
    );
  }

  /**
   * Destroys a non-primary key: its wrapped material leaves the document,
   * the AeadKey is zeroized, the id stays (ERR_KEY_DESTROYED on decrypt).
   * A second commit follows so the store's previous generation (the file
   * store's .bak) no longer holds the material either. Copies outside the
   * store (filesystem snapshots, your backups) are out of its reach.
   */
  destroy(id: number): Promise<void> {
    return this.#keyOp('destroy', typeof id === 'number' ? id : null, this.#state.record(id)?.purpose ?? null, async () => {
      await this.#state.mutate(async (c) => applyDestroy(c.doc, id, this.#now(), c.events));
      await this.#state.mutate(async () => undefined);
    });
  }

  /** The key wrapped by another KEK (backup, migration); audited as 'export'. Never the raw key. */
  exportKey(id: number, to: KekProvider): Promise<ExportedKey> {
    return this.#keyOp('export', typeof id === 'number' ? id : null, this.#state.record(id)?.purpose ?? null, async () => {
      if (!to || typeof to.wrap !== 'function' || typeof to.id !== 'string') throw new TesseraError('ERR_ARGUMENT', 'exportKey needs a KekProvider');
      const rec = findLive(this.#state.doc, id);
      const bytes = this.#state.keys.get(id)!.exportKey();
      let wrapped: Uint8Array;
      try {
        wrapped = await to.wrap(bytes);
      } finally {
        bytes.fill(0);
      }
      await this.#monitor.success({ op: 'export', keyId: id, purpose: rec.purpose, bytes: 0, detail: `to ${to.id}` });
      return { id, purpose: rec.purpose, algorithm: rec.algorithm, wrapped, kekId: to.id };
    });
  }

  /** Every key with its state, age and use counts (including unpersisted uses). */
  status(): KeyStatus[] {
    this.#checkOpen();
    return statusOf(this.#state.doc, this.#uses.pending, this.#now());
  }

  /** Policies by purpose. */
  purposes(): Record<string, RotationPolicy> {
    this.#checkOpen();
    return Object.fromEntries(Object.entries(this.#state.doc.purposes).map(([k, v]) => [k, { ...v.policy }]));
  }

  /** The store generation this keyring last loaded or committed. */
  get generation(): number {
    return this.#state.doc.generation;
  }

  /** Data-key cache counters of keyring files (streamingAead; `cache` of open). */
  cacheStats(): CacheStats {
    return this.#files.stats();
  }

  /** Audit hook: called synchronously with every event (lib/keys/audit.ts). A throwing hook becomes a process warning. */
  on(event: 'audit', fn: (e: AuditEvent) => void): this {
    this.#monitor.sink.on(event, fn);
    return this;
  }

  off(event: 'audit', fn: (e: AuditEvent) => void): this {
    this.#monitor.sink.off(event, fn);
    return this;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TesseraError('ERR_DISPOSED', 'the keyring is closed');
  }

  #disposeAll(): void {
    this.#state.dispose();
    for (const k of this.#indexKeys.values()) k.dispose();
    this.#indexKeys.clear();
    for (const m of [this.#aeads, this.#streams, this.#prfs]) m.clear();
    this.#files.close();
  }

  /** Persists use counts, disposes every key, closes the audit log. The store stays open (the caller owns it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#bgFlush;
      if (this.#uses.pending.size > 0) await this.#state.mutate(async () => undefined);
    } finally {
      this.#closed = true;
      await this.#state.idle();
      this.#disposeAll();
      await this.#monitor.sink.close();
    }
  }

  /** @deprecated use ring.aead(purpose).encrypt */
  encrypt(purpose: string, plaintext: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    return this.aead(purpose).encrypt(plaintext, opts);
  }

  /** @deprecated use ring.aead(purpose).encryptToString */
  encryptToString(purpose: string, plaintext: Uint8Array, opts?: AadOptions): Promise<string> {
    return this.aead(purpose).encryptToString(plaintext, opts);
  }

  /** @deprecated use ring.aead().decrypt (or the aead of the message's purpose) */
  decrypt(message: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    return this.aead().decrypt(message, opts);
  }

  /** @deprecated use ring.aead().decryptString */
  decryptString(text: string, opts?: AadOptions): Promise<Uint8Array> {
    return this.aead().decryptString(text, opts);
  }

  /** @deprecated use ring.aead().reencrypt (each message stays in its purpose) or ring.aead(purpose).reencrypt */
  reencrypt(message: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    return this.aead().reencrypt(message, opts);
  }

  /** @deprecated use ring.prf(purpose).blindIndex */
  blindIndex(purpose: string, value: string | Uint8Array, opts: BlindIndexOptions & { output: 'bytes' }): Promise<Uint8Array>;
  blindIndex(purpose: string, value: string | Uint8Array, opts?: BlindIndexOptions): Promise<string>;
  blindIndex(purpose: string, value: string | Uint8Array, opts?: BlindIndexOptions): Promise<string | Uint8Array> {
    return this.prf(purpose).blindIndex(value, opts);
  }

  /** @deprecated use ring.streamingAead(purpose).encryptFile */
  encryptFile(purpose: string, src: string, dst: string, opts?: EncryptFileOptions): Promise<EnvelopeInfo> {
    return this.streamingAead(purpose).encryptFile(src, dst, opts);
  }

  /** @deprecated use ring.streamingAead().decryptFile */
  decryptFile(src: string, dst: string, opts?: DecryptFileOptions): Promise<EnvelopeInfo> {
    return this.streamingAead().decryptFile(src, dst, opts);
  }
}
