/**
 * OpenTelemetry binding of tessera's metrics (docs/API.md "Metrics"): the same
 * events as lib/metrics/prometheus.ts, recorded through @opentelemetry/api
 * (an optional peer dependency, ^1.9; loaded on first bind) on the meter
 * the caller gives or the global MeterProvider's. Instrument names follow
 * the OpenTelemetry semantic-convention style
 * (https://opentelemetry.io/docs/specs/semconv/general/metrics/): dotted
 * names, UCUM units, no `_total` (an exporter adds it); a Prometheus
 * exporter shows them as tessera_operations_total,
 * tessera_operation_duration_seconds, ... Attributes are the same bounded
 * labels: never key ids or user data.
 */

import { TesseraError } from '../errors';
import { requirePeer } from '../peer';
import { describe } from '../format';
import { workerPool } from '../chunked/options';
import { dataKeyCacheEntries } from '../keys/envelope-file';
import { secureMemoryStats } from '../secure';
import { METRIC_BUCKETS, subscribeAll } from './subscribe';

/** @inline */
type Attrs = Record<string, string>;
/**
 * The parts of an @opentelemetry/api Meter used here
 * (https://opentelemetry.io/docs/specs/otel/metrics/api/#meter); any API 1.x Meter fits.
 */
export interface OpenTelemetryMeter {
  createCounter(name: string, opts?: object): { add(n: number, attrs?: Attrs): void };
  createHistogram(name: string, opts?: object): { record(v: number, attrs?: Attrs): void };
  createObservableGauge(
    name: string,
    opts?: object,
  ): {
    addCallback(cb: (r: { observe(v: number, attrs?: Attrs): void }) => void): void;
    removeCallback(cb: (r: { observe(v: number, attrs?: Attrs): void }) => void): void;
  };
}

/** Options of bindOpenTelemetry. */
export interface OpenTelemetryOptions {
  /** The meter to record on (default: the global MeterProvider's meter 'tessera'). */
  meter?: OpenTelemetryMeter;
  /** A MeterProvider to take the 'tessera' meter from (instead of the global one). */
  meterProvider?: { getMeter(name: string, version?: string): OpenTelemetryMeter };
}

/** What bindOpenTelemetry returns. */
export interface OpenTelemetryBinding {
  /** Stops recording (instruments stay registered with the meter, as the API has no removal). */
  unbind(): void;
}

type OtelApi = { metrics: { getMeter(name: string, version?: string): OpenTelemetryMeter } };
function otelApi(): OtelApi {
  return requirePeer<OtelApi>('@opentelemetry/api', 'bindOpenTelemetry', (m) => (typeof m.metrics?.getMeter !== 'function' ? 'no metrics API' : undefined));
}

/** Starts recording tessera's events as OpenTelemetry metrics. */
export function bindOpenTelemetry(opts: OpenTelemetryOptions = {}): OpenTelemetryBinding {
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `bindOpenTelemetry: options must be an object (got ${describe(opts)})`);
  let meter = opts.meter;
  if (meter === undefined) meter = (opts.meterProvider ?? otelApi().metrics).getMeter('tessera');
  if (!meter || typeof meter.createCounter !== 'function') throw new TesseraError('ERR_ARGUMENT', 'bindOpenTelemetry: meter must be an OpenTelemetry Meter');
  const m = meter;
  const ops = m.createCounter('tessera.operations', { description: 'Keyring data operations by operation, algorithm, backend and result.' });
  const bytes = m.createCounter('tessera.operation.bytes', { description: 'Bytes processed by keyring data operations.', unit: 'By' });
  const duration = m.createHistogram('tessera.operation.duration', {
    description: 'Time of the cryptographic work of keyring data operations.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...METRIC_BUCKETS.operation] },
  });
  const auth = m.createCounter('tessera.auth.failures', { description: 'Messages that failed authentication, by purpose.' });
  const kek = m.createCounter('tessera.kek.requests', { description: 'Calls to the keyring KEK by provider kind, operation and result.' });
  const kekDuration = m.createHistogram('tessera.kek.request.duration', {
    description: 'Duration of calls to the keyring KEK.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...METRIC_BUCKETS.kek] },
  });
  const hits = m.createCounter('tessera.datakey_cache.hits', { description: 'Keyring file data keys found in the cache.' });
  const misses = m.createCounter('tessera.datakey_cache.misses', { description: 'Keyring file data keys unwrapped by the KEK.' });
  const rotations = m.createCounter('tessera.key.rotations', { description: 'Key rotations, by purpose.' });
  const keyset = m.createCounter('tessera.keyset.changes', { description: 'Committed keyset changes, by operation.' });
  const locked = m.createObservableGauge('tessera.secure_memory.locked', { description: 'Bytes locked in RAM for keys and internal buffers.', unit: 'By' });
  const observeLocked = (r: { observe(v: number): void }) => r.observe(secureMemoryStats().lockedBytes);
  locked.addCallback(observeLocked);
  const entries = m.createObservableGauge('tessera.datakey_cache.entries', { description: 'Keyring file data keys held in the caches of this process.' });
  const observeEntries = (r: { observe(v: number): void }) => r.observe(dataKeyCacheEntries());
  entries.addCallback(observeEntries);
  const queued = m.createObservableGauge('tessera.pool.queued', {
    description: 'Tasks handed to the crypto worker pool that no thread has started yet.',
    unit: '{task}',
  });
  const observeQueued = (r: { observe(v: number): void }) => r.observe(workerPool().queued);
  queued.addCallback(observeQueued);

  const unsubscribe = subscribeAll({
    op(e) {
      ops.add(e.count, { op: e.op, algorithm: e.algorithm, backend: e.backend, result: e.result });
      if (e.bytes > 0) bytes.add(e.bytes, { op: e.op });
      if (e.seconds !== undefined) duration.record(e.seconds, { op: e.op, algorithm: e.algorithm });
      if (e.code === 'ERR_AUTH') auth.add(e.count, { purpose: e.purpose ?? '' });
    },
    kek(e) {
      kek.add(1, { provider: e.provider, op: e.op, result: e.result });
      kekDuration.record(e.seconds, { provider: e.provider, op: e.op });
    },
    keyset(e) {
      keyset.add(1, { op: e.op });
      if (e.op === 'rotate') rotations.add(1, { purpose: e.purpose ?? '' });
    },
    cache(e) {
      (e.result === 'hit' ? hits : misses).add(1);
    },
  });
  let bound = true;
  return {
    unbind() {
      if (!bound) return;
      bound = false;
      unsubscribe();
      locked.removeCallback(observeLocked);
      entries.removeCallback(observeEntries);
      queued.removeCallback(observeQueued);
    },
  };
}
