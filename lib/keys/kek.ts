/**
 * Key-encryption-key providers (contract; DESIGN section 6): one interface
 * for every place a KEK can live, so the keyring and the file envelope never
 * see KEK bytes.
 *
 *   { id: string, wrap(dataKey): Promise<Uint8Array>, unwrap(wrapped): Promise<Uint8Array> }
 *
 * `kek.fromKey(bytes)` wraps with AES-KWP (RFC 5649), so its wrap output
 * equals `keywrap.wrapPad(masterKey, dataKey)`. Node only.
 */
import { createHash } from 'node:crypto';

import { TesseraError } from '../errors';
import { describe } from '../format';
import { SecureBuffer } from '../secure';
import { keywrap } from './keywrap';

export interface KekProvider {
  /** Stable identifier of this KEK (stored next to what it wrapped; never derived reversibly from the key). */
  readonly id: string;
  wrap(dataKey: Uint8Array): Promise<Uint8Array>;
  /** ERR_AUTH if wrapped was not made by this KEK or was altered. */
  unwrap(wrapped: Uint8Array): Promise<Uint8Array>;
}

/** An AES-KWP KEK over master key bytes kept in a SecureBuffer. `label` prefixes the id. */
function aesKwp(master: Uint8Array, label: string): KekProvider {
  if (!(master instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `the master key must be a Uint8Array (got ${describe(master)})`);
  if (master.length !== 32) throw new TesseraError('ERR_KEY_LENGTH', `the master key must be 32 bytes (got ${master.length})`);
  const held = SecureBuffer.from(master);
  // The id names the key without revealing it: a domain-separated hash, truncated.
  const id = `${label}:${createHash('sha256').update('tessera kek id v1\0').update(held.bytes).digest('hex').slice(0, 16)}`;
  return {
    id,
    wrap: async (dataKey) => keywrap.wrapPad(held.bytes, dataKey),
    unwrap: async (wrapped) => keywrap.unwrapPad(held.bytes, wrapped),
  };
}

export const kek = {
  /** A raw 32-byte master key (copied into secure memory; wipe your copy). AES-KWP. */
  fromKey(bytes: Uint8Array): KekProvider {
    return aesKwp(bytes, 'aes-kwp');
  },
};

export { aesKwp as _aesKwp };
