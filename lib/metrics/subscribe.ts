/**
 * One subscription to every tessera metrics channel (lib/metrics/events.ts),
 * shared by the bindings, and the histogram buckets both use.
 */
import type { Channel } from 'node:diagnostics_channel';

import { type CacheEvent, cacheChannel, type KekEvent, kekChannel, type KeysetEvent, keysetChannel, type OpEvent, opChannel } from './events';

export interface Handlers {
  op(e: OpEvent): void;
  kek(e: KekEvent): void;
  keyset(e: KeysetEvent): void;
  cache(e: CacheEvent): void;
}

/**
 * Bucket bounds in seconds: keyring operations run from about a microsecond
 * (64 B) to seconds (large files); KEK calls from microseconds (a local
 * AES-KWP key) to seconds (a KMS across regions).
 */
export const METRIC_BUCKETS = {
  operation: [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 0.1, 1, 10],
  kek: [1e-5, 1e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5],
} as const;

/** Subscribes handlers to every channel; returns the function that unsubscribes them. */
export function subscribeAll(h: Handlers): () => void {
  const pairs: [Channel, (m: unknown) => void][] = [
    [opChannel, (m) => h.op(m as OpEvent)],
    [kekChannel, (m) => h.kek(m as KekEvent)],
    [keysetChannel, (m) => h.keyset(m as KeysetEvent)],
    [cacheChannel, (m) => h.cache(m as CacheEvent)],
  ];
  for (const [c, f] of pairs) c.subscribe(f);
  return () => {
    for (const [c, f] of pairs) c.unsubscribe(f);
  };
}
