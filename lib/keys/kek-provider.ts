/**
 * The KEK provider interface (docs/API.md "Key manager"), on its own so that
 * the providers (kek-aws.ts, kek-vault.ts, ...) and lib/keys/kek.ts, which
 * builds them, do not import each other. lib/keys/kek.ts re-exports it.
 */
export interface KekProvider {
  /** Stable identifier of this KEK (stored next to what it wrapped; never derived reversibly from the key). */
  readonly id: string;
  /** dataKey wrapped under this KEK (unwrap with the same KEK recovers it). */
  wrap(dataKey: Uint8Array): Promise<Uint8Array>;
  /**
   * ERR_AUTH if wrapped was not made by this KEK or was altered (ERR_KEK for
   * a passphrase KEK, where that usually means a wrong passphrase, and for a
   * public-only RSA KEK).
   */
  unwrap(wrapped: Uint8Array): Promise<Uint8Array>;
  /**
   * Ids the same KEK had in earlier tessera versions: a store or file that
   * recorded one of them still opens with this provider (answersTo).
   */
  readonly formerIds?: readonly string[];
  /**
   * Where the service draws data keys itself (AWS KMS GenerateDataKey, Vault
   * Transit datakey): a fresh key and its wrapped form in one call.
   */
  generateDataKey?(length: number): Promise<{ dataKey: Uint8Array; wrapped: Uint8Array }>;
  /**
   * Where the service can (AWS KMS ReEncrypt, Vault Transit rewrap): a
   * wrapped key re-wrapped under the KEK's current version, without the
   * data key leaving the service.
   */
  rewrap?(wrapped: Uint8Array): Promise<Uint8Array>;
}
