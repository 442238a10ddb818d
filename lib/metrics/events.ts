/**
 * tessera's metrics event source (docs/API.md "Metrics"): named
 * `node:diagnostics_channel` channels that the keyring's monitoring layer
 * (lib/keys/keyring-monitor.ts) and its KEK calls publish to. A channel
 * without subscribers costs one property read per operation
 * (https://nodejs.org/api/diagnostics_channel.html#channelhassubscribers):
 * events are built, and clocks read, only while something listens. The
 * bindings (lib/metrics/prometheus.ts, lib/metrics/otel.ts) subscribe;
 * anything else may too, by channel name.
 *
 * Events carry bounded values only: operation names, algorithms, backends,
 * purposes (names the application chose), KEK provider kinds (the id's
 * scheme, never the id), error codes, sizes and durations. Never a key id,
 * a KEK id, key material, plaintext or any other user input.
 */
import * as dc from 'node:diagnostics_channel';

/** The `node:diagnostics_channel` channel names tessera publishes on, by event kind. */
export const CHANNELS = {
  /** OpEvent: one keyring data operation (encrypt, decrypt, batch, blind index, file, stream). */
  op: 'tessera:op',
  /** KekEvent: one call to the keyring's KEK (wrap, unwrap, ...). */
  kek: 'tessera:kek',
  /** KeysetEvent: a committed keyset change (create, rotate, state, destroy, policy). */
  keyset: 'tessera:keyset',
  /** CacheEvent: a keyring file data-key cache lookup. */
  cache: 'tessera:cache',
} as const;

/** Published on `tessera:op` (CHANNELS.op). */
export interface OpEvent {
  op: string;
  algorithm: string;
  backend: string;
  purpose: string | null;
  result: 'ok' | 'error';
  /** The TesseraError code of a failure. */
  code?: string;
  /** Messages in the operation (a batch counts each). */
  count: number;
  /** Plaintext bytes sealed, or message bytes opened. */
  bytes: number;
  /** Wall time of the cryptographic work, when measured (successes). */
  seconds?: number;
}

/** Published on `tessera:kek` (CHANNELS.kek). */
export interface KekEvent {
  /** The KEK's kind: the scheme of its id (aws-kms, azure-kv, gcp-kms, hcvault, pkcs11, aes-kwp, ...). */
  provider: string;
  op: string;
  result: 'ok' | 'error';
  code?: string;
  seconds: number;
}

/** Published on `tessera:keyset` (CHANNELS.keyset). */
export interface KeysetEvent {
  op: string;
  purpose: string | null;
}

/** Published on `tessera:cache` (CHANNELS.cache). */
export interface CacheEvent {
  result: 'hit' | 'miss';
}

export const opChannel = dc.channel(CHANNELS.op);
export const kekChannel = dc.channel(CHANNELS.kek);
export const keysetChannel = dc.channel(CHANNELS.keyset);
export const cacheChannel = dc.channel(CHANNELS.cache);

/** The kind of a KEK from its id: the URI scheme or the id's prefix, letters, digits and - only. */
export function kekKind(id: string): string {
  const m = /^([a-z][a-z0-9-]{0,30})[:]/.exec(id);
  return m ? m[1]! : 'other';
}
