/**
 * The keyring's database-key primitive, `ring.databaseKeys(purpose)`: the
 * raw 256-bit keys of an encrypted database (SQLCipher, lib/sqlcipher/;
 * docs/API.md "SQLCipher databases"). Each purpose used this way keys one
 * database; give it no other use, so that one key never serves two
 * constructions.
 *
 * Rotation needs the new key stored before the database is rekeyed with
 * it, and made the primary only after the rekeyed database has been
 * verified. So a new key starts 'pending' (stored, wrapped by the KEK, not
 * the primary), then activate() makes it the primary (the old one becomes
 * decrypt-only) or discard() destroys it. A purpose holds at most one
 * pending key.
 *
 * The raw key is lent to a callback and wiped when it returns: it never
 * outlives the call in JS memory that tessera controls.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';

/** What the keyring lends this primitive (lib/keys/keyring.ts). */
export interface DatabaseKeyHost {
  /** purpose's primary key id, creating the purpose when allowed (autoCreate). */
  primary(purpose: string): Promise<number>;
  /** Ids of purpose's keys by state. */
  ids(purpose: string, state: 'pending' | 'active' | 'decrypt-only'): number[];
  /** The 32 key bytes of id (a fresh copy the caller wipes). */
  exportRaw(id: number): Uint8Array;
  /** Adds a pending key to purpose (committed); returns its id. */
  addPending(purpose: string): Promise<number>;
  /** Makes pending key id the primary, or destroys it. */
  settle(id: number, to: 'active' | 'destroyed'): Promise<void>;
  checkOpen(): void;
}

/**
 * The keyring's database-key primitive, `ring.databaseKeys(purpose)`: the raw 256-bit keys of one encrypted database,
 * lent to a callback and wiped when it returns; rotation through a pending key (docs/API.md "SQLCipher databases").
 */
export class KeyringDatabaseKeys {
  readonly purpose: string;
  readonly #host: DatabaseKeyHost;

  constructor(purpose: string, host: DatabaseKeyHost) {
    this.purpose = purpose;
    this.#host = host;
  }

  /** The primary key id (the purpose and its first key are made on first use unless autoCreate is off). */
  primary(): Promise<number> {
    this.#host.checkOpen();
    return this.#host.primary(this.purpose);
  }

  /** The pending key id, if a rotation has one. */
  pending(): number | undefined {
    this.#host.checkOpen();
    return this.#host.ids(this.purpose, 'pending')[0];
  }

  /** Keys a database of this purpose may still be keyed with: the primary, the pending key, then decrypt-only keys, newest first. */
  candidates(): number[] {
    this.#host.checkOpen();
    return [...this.#host.ids(this.purpose, 'active'), ...this.#host.ids(this.purpose, 'pending'), ...this.#host.ids(this.purpose, 'decrypt-only').reverse()];
  }

  /** Runs fn with key id's 32 bytes, then wipes them (also when fn throws). id must be a live key of this purpose. */
  withKey<T>(id: number, fn: (raw: Uint8Array) => T): T {
    this.#host.checkOpen();
    if (!this.candidates().includes(id)) throw new TesseraError('ERR_KEY_MISMATCH', `key ${describe(id)} is not a usable key of ${describe(this.purpose)}`);
    const raw = this.#host.exportRaw(id);
    try {
      return fn(raw);
    } finally {
      raw.fill(0);
    }
  }

  /** The pending key, made (and stored) if there is none. */
  async createPending(): Promise<number> {
    return this.pending() ?? this.#host.addPending(this.purpose);
  }

  /** Pending key id becomes the primary; the old primary becomes decrypt-only. */
  async activate(id: number): Promise<void> {
    this.#checkPending(id);
    return this.#host.settle(id, 'active');
  }

  /** Destroys pending key id (a rotation rolled back). */
  async discard(id: number): Promise<void> {
    this.#checkPending(id);
    return this.#host.settle(id, 'destroyed');
  }

  #checkPending(id: number): void {
    if (this.pending() !== id) throw new TesseraError('ERR_ARGUMENT', `key ${describe(id)} is not the pending key of ${describe(this.purpose)}`);
  }
}
