/**
 * The keyring's PRF primitive, `ring.prf(purpose)`: blind indexes for
 * equality lookups on encrypted columns (docs/API.md "Key manager"; the
 * construction, truncation and normalization are lib/keys/blind.ts's).
 *
 * The key is the purpose's blind-index key, not a data key: made on the
 * first use (a keyring commit, audited as 'create'), stored wrapped by the
 * KEK in the purpose record and never rotated, so an index computed today
 * matches one computed after any number of rotate() calls or reopenings.
 * An unknown purpose with autoCreate off is ERR_ARGUMENT, as for encrypt.
 */
import { type BlindIndexOptions, blindIndexArgs, computeBlindIndex } from './blind';
import type { KeySource } from './keyring-keys';

/** The keyring's PRF primitive, `ring.prf(purpose)`: blind indexes (HMAC-SHA-256) under a per-purpose key that is never rotated. */
export class KeyringPrf {
  readonly purpose: string;
  readonly #keys: Pick<KeySource, 'indexKey' | 'checkOpen'>;

  constructor(purpose: string, keys: Pick<KeySource, 'indexKey' | 'checkOpen'>) {
    this.purpose = purpose;
    this.#keys = keys;
  }

  /**
   * HMAC-SHA-256 of value under the purpose's blind-index key, truncated
   * to opts.bytes (8..32, default 16): base64url, or the bytes with
   * output: 'bytes'.
   */
  blindIndex(value: string | Uint8Array, opts: BlindIndexOptions & { output: 'bytes' }): Promise<Uint8Array>;
  blindIndex(value: string | Uint8Array, opts?: BlindIndexOptions): Promise<string>;
  async blindIndex(value: string | Uint8Array, opts?: BlindIndexOptions): Promise<string | Uint8Array> {
    this.#keys.checkOpen();
    const args = blindIndexArgs(value, opts);
    const key = await this.#keys.indexKey(this.purpose);
    this.#keys.checkOpen(); // closed while the key was being made
    return computeBlindIndex(key.bytes, args);
  }
}
