/**
 * Keyring (README "Key manager"; contract names
 * `Keyring.open(store, { kek })`, `ring.encrypt/decrypt`,
 * `encryptToString/decryptString`, `rotate`, `reencrypt`, `status`).
 *
 * - Purposes ('user-data', 'files', ...) each hold key versions with uint32
 *   ids unique across the keyring (message headers carry only the id), and
 *   exactly one primary ('active'). States: active -> decrypt-only ->
 *   retired (kept; refuses use, ERR_KEY_RETIRED, until setState re-enables
 *   it) -> destroyed (wrapped material removed, id kept:
 *   ERR_KEY_DESTROYED).
 * - encrypt() seals message format v1 (README) under the
 *   purpose's primary. A purpose is created with its first key on first
 *   use (autoCreate, default true; pass `autoCreate: false` to make an
 *   unknown purpose ERR_ARGUMENT and require createPurpose, which guards
 *   against typos).
 * - Every change (create, rotate, state, destroy, policy) goes through
 *   #mutate: applied to a copy of the document, MACed, committed to the
 *   store with optimistic concurrency, and only then used; ERR_CONFLICT
 *   (another process committed) reloads and re-applies.
 * - Rotation policies (maxAgeDays, maxMessages) are checked on each
 *   encrypt; no timers.
 * - Use counts: counted in memory and persisted with every commit, and
 *   whenever a key reaches `countFlushEvery` (default 1000) unpersisted uses
 *   (written in the background: the call that reaches the threshold does
 *   not wait for the store; one count flush at a time), and at close(). A
 *   crash loses the uses since the last completed flush, about
 *   countFlushEvery per key (so a maxMessages policy may overshoot by as
 *   much after a crash). A failed background flush is a TESSERA_KEYRING
 *   process warning; the counts stay pending and the next flush retries. Changes made by other processes are seen at the
 *   next commit or refresh().
 * - Data keys are unwrapped at open into AeadKey objects (secure memory);
 *   close() disposes them. The caller owns the store.
 */
import { randomBytes } from 'node:crypto';

import { AeadKey, type AadOptions } from '../aead';
import { TesseraError } from '../errors';
import { type Algorithm, describe, fromText, parseHeader, toText } from '../format';
import { SecureBuffer } from '../secure';
import { type BlindIndexOptions, blindIndexArgs, computeBlindIndex } from './blind';
import { type AuditEvent, type AuditOp, AuditSink } from './audit';
import { b64, cloneDoc, computeMac, verifyMac } from './document';
import { type CacheStats, checkCacheOptions, type DecryptFileOptions, type EncryptFileOptions, EnvelopeFiles, type EnvelopeInfo, type KeyringFileOptions } from './envelope-file';
import { type KekProvider, kekForStored } from './kek';
import {
  applyDestroy, applyState, checkOptions, checkPolicy, checkPurpose, codeOf, demotePrimary, type ExportedKey, freshId, initialDoc, isDue,
  type KeyringOptions, type KeyStatus, importKey, macKeyOf, type PendingEvent, PURPOSE, statusOf, unwrapWith,
} from './keyring-doc';
import type { KeyRecord, KeyringDoc, KeyState, KeyStore, RotationPolicy } from './store';

export type { BlindIndexOptions, ExportedKey, KeyringOptions, KeyStatus };

type Listener = (e: AuditEvent) => void;
interface Ctx {
  doc: KeyringDoc;
  staged: Map<number, AeadKey>;
  events: PendingEvent[];
  noop: boolean;
}

export class Keyring {
  readonly #store: KeyStore;
  readonly #kek: KekProvider;
  readonly #alg: Algorithm;
  readonly #now: () => number;
  readonly #autoCreate: boolean;
  readonly #flushEvery: number;
  #macKey: SecureBuffer;
  #doc: KeyringDoc;
  #byId = new Map<number, KeyRecord>();
  #primary = new Map<string, number>();
  readonly #keys = new Map<number, AeadKey>();
  /** Unwrapped blind-index keys by purpose (PurposeRecord.indexKey; they never change once created). */
  readonly #indexKeys = new Map<string, SecureBuffer>();
  /** Uses not yet persisted: id -> [encrypted, decrypted]. */
  readonly #pending = new Map<number, [number, number]>();
  /** The count flush running in the background, if any (#countUsed). */
  #bgFlush: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #sink: AuditSink;
  #closed = false;
  /** Keyring files and their data-key cache (lib/keys/envelope-file.ts). */
  readonly #files: EnvelopeFiles;

  private constructor(store: KeyStore, opts: KeyringOptions & KeyringFileOptions, macKey: SecureBuffer, doc: KeyringDoc) {
    this.#store = store;
    this.#kek = opts.kek;
    this.#alg = opts.algorithm ?? 'xaes-256-gcm';
    this.#now = opts.now ?? Date.now;
    this.#autoCreate = opts.autoCreate ?? true;
    this.#flushEvery = opts.countFlushEvery ?? 1000;
    this.#macKey = macKey;
    this.#doc = doc;
    this.#sink = new AuditSink();
    this.#files = new EnvelopeFiles(opts.kek, opts.cache, this.#now);
    this.#index();
  }

  /** Loads the keyring from store, or initializes an empty store. ERR_KEK: wrong KEK; ERR_FORMAT: tampered document. */
  static async open(store: KeyStore, opts: KeyringOptions & KeyringFileOptions): Promise<Keyring> {
    let kek = checkOptions(store, opts);
    checkCacheOptions(opts.cache);
    let doc = await store.load();
    // A passphrase KEK made without a salt takes the store's recorded parameters.
    if (doc !== undefined) kek = await kekForStored(kek, doc.kekParams, 'key store');
    let mac: SecureBuffer | undefined;
    if (doc === undefined) {
      const { doc: fresh, raw } = await initialDoc(kek);
      try {
        await store.commit(fresh, 0);
        doc = fresh;
        mac = SecureBuffer.from(raw);
      } catch (e) {
        if (codeOf(e) !== 'ERR_CONFLICT') throw e;
        doc = await store.load(); // another process initialized it first
        if (doc !== undefined) kek = await kekForStored(kek, doc.kekParams, 'key store');
      } finally {
        raw.fill(0);
      }
      if (doc === undefined) throw new TesseraError('ERR_FORMAT', 'the key store became empty while it was being initialized');
    }
    mac ??= await macKeyOf(kek, doc);
    const ring = new Keyring(store, { ...opts, kek }, mac, doc);
    try {
      await ring.#syncKeys();
      await ring.#sink.open(opts.auditLog);
    } catch (e) {
      ring.#disposeAll();
      throw e;
    }
    return ring;
  }

  #index(): void {
    this.#byId = new Map(this.#doc.keys.map((k) => [k.id, k]));
    this.#primary = new Map(this.#doc.keys.filter((k) => k.state === 'active').map((k) => [k.purpose, k.id]));
  }

  /** Unwraps keys new to this process; disposes keys destroyed elsewhere. */
  async #syncKeys(): Promise<void> {
    for (const [id, key] of this.#keys) {
      if (this.#byId.get(id)?.state !== 'destroyed' && this.#byId.has(id)) continue;
      key.dispose();
      this.#keys.delete(id);
    }
    for (const rec of this.#doc.keys) {
      if (rec.state === 'destroyed' || this.#keys.has(rec.id)) continue;
      this.#keys.set(rec.id, await importKey(this.#kek, rec));
    }
  }

  /** Re-reads the store (changes committed by other processes). */
  async refresh(): Promise<void> {
    this.#checkOpen();
    await this.#serial(() => this.#reload());
  }

  async #reload(): Promise<void> {
    const doc = await this.#store.load();
    if (doc === undefined) throw new TesseraError('ERR_FORMAT', 'the key store is empty; the keyring was removed');
    if (doc.macKey !== this.#doc.macKey || doc.kekId !== this.#doc.kekId) {
      const mac = await macKeyOf(this.#kek, doc);
      this.#macKey.dispose();
      this.#macKey = mac;
    } else {
      verifyMac(this.#macKey.bytes, doc, 'key store');
    }
    this.#doc = doc;
    this.#index();
    await this.#syncKeys();
  }

  #serial<R>(fn: () => Promise<R>): Promise<R> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Applies fn to a copy of the document (with pending use counts added),
   * commits it, and only then makes it (and the keys fn staged) current.
   * ERR_CONFLICT: reload and re-apply.
   */
  #mutate<R>(fn: (c: Ctx) => Promise<R>): Promise<R> {
    return this.#serial(async () => {
      for (let attempt = 0; ; attempt++) {
        const c: Ctx = { doc: cloneDoc(this.#doc), staged: new Map(), events: [], noop: false };
        const applied = new Map<number, [number, number]>();
        try {
          for (const [id, [e, d]] of this.#pending) {
            const rec = c.doc.keys.find((k) => k.id === id);
            if (!rec) continue;
            rec.encrypted += e;
            rec.decrypted += d;
            applied.set(id, [e, d]);
          }
          const r = await fn(c);
          if (c.noop) return r;
          c.doc.generation = this.#doc.generation + 1;
          c.doc.mac = computeMac(this.#macKey.bytes, c.doc);
          await this.#store.commit(c.doc, this.#doc.generation, (cur) => verifyMac(this.#macKey.bytes, cur, 'key store'));
          for (const [id, [e, d]] of applied) {
            const p = this.#pending.get(id);
            if (!p) continue;
            p[0] -= e;
            p[1] -= d;
            if (p[0] === 0 && p[1] === 0) this.#pending.delete(id);
          }
          this.#doc = c.doc;
          this.#index();
          for (const [id, key] of c.staged) this.#keys.set(id, key);
          c.staged.clear();
          await this.#syncKeys(); // disposes keys destroyed by this change
          for (const ev of c.events) await this.#emit({ ...ev, time: '', outcome: 'success' }, true);
          return r;
        } catch (e) {
          for (const key of c.staged.values()) key.dispose();
          if (codeOf(e) === 'ERR_CONFLICT' && attempt < 32) {
            // The first retry is immediate; after repeated losses a jittered
            // backoff keeps one writer from starving behind faster ones.
            if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
            await this.#reload();
            continue;
          }
          throw e;
        }
      }
    });
  }

  /** A key op wrapper: audits a failure of op before rethrowing it. */
  async #keyOp<R>(op: AuditOp, keyId: number | null, purpose: string | null, fn: () => Promise<R>): Promise<R> {
    this.#checkOpen();
    try {
      return await fn();
    } catch (e) {
      await this.#emit({ op, keyId, purpose: purpose !== null && PURPOSE.test(purpose) ? purpose : null, bytes: 0, outcome: 'failure', code: codeOf(e), time: '' }, false);
      throw e;
    }
  }

  #emit(ev: AuditEvent, sync: boolean): Promise<void> {
    ev.time = new Date(this.#now()).toISOString();
    return this.#sink.emit(ev, sync);
  }

  /** A new key for purpose in c.doc (staged until the commit succeeds). */
  async #newKey(c: Ctx, purpose: string): Promise<number> {
    const id = freshId(c.doc);
    const key = AeadKey.generate(this.#alg, { keyId: id });
    c.staged.set(id, key);
    const bytes = key.exportKey();
    let wrapped: Uint8Array;
    try {
      wrapped = await this.#kek.wrap(bytes);
    } finally {
      bytes.fill(0);
    }
    const t = this.#now();
    demotePrimary(c.doc, purpose, t, c.events);
    c.doc.keys.push({ id, purpose, algorithm: this.#alg, state: 'active', createdAt: t, stateChangedAt: t, wrapped: b64(wrapped), encrypted: 0, decrypted: 0 });
    return id;
  }

  /** Creates purpose with its first (primary) key; ERR_ARGUMENT if it exists. Returns the key id. */
  createPurpose(purpose: string, policy?: RotationPolicy): Promise<number> {
    return this.#keyOp('create', null, purpose, () => this.#create(checkPurpose(purpose), checkPolicy(policy), true));
  }

  #create(purpose: string, policy: RotationPolicy, strict: boolean): Promise<number> {
    return this.#mutate(async (c) => {
      if (c.doc.purposes[purpose]) {
        if (strict) throw new TesseraError('ERR_ARGUMENT', `purpose ${describe(purpose)} already exists`);
        c.noop = true;
        return c.doc.keys.find((k) => k.purpose === purpose && k.state === 'active')!.id;
      }
      c.doc.purposes[purpose] = { policy };
      const id = await this.#newKey(c, purpose);
      c.events.push({ op: 'create', keyId: id, purpose, bytes: 0 });
      return id;
    });
  }

  /** New primary for purpose; the old one becomes decrypt-only. Committed before use. Returns the new key id. */
  rotate(purpose: string): Promise<number> {
    return this.#keyOp('rotate', null, purpose, () => this.#rotate(checkPurpose(purpose), false));
  }

  /** onlyIfDue: a policy rotation before sealing n messages at once (see #extra). */
  #rotate(purpose: string, onlyIfDue: boolean, n = 1): Promise<number> {
    return this.#mutate(async (c) => {
      if (!c.doc.purposes[purpose]) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(purpose)}`);
      const cur = c.doc.keys.find((k) => k.purpose === purpose && k.state === 'active')!;
      if (onlyIfDue && !this.#due(cur, c.doc.purposes[purpose]!.policy, this.#extra(cur, 0, n))) {
        c.noop = true; // another caller rotated meanwhile
        return cur.id;
      }
      const id = await this.#newKey(c, purpose);
      c.events.push({ op: 'rotate', keyId: id, purpose, bytes: 0, detail: `previous ${cur.id}${onlyIfDue ? ' (policy)' : ''}` });
      return id;
    });
  }

  /** Sets (replaces) the rotation policy of purpose; {} clears it. */
  setPolicy(purpose: string, policy: RotationPolicy): Promise<void> {
    return this.#keyOp('policy', null, purpose, () => {
      const p = checkPurpose(purpose);
      const pol = checkPolicy(policy);
      return this.#mutate(async (c) => {
        if (!c.doc.purposes[p]) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(p)}`);
        c.doc.purposes[p] = { ...c.doc.purposes[p], policy: pol }; // keeps the blind-index key
        c.events.push({ op: 'policy', keyId: null, purpose: p, bytes: 0, detail: JSON.stringify(pol) });
      });
    });
  }

  /** Is rec (with `extra` unpersisted seals) due for rotation under policy? */
  #due(rec: KeyRecord, policy: RotationPolicy, extra: number): boolean {
    return isDue(rec, policy, extra, this.#now());
  }

  /**
   * The `extra` seals to test the policy with before sealing n messages at
   * once (n > 1: encryptBatch): a batch that would cross maxMessages
   * rotates first, unless the key is unused (a batch larger than
   * maxMessages is sealed whole under a fresh key, overshooting).
   */
  #extra(rec: KeyRecord, pending: number, n: number): number {
    return n > 1 && rec.encrypted + pending > 0 ? pending + n - 1 : pending;
  }

  /**
   * purpose's primary if it can seal right now (exists, not due for
   * rotation, counts not due for a flush), else undefined. Synchronous, so
   * the check and the seal that follows it happen in one tick: concurrent
   * callers cannot overshoot a maxMessages policy.
   */
  #ready(purpose: string, n = 1): AeadKey | undefined {
    this.#checkOpen();
    const id = this.#primary.get(purpose);
    if (id === undefined) return undefined;
    const pend = this.#pending.get(id);
    const rec = this.#byId.get(id)!;
    if (this.#due(rec, this.#doc.purposes[purpose]!.policy, this.#extra(rec, pend?.[0] ?? 0, n))) return undefined;
    return this.#keys.get(id);
  }

  /** Does what #ready found missing: create the purpose, rotate by policy, or flush counts. */
  async #prepare(purpose: string, n = 1): Promise<void> {
    const id = this.#primary.get(purpose);
    if (id === undefined) {
      checkPurpose(purpose);
      if (!this.#autoCreate) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(purpose)} (autoCreate is off: call createPurpose)`);
      await this.#keyOp('create', null, purpose, () => this.#create(purpose, {}, false));
      return;
    }
    const pend = this.#pending.get(id);
    const rec = this.#byId.get(id)!;
    if (this.#due(rec, this.#doc.purposes[purpose]!.policy, this.#extra(rec, pend?.[0] ?? 0, n))) {
      await this.#keyOp('rotate', id, purpose, () => this.#rotate(purpose, true, n));
      return;
    }
    await this.flush();
  }

  /** Seals under purpose's primary, creating, rotating or flushing first when needed. */
  async #seal(purpose: string, plaintext: Uint8Array, opts: AadOptions | undefined): Promise<Uint8Array> {
    for (let i = 0; i < 8; i++) {
      const key = this.#ready(purpose);
      if (key) {
        const out = key.seal(plaintext, opts);
        this.#count(key.keyId, 0);
        return out;
      }
      await this.#prepare(purpose);
    }
    throw new TesseraError('ERR_INTERNAL', 'the primary key kept changing; try again');
  }

  /** Counts uses of key id; past countFlushEvery, persists the counts in the background. */
  #count(id: number, slot: 0 | 1, n = 1): void {
    let p = this.#pending.get(id);
    if (!p) this.#pending.set(id, (p = [0, 0]));
    p[slot] += n;
    if (p[0] + p[1] >= this.#flushEvery && !this.#bgFlush && !this.#closed) {
      this.#bgFlush = this.flush()
        .catch((e) => {
          process.emitWarning(`tessera: persisting keyring use counts failed (will retry): ${e instanceof Error ? e.message : String(e)}`, { code: 'TESSERA_KEYRING' });
        })
        .finally(() => {
          this.#bgFlush = undefined;
        });
    }
  }

  /** Persists the use counts now (close() does this too). */
  async flush(): Promise<void> {
    this.#checkOpen();
    if (this.#pending.size > 0) await this.#mutate(async () => undefined);
  }

  /** Seals plaintext (message format v1) under purpose's primary key. */
  encrypt(purpose: string, plaintext: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    try {
      // Fast path: no await between the policy check and the seal.
      const key = this.#ready(purpose);
      if (key) {
        const out = key.seal(plaintext, opts);
        this.#count(key.keyId, 0);
        return Promise.resolve(out);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#seal(purpose, plaintext, opts);
  }

  async encryptToString(purpose: string, plaintext: Uint8Array, opts?: AadOptions): Promise<string> {
    return toText(await this.encrypt(purpose, plaintext, opts));
  }

  /** Opens a message with the key its header names. Failures are audited. */
  async decrypt(message: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    this.#checkOpen();
    return this.#open(message, opts, message instanceof Uint8Array ? message.length : 0);
  }

  async decryptString(text: string, opts?: AadOptions): Promise<Uint8Array> {
    this.#checkOpen();
    let message: Uint8Array;
    try {
      message = fromText(text);
    } catch (e) {
      await this.#emit({ op: 'decrypt', keyId: null, purpose: null, bytes: typeof text === 'string' ? text.length : 0, outcome: 'failure', code: codeOf(e), time: '' }, false);
      throw e;
    }
    return this.#open(message, opts, message.length);
  }

  async #open(message: Uint8Array, opts: AadOptions | undefined, bytes: number): Promise<Uint8Array> {
    let keyId: number | null = null;
    let purpose: string | null = null;
    let pt: Uint8Array;
    try {
      keyId = parseHeader(message).keyId;
      const rec = this.#byId.get(keyId);
      if (!rec) throw new TesseraError('ERR_KEY_MISMATCH', `no key with id ${keyId} in this keyring`);
      purpose = rec.purpose;
      if (rec.state === 'destroyed') throw new TesseraError('ERR_KEY_DESTROYED', `key ${keyId} (${rec.purpose}) was destroyed`);
      if (rec.state === 'retired') throw new TesseraError('ERR_KEY_RETIRED', `key ${keyId} (${rec.purpose}) is retired; re-enable it with setState to use it`);
      pt = this.#keys.get(keyId)!.open(message, opts);
    } catch (e) {
      await this.#emit({ op: 'decrypt', keyId, purpose, bytes, outcome: 'failure', code: codeOf(e), time: '' }, false);
      throw e;
    }
    this.#count(keyId, 1);
    return pt;
  }

  /**
   * @internal (field-level encryption, lib/keys/fields.ts) Seals every
   * plaintext under purpose's primary in ONE native call
   * (AeadKey.sealBatch), after the same create / policy / flush checks as
   * encrypt(), counting plaintexts.length messages at once. All messages
   * share opts.aad.
   */
  async encryptBatch(purpose: string, plaintexts: Uint8Array[], opts?: AadOptions): Promise<Uint8Array[]> {
    this.#checkOpen();
    if (!Array.isArray(plaintexts)) throw new TesseraError('ERR_ARGUMENT', 'plaintexts must be an array of Uint8Array');
    const n = plaintexts.length;
    if (n === 0) return [];
    for (let i = 0; i < 8; i++) {
      const key = this.#ready(purpose, n);
      if (key) {
        const out = key.sealBatch(plaintexts, opts);
        this.#count(key.keyId, 0, n);
        return out;
      }
      await this.#prepare(purpose, n);
    }
    throw new TesseraError('ERR_INTERNAL', 'the primary key kept changing; try again');
  }

  /**
   * @internal (lib/keys/fields.ts) Opens messages (all sharing opts.aad),
   * grouped by key id: one AeadKey.openBatch per key. All or nothing: a
   * failure (unknown, retired or destroyed key, ERR_AUTH) is audited with
   * its key id and byte count, wipes what was opened and throws.
   */
  async decryptBatch(messages: Uint8Array[], opts?: AadOptions): Promise<Uint8Array[]> {
    this.#checkOpen();
    if (!Array.isArray(messages)) throw new TesseraError('ERR_ARGUMENT', 'messages must be an array of Uint8Array');
    const groups = new Map<number, number[]>();
    const out = new Array<Uint8Array>(messages.length);
    let keyId: number | null = null;
    let purpose: string | null = null;
    let bytes = 0;
    try {
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i]!;
        bytes = m instanceof Uint8Array ? m.length : 0;
        const id = parseHeader(m).keyId;
        let g = groups.get(id);
        if (!g) groups.set(id, (g = []));
        g.push(i);
      }
      for (const [id, idx] of groups) {
        keyId = id;
        purpose = null;
        bytes = idx.reduce((a, i) => a + messages[i]!.length, 0);
        const rec = this.#byId.get(id);
        if (!rec) throw new TesseraError('ERR_KEY_MISMATCH', `no key with id ${id} in this keyring`);
        purpose = rec.purpose;
        if (rec.state === 'destroyed') throw new TesseraError('ERR_KEY_DESTROYED', `key ${id} (${rec.purpose}) was destroyed`);
        if (rec.state === 'retired') throw new TesseraError('ERR_KEY_RETIRED', `key ${id} (${rec.purpose}) is retired; re-enable it with setState to use it`);
        const pts = this.#keys.get(id)!.openBatch(idx.map((i) => messages[i]!), opts);
        for (let j = 0; j < idx.length; j++) out[idx[j]!] = pts[j]!;
      }
    } catch (e) {
      for (const p of out) p?.fill(0);
      await this.#emit({ op: 'decrypt', keyId, purpose, bytes, outcome: 'failure', code: codeOf(e), time: '' }, false);
      throw e;
    }
    for (const [id, idx] of groups) this.#count(id, 1, idx.length);
    return out;
  }

  /**
   * Blind index for equality lookups on encrypted columns: HMAC-SHA-256
   * under purpose's blind-index key (32 random bytes made on first use,
   * stored wrapped by the KEK in the purpose's record, so it is stable
   * across rotate() and reopen and is not a data key), truncated to
   * opts.bytes (8..32, default 16), base64url (or the bytes with
   * output: 'bytes'). See lib/keys/blind.ts for what is hashed.
   */
  blindIndex(purpose: string, value: string | Uint8Array, opts: BlindIndexOptions & { output: 'bytes' }): Promise<Uint8Array>;
  blindIndex(purpose: string, value: string | Uint8Array, opts?: BlindIndexOptions): Promise<string>;
  async blindIndex(purpose: string, value: string | Uint8Array, opts?: BlindIndexOptions): Promise<string | Uint8Array> {
    this.#checkOpen();
    const args = blindIndexArgs(value, opts);
    const key = this.#indexKeys.get(purpose) ?? (await this.#indexKey(checkPurpose(purpose)));
    this.#checkOpen();
    return computeBlindIndex(key.bytes, args);
  }

  /** Unwraps (creating it first when missing) purpose's blind-index key. */
  async #indexKey(purpose: string): Promise<SecureBuffer> {
    if (this.#doc.purposes[purpose]?.indexKey === undefined) {
      if (!this.#doc.purposes[purpose] && !this.#autoCreate) throw new TesseraError('ERR_ARGUMENT', `unknown purpose ${describe(purpose)} (autoCreate is off: call createPurpose)`);
      await this.#keyOp('create', null, purpose, () =>
        this.#mutate(async (c) => {
          if (!c.doc.purposes[purpose]) {
            c.doc.purposes[purpose] = { policy: {} };
            const id = await this.#newKey(c, purpose);
            c.events.push({ op: 'create', keyId: id, purpose, bytes: 0 });
          }
          const rec = c.doc.purposes[purpose]!;
          if (rec.indexKey !== undefined) {
            c.noop = true; // made meanwhile (here or by another process)
            return;
          }
          const raw = randomBytes(32);
          try {
            rec.indexKey = b64(await this.#kek.wrap(raw));
          } finally {
            raw.fill(0);
          }
          c.events.push({ op: 'create', keyId: null, purpose, bytes: 0, detail: 'blind index key' });
        }),
      );
    }
    const raw = await unwrapWith(this.#kek, this.#doc.purposes[purpose]!.indexKey!, `blind index key of ${describe(purpose)}`);
    try {
      const cur = this.#indexKeys.get(purpose);
      if (cur) return cur;
      if (raw.length !== 32) throw new TesseraError('ERR_FORMAT', `blind index key of ${describe(purpose)}: ${raw.length} bytes, expected 32`);
      const sb = SecureBuffer.from(raw);
      this.#indexKeys.set(purpose, sb);
      return sb;
    } finally {
      raw.fill(0);
    }
  }

  /** Moves a message to its purpose's primary key (returned unchanged if already there). */
  async reencrypt(message: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    const pt = await this.decrypt(message, opts);
    try {
      const rec = this.#byId.get(parseHeader(message).keyId)!;
      if (this.#primary.get(rec.purpose) === rec.id && this.#ready(rec.purpose)) return message;
      return await this.#seal(rec.purpose, pt, opts);
    } finally {
      pt.fill(0);
    }
  }

  /** Changes a key's state: 'active' makes it the primary (the old primary becomes decrypt-only); 'destroyed' is destroy(id). */
  setState(id: number, state: KeyState): Promise<void> {
    if (state === 'destroyed') return this.destroy(id);
    return this.#keyOp('state', typeof id === 'number' ? id : null, this.#byId.get(id)?.purpose ?? null, () =>
      this.#mutate(async (c) => {
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
    return this.#keyOp('destroy', typeof id === 'number' ? id : null, this.#byId.get(id)?.purpose ?? null, async () => {
      await this.#mutate(async (c) => applyDestroy(c.doc, id, this.#now(), c.events));
      await this.#mutate(async () => undefined);
    });
  }

  /** The key wrapped by another KEK (backup, migration); audited as 'export'. Never the raw key. */
  exportKey(id: number, to: KekProvider): Promise<ExportedKey> {
    return this.#keyOp('export', typeof id === 'number' ? id : null, this.#byId.get(id)?.purpose ?? null, async () => {
      if (!to || typeof to.wrap !== 'function' || typeof to.id !== 'string') throw new TesseraError('ERR_ARGUMENT', 'exportKey needs a KekProvider');
      const rec = this.#byId.get(id);
      if (!rec) throw new TesseraError('ERR_KEY_MISMATCH', `no key with id ${describe(id)} in this keyring`);
      if (rec.state === 'destroyed') throw new TesseraError('ERR_KEY_DESTROYED', `key ${id} was destroyed`);
      const bytes = this.#keys.get(id)!.exportKey();
      let wrapped: Uint8Array;
      try {
        wrapped = await to.wrap(bytes);
      } finally {
        bytes.fill(0);
      }
      await this.#emit({ op: 'export', keyId: id, purpose: rec.purpose, bytes: 0, outcome: 'success', detail: `to ${to.id}`, time: '' }, true);
      return { id, purpose: rec.purpose, algorithm: rec.algorithm, wrapped, kekId: to.id };
    });
  }

  /** Every key with its state, age and use counts (including unpersisted uses). */
  status(): KeyStatus[] {
    this.#checkOpen();
    return statusOf(this.#doc, this.#pending, this.#now());
  }

  /** Policies by purpose. */
  purposes(): Record<string, RotationPolicy> {
    this.#checkOpen();
    return Object.fromEntries(Object.entries(this.#doc.purposes).map(([k, v]) => [k, { ...v.policy }]));
  }

  /** The store generation this keyring last loaded or committed. */
  get generation(): number {
    return this.#doc.generation;
  }

  /**
   * Encrypts the file at src into a TSRF keyring file at dst (atomic): a data
   * key wrapped by this keyring's KEK (cached within opts.cache of open),
   * purpose and metadata in the authenticated header (lib/keys/envelope-file.ts).
   */
  async encryptFile(purpose: string, src: string, dst: string, opts?: EncryptFileOptions): Promise<EnvelopeInfo> {
    this.#checkOpen();
    return this.#files.encrypt(purpose, src, dst, opts);
  }

  /** Decrypts a TSRF keyring file (dst appears only once it all verified); failures are audited. */
  async decryptFile(src: string, dst: string, opts?: DecryptFileOptions): Promise<EnvelopeInfo> {
    this.#checkOpen();
    try {
      return await this.#files.decrypt(src, dst, opts);
    } catch (e) {
      await this.#emit({ op: 'decrypt', keyId: null, purpose: null, bytes: 0, outcome: 'failure', code: codeOf(e), time: '', detail: 'file' }, false);
      throw e;
    }
  }

  /** Data-key cache counters of encryptFile / decryptFile. */
  cacheStats(): CacheStats {
    return this.#files.stats();
  }

  /** Audit hook: called synchronously with every event (lib/keys/audit.ts). A throwing hook becomes a process warning. */
  on(event: 'audit', fn: Listener): this {
    this.#sink.on(event, fn);
    return this;
  }

  off(event: 'audit', fn: Listener): this {
    this.#sink.off(event, fn);
    return this;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TesseraError('ERR_DISPOSED', 'the keyring is closed');
  }

  #disposeAll(): void {
    for (const k of this.#keys.values()) k.dispose();
    this.#keys.clear();
    for (const k of this.#indexKeys.values()) k.dispose();
    this.#indexKeys.clear();
    this.#files.close();
    this.#macKey.dispose();
  }

  /** Persists use counts, disposes every key, closes the audit log. The store stays open (the caller owns it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#bgFlush;
      if (this.#pending.size > 0) await this.#mutate(async () => undefined);
    } finally {
      this.#closed = true;
      await this.#queue;
      this.#disposeAll();
      await this.#sink.close();
    }
  }
}
