/**
 * The keyring's committed state (docs/API.md "Key manager"; docs/ARCHITECTURE.md
 * "Key manager core"): the keyring document as last loaded or committed,
 * its indexes, and the data keys it holds unwrapped (AeadKey, secure
 * memory). lib/keys/keyring.ts decides what changes; this module makes
 * changes durable:
 *
 * - open: loads the store, or initializes an empty one (racing processes:
 *   the loser of the first commit loads the winner's document); a
 *   passphrase KEK made without a salt is re-derived under the store's
 *   recorded parameters (kekForStored); the document MAC is verified with
 *   the MAC key the KEK unwraps (ERR_KEK wrong KEK, ERR_FORMAT tampered).
 * - mutate: applies a change to a copy of the document (with the pending
 *   use counts added, keyring-counts.ts), MACs it, commits it to the store
 *   with optimistic concurrency, and only then makes it (and the keys the
 *   change staged) current and reports its events; ERR_CONFLICT (another
 *   process committed) reloads and re-applies. One change at a time.
 * - Keys new to the document are unwrapped, keys destroyed (here or by
 *   another process) are disposed, at every load and commit.
 */
import { AeadKey } from '../aead';
import type { Algorithm } from '../format';
import { TesseraError } from '../errors';
import { SecureBuffer } from '../secure';
import { b64, cloneDoc, computeMac, verifyMac } from './document';
import { type KekProvider, kekForStored } from './kek';
import type { UseCounts } from './keyring-counts';
import { codeOf, demotePrimary, freshId, importKey, initialDoc, macKeyOf, type PendingEvent } from './keyring-doc';
import type { KeyRecord, KeyringDoc, KeyStore } from './store';

/** A change in progress: the document copy, keys made for it, the events to report once it is committed. */
export interface Draft {
  doc: KeyringDoc;
  staged: Map<number, AeadKey>;
  events: PendingEvent[];
  /** Set by the change when there is nothing to commit. */
  noop: boolean;
}

export interface StateHooks {
  uses: UseCounts;
  /** A committed change's events, in order (audit). */
  committed(ev: PendingEvent): Promise<void>;
}

export class KeyringState {
  readonly kek: KekProvider;
  readonly #store: KeyStore;
  readonly #hooks: StateHooks;
  #macKey: SecureBuffer;
  #doc: KeyringDoc;
  #byId = new Map<number, KeyRecord>();
  #primary = new Map<string, number>();
  /** Unwrapped data keys by id (every key not destroyed). */
  readonly keys = new Map<number, AeadKey>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(store: KeyStore, kek: KekProvider, macKey: SecureBuffer, doc: KeyringDoc, hooks: StateHooks) {
    this.#store = store;
    this.kek = kek;
    this.#macKey = macKey;
    this.#doc = doc;
    this.#hooks = hooks;
    this.#index();
  }

  /** Loads store (or initializes it when empty) with kek and unwraps its keys. */
  static async open(store: KeyStore, kek: KekProvider, hooks: StateHooks): Promise<KeyringState> {
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
    const state = new KeyringState(store, kek, mac, doc, hooks);
    try {
      await state.#syncKeys();
    } catch (e) {
      state.dispose();
      throw e;
    }
    return state;
  }

  /** The document as last loaded or committed (never edit it: changes go through mutate). */
  get doc(): KeyringDoc {
    return this.#doc;
  }

  /** The key record of id, any state. */
  record(id: number): KeyRecord | undefined {
    return this.#byId.get(id);
  }

  /** The primary key id of purpose. */
  primaryId(purpose: string): number | undefined {
    return this.#primary.get(purpose);
  }

  #index(): void {
    this.#byId = new Map(this.#doc.keys.map((k) => [k.id, k]));
    this.#primary = new Map(this.#doc.keys.filter((k) => k.state === 'active').map((k) => [k.purpose, k.id]));
  }

  /** Unwraps keys new to this process; disposes keys destroyed elsewhere. */
  async #syncKeys(): Promise<void> {
    for (const [id, key] of this.keys) {
      if (this.#byId.get(id)?.state !== 'destroyed' && this.#byId.has(id)) continue;
      key.dispose();
      this.keys.delete(id);
    }
    for (const rec of this.#doc.keys) {
      if (rec.state === 'destroyed' || this.keys.has(rec.id)) continue;
      this.keys.set(rec.id, await importKey(this.kek, rec));
    }
  }

  /** Re-reads the store (changes committed by other processes). */
  refresh(): Promise<void> {
    return this.#serial(() => this.#reload());
  }

  async #reload(): Promise<void> {
    const doc = await this.#store.load();
    if (doc === undefined) throw new TesseraError('ERR_FORMAT', 'the key store is empty; the keyring was removed');
    if (doc.macKey !== this.#doc.macKey || doc.kekId !== this.#doc.kekId) {
      const mac = await macKeyOf(this.kek, doc);
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

  /** Settles once every change queued so far has. */
  idle(): Promise<unknown> {
    return this.#queue;
  }

  /** Applies fn to a draft, commits it, then makes it current (see the top of this file). */
  mutate<R>(fn: (d: Draft) => Promise<R>): Promise<R> {
    return this.#serial(async () => {
      for (let attempt = 0; ; attempt++) {
        const d: Draft = { doc: cloneDoc(this.#doc), staged: new Map(), events: [], noop: false };
        try {
          const applied = this.#hooks.uses.applyTo(d.doc);
          const r = await fn(d);
          if (d.noop) return r;
          d.doc.generation = this.#doc.generation + 1;
          d.doc.mac = computeMac(this.#macKey.bytes, d.doc);
          await this.#store.commit(d.doc, this.#doc.generation, (cur) => verifyMac(this.#macKey.bytes, cur, 'key store'));
          this.#hooks.uses.settle(applied);
          this.#doc = d.doc;
          this.#index();
          for (const [id, key] of d.staged) this.keys.set(id, key);
          d.staged.clear();
          await this.#syncKeys(); // disposes keys destroyed by this change
          for (const ev of d.events) await this.#hooks.committed(ev);
          return r;
        } catch (e) {
          for (const key of d.staged.values()) key.dispose();
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

  /**
   * A new primary key of algorithm alg for purpose in d.doc (the old
   * primary becomes decrypt-only), or with state 'pending' a key beside the
   * primary; staged until the commit.
   */
  async newKey(d: Draft, purpose: string, alg: Algorithm, t: number, state: 'active' | 'pending' = 'active'): Promise<number> {
    const id = freshId(d.doc);
    const key = AeadKey.generate(alg, { keyId: id });
    d.staged.set(id, key);
    const bytes = key.exportKey();
    let wrapped: Uint8Array;
    try {
      wrapped = await this.kek.wrap(bytes);
    } finally {
      bytes.fill(0);
    }
    if (state === 'active') demotePrimary(d.doc, purpose, t, d.events);
    d.doc.keys.push({ id, purpose, algorithm: alg, state, createdAt: t, stateChangedAt: t, wrapped: b64(wrapped), encrypted: 0, decrypted: 0 });
    return id;
  }

  /** Disposes every key and the MAC key. */
  dispose(): void {
    for (const k of this.keys.values()) k.dispose();
    this.keys.clear();
    this.#macKey.dispose();
  }
}
