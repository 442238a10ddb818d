/**
 * The keyring's AEAD primitive, `ring.aead(purpose)` (docs/API.md "Key
 * manager"): message format v1 (docs/API.md "Message format v1") under the
 * purpose's current primary key, opened with whichever key of the keyring
 * the message names. Names: encrypt / decrypt, as the keyring's data
 * methods always were (so ring.encrypt(p, pt) becomes ring.aead(p).encrypt(pt)),
 * returning promises since the first encrypt of a purpose may create it and
 * a rotation policy may rotate it (store commits); in this library seal /
 * open name the synchronous single-key operations (lib/aead.ts AeadKey),
 * which run underneath.
 *
 * - encrypt / encryptToString / encryptBatch: under the primary resolved
 *   per call, so a primitive obtained before rotate() seals under the new
 *   primary after it. One native call per message (a batch: one for all,
 *   sharing opts.aad). The first use of a purpose creates it (autoCreate)
 *   or fails ERR_ARGUMENT (autoCreate off); the rotation policy is checked
 *   before every seal (KeySource.primary / prepare).
 * - decrypt / decryptString / decryptBatch: by the key id in the message,
 *   across purposes (a primitive of any purpose, or `ring.aead()` without
 *   one, opens every message of the keyring): ERR_KEY_MISMATCH (not in this
 *   keyring), ERR_KEY_DESTROYED, ERR_KEY_RETIRED, ERR_AUTH. A batch is all
 *   or nothing, one AeadKey.openBatch per key id; what it opened before a
 *   failure is wiped.
 * - reencrypt: decrypt, then seal under the target purpose's primary unless
 *   the message is already there (then it is returned as is). The target
 *   is this primitive's purpose; a primitive made without one moves each
 *   message within its own purpose.
 * Failures say what they were about (keyring-keys.ts failure()); audit
 * events and use counts come from the monitoring layer around this class
 * (keyring-monitor.ts), never from here.
 */
import type { AadOptions } from '../aead';
import { TesseraError } from '../errors';
import { fromText, parseHeader, toText } from '../format';
import { failure, type Key, type KeySource } from './keyring-keys';

/** The operations whose failures are audited (keyring-monitor.ts audit()). */
export const AEAD_AUDITED = ['decrypt', 'decryptString', 'decryptBatch', 'reencrypt'] as const;

const bytesOf = (m: unknown) => (m instanceof Uint8Array ? m.length : 0);

/**
 * The keyring's AEAD primitive, `ring.aead(purpose)`: message format v1 under the purpose's primary key;
 * opens a message with whichever key of the keyring it names (docs/API.md "Key manager").
 */
export class KeyringAead {
  /** The purpose encrypt seals under; undefined for `ring.aead()`, which only opens (and reencrypts in place). */
  readonly purpose: string | undefined;
  readonly #keys: KeySource;

  constructor(purpose: string | undefined, keys: KeySource) {
    this.purpose = purpose;
    this.#keys = keys;
  }

  /** Seals plaintext (message format v1) under the purpose's primary key. */
  encrypt(plaintext: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    try {
      // Fast path: no await between the policy check and the seal.
      const key = this.purpose === undefined ? undefined : this.#keys.primary(this.purpose, 1);
      if (key) return Promise.resolve(key.seal(plaintext, opts));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#withPrimary(this.purpose, 1, (key) => key.seal(plaintext, opts));
  }

  /** encrypt, as `tsr1.` + base64url. */
  async encryptToString(plaintext: Uint8Array, opts?: AadOptions): Promise<string> {
    return toText(await this.encrypt(plaintext, opts));
  }

  /** Seals every plaintext in ONE native call (AeadKey.sealBatch), all sharing opts.aad; the policy counts plaintexts.length messages. */
  async encryptBatch(plaintexts: Uint8Array[], opts?: AadOptions): Promise<Uint8Array[]> {
    this.#keys.checkOpen();
    if (!Array.isArray(plaintexts)) throw new TesseraError('ERR_ARGUMENT', 'plaintexts must be an array of Uint8Array');
    const n = plaintexts.length;
    if (n === 0) return [];
    return this.#withPrimary(this.purpose, n, (key) => key.sealBatch(plaintexts, opts));
  }

  /** Runs use on purpose's primary once it can seal n messages (creating the purpose or rotating it first). */
  async #withPrimary<R>(purpose: string | undefined, n: number, use: (key: Key) => R): Promise<R> {
    this.#keys.checkOpen();
    if (purpose === undefined) throw new TesseraError('ERR_ARGUMENT', 'this primitive has no purpose to encrypt under: use ring.aead(purpose)');
    for (let i = 0; i < 8; i++) {
      const key = this.#keys.primary(purpose, n);
      if (key) return use(key);
      await this.#keys.prepare(purpose, n);
    }
    throw new TesseraError('ERR_INTERNAL', 'the primary key kept changing; try again');
  }

  /** Opens a message with the key its header names (any purpose of the keyring). */
  decrypt(message: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.#open(message, opts));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** decrypt of the `tsr1.` form. */
  decryptString(text: string, opts?: AadOptions): Promise<Uint8Array> {
    try {
      this.#keys.checkOpen();
      let message: Uint8Array;
      try {
        message = fromText(text);
      } catch (e) {
        throw failure(e, { op: 'decrypt', keyId: null, purpose: null, bytes: typeof text === 'string' ? text.length : 0 });
      }
      return Promise.resolve(this.#open(message, opts));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #open(message: Uint8Array, opts: AadOptions | undefined): Uint8Array {
    this.#keys.checkOpen();
    let keyId: number | null = null;
    try {
      keyId = parseHeader(message).keyId;
      return this.#keys.byId(keyId).open(message, opts);
    } catch (e) {
      throw failure(e, { op: 'decrypt', keyId, purpose: keyId === null ? null : (this.#keys.purposeOf(keyId) ?? null), bytes: bytesOf(message) });
    }
  }

  /** Opens messages (all sharing opts.aad), one AeadKey.openBatch per key id. All or nothing. */
  async decryptBatch(messages: Uint8Array[], opts?: AadOptions): Promise<Uint8Array[]> {
    this.#keys.checkOpen();
    if (!Array.isArray(messages)) throw new TesseraError('ERR_ARGUMENT', 'messages must be an array of Uint8Array');
    const groups = new Map<number, number[]>();
    const out = new Array<Uint8Array>(messages.length);
    let keyId: number | null = null;
    let bytes = 0;
    try {
      for (let i = 0; i < messages.length; i++) {
        bytes = bytesOf(messages[i]);
        const id = parseHeader(messages[i]!).keyId;
        let g = groups.get(id);
        if (!g) groups.set(id, (g = []));
        g.push(i);
      }
      for (const [id, idx] of groups) {
        keyId = id;
        bytes = idx.reduce((a, i) => a + messages[i]!.length, 0);
        const pts = this.#keys.byId(id).openBatch(
          idx.map((i) => messages[i]!),
          opts,
        );
        for (let j = 0; j < idx.length; j++) out[idx[j]!] = pts[j]!;
      }
    } catch (e) {
      for (const p of out) p?.fill(0);
      throw failure(e, { op: 'decrypt', keyId, purpose: keyId === null ? null : (this.#keys.purposeOf(keyId) ?? null), bytes });
    }
    return out;
  }

  /** Moves a message to the target purpose's primary key (returned unchanged if already there). */
  async reencrypt(message: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    const pt = this.#open(message, opts);
    try {
      const id = parseHeader(message).keyId;
      const target = this.purpose ?? this.#keys.purposeOf(id)!;
      if (this.#keys.primary(target, 1)?.keyId === id) return message;
      return await this.#withPrimary(target, 1, (key) => key.seal(pt, opts));
    } finally {
      pt.fill(0);
    }
  }
}
