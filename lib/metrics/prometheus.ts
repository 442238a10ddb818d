/**
 * Prometheus binding of tessera's metrics (docs/API.md "Metrics"): subscribes to
 * the event channels (lib/metrics/events.ts) and keeps prom-client metrics
 * (an optional peer dependency, loaded on first bind). Names follow the
 * Prometheus conventions (https://prometheus.io/docs/practices/naming/):
 * base units (seconds, bytes), `_total` counters, labels with bounded
 * values only (operation, algorithm, backend, result, purpose, KEK kind,
 * error code), never key ids or user data. Metrics (with the default
 * prefix `tessera_`):
 *
 *   operations_total{op, algorithm, backend, result}   counter
 *   operation_bytes_total{op}                          counter (plaintext sealed, messages opened)
 *   operation_duration_seconds{op, algorithm}          histogram (the cryptographic work)
 *   auth_failures_total{purpose}                       counter (ERR_AUTH: tampering or a wrong key)
 *   kek_requests_total{provider, op, result}           counter
 *   kek_request_duration_seconds{provider, op}         histogram
 *   datakey_cache_hits_total, datakey_cache_misses_total   counters (keyring files)
 *   datakey_cache_entries                                   gauge (every keyring of the process)
 *   pool_queued_tasks                                       gauge (the crypto worker pool's queue)
 *   key_rotations_total{purpose}                       counter
 *   keyset_changes_total{op}                           counter (create, rotate, state, destroy, policy, export)
 *   secure_memory_locked_bytes                         gauge (read at scrape time)
 */

import { TesseraError } from '../errors';
import { requirePeer } from '../peer';
import { describe } from '../format';
import { workerPool } from '../chunked/options';
import { dataKeyCacheEntries } from '../keys/envelope-file';
import { secureMemoryStats } from '../secure';
import { type CollectedValue, OpTotals } from './op-totals';
import { METRIC_BUCKETS, subscribeAll } from './subscribe';

/** The parts of prom-client used here (https://github.com/siimon/prom-client, README). */
interface PromClient {
  Registry: new () => PrometheusRegistry;
  Counter: new (cfg: object) => { inc(labels?: Record<string, string> | number, n?: number): void };
  Histogram: new (cfg: object) => { observe(labels: Record<string, string>, v: number): void };
  Gauge: new (cfg: object) => { set(v: number): void };
  register: PrometheusRegistry;
}
/** The parts of a prom-client Registry used here (https://github.com/siimon/prom-client, README "Registry"). */
export interface PrometheusRegistry {
  metrics(): Promise<string>;
  contentType: string;
  removeSingleMetric(name: string): void;
  /**
   * Takes a collector { name, help, type, aggregator, get() } whose get()
   * returns the samples (prom-client's Registry reads name, help, type and
   * values); typed `never` so that any prom-client version's Registry fits.
   */
  registerMetric(m: never): void;
}

/** Options of bindPrometheus. */
export interface PrometheusOptions {
  /** Where to register (default prom-client's global registry). */
  registry?: PrometheusRegistry;
  /** Metric name prefix (default 'tessera_'). */
  prefix?: string;
}

/** What bindPrometheus returns. */
export interface PrometheusBinding {
  /** The registry the metrics are in. */
  readonly registry: PrometheusRegistry;
  /** Stops listening and removes tessera's metrics from the registry. */
  unbind(): void;
}

function promClient(): PromClient {
  return requirePeer<PromClient>('prom-client', 'bindPrometheus', (m) => (typeof m.Gauge !== 'function' ? 'no Gauge' : undefined));
}

/** Starts recording tessera's events as prom-client metrics in opts.registry. */
export function bindPrometheus(opts: PrometheusOptions = {}): PrometheusBinding {
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `bindPrometheus: options must be an object (got ${describe(opts)})`);
  const prefix = opts.prefix ?? 'tessera_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]{0,63}$/.test(prefix))
    throw new TesseraError('ERR_ARGUMENT', `bindPrometheus: prefix must be a Prometheus metric name prefix (got ${describe(prefix)})`);
  const prom = promClient();
  const registry = opts.registry ?? prom.register;
  if (!registry || typeof registry.metrics !== 'function') throw new TesseraError('ERR_ARGUMENT', 'bindPrometheus: registry must be a prom-client Registry');
  const names: string[] = [];
  const reg = { registers: [registry] };
  const counter = (name: string, help: string, labelNames: string[] = []) => {
    names.push(prefix + name);
    return new prom.Counter({ name: prefix + name, help, labelNames, ...reg });
  };
  const histogram = (name: string, help: string, labelNames: string[], buckets: readonly number[]) => {
    names.push(prefix + name);
    return new prom.Histogram({ name: prefix + name, help, labelNames, buckets: [...buckets], ...reg });
  };
  // The per-operation metrics are totals kept here and handed to the
  // registry at scrape time (prom-client collector objects): an operation
  // then costs a string key, a Map lookup and a few additions, where
  // prom-client's own metrics hash a labels object on every update.
  const totals = new OpTotals(METRIC_BUCKETS.operation);
  const collector = (name: string, help: string, type: 'counter' | 'histogram', values: () => CollectedValue[]) => {
    names.push(prefix + name);
    const full = prefix + name;
    const metric = { name: full, help, type, aggregator: 'sum', get: () => ({ name: full, help, type, aggregator: 'sum', values: values() }) };
    registry.registerMetric(metric as never);
  };
  collector('operations_total', 'Keyring data operations by operation, algorithm, backend and result.', 'counter', () => totals.operations());
  collector('operation_bytes_total', 'Bytes processed by keyring data operations (plaintext sealed, messages opened).', 'counter', () => totals.bytes());
  collector('operation_duration_seconds', 'Time of the cryptographic work of keyring data operations.', 'histogram', () =>
    totals.durations(`${prefix}operation_duration_seconds`),
  );
  collector('auth_failures_total', 'Messages that failed authentication (tampered, truncated, or another key), by purpose.', 'counter', () =>
    totals.authFailures(),
  );
  const kek = counter('kek_requests_total', 'Calls to the keyring KEK by provider kind, operation and result.', ['provider', 'op', 'result']);
  const kekDuration = histogram('kek_request_duration_seconds', 'Duration of calls to the keyring KEK.', ['provider', 'op'], METRIC_BUCKETS.kek);
  const hits = counter('datakey_cache_hits_total', 'Keyring file data keys found in the cache.');
  const misses = counter('datakey_cache_misses_total', 'Keyring file data keys unwrapped by the KEK (not in the cache).');
  const rotations = counter('key_rotations_total', 'Key rotations, by purpose.', ['purpose']);
  const keyset = counter('keyset_changes_total', 'Committed keyset changes, by operation.', ['op']);
  /** A gauge read when the registry is scraped. */
  const gauge = (name: string, help: string, read: () => number) => {
    names.push(prefix + name);
    new prom.Gauge({
      name: prefix + name,
      help,
      ...reg,
      collect(this: { set(v: number): void }) {
        this.set(read());
      },
    });
  };
  gauge('datakey_cache_entries', 'Keyring file data keys held in the caches of this process.', dataKeyCacheEntries);
  gauge('pool_queued_tasks', 'Tasks handed to the crypto worker pool that no thread has started yet.', () => workerPool().queued);
  gauge('secure_memory_locked_bytes', 'Bytes of key material and internal buffers locked in RAM.', () => secureMemoryStats().lockedBytes);

  const unsubscribe = subscribeAll({
    op: (e) => totals.add(e),
    kek(e) {
      kek.inc({ provider: e.provider, op: e.op, result: e.result });
      kekDuration.observe({ provider: e.provider, op: e.op }, e.seconds);
    },
    keyset(e) {
      keyset.inc({ op: e.op });
      if (e.op === 'rotate') rotations.inc({ purpose: e.purpose ?? '' });
    },
    cache(e) {
      (e.result === 'hit' ? hits : misses).inc();
    },
  });
  let bound = true;
  return {
    registry,
    unbind() {
      if (!bound) return;
      bound = false;
      unsubscribe();
      for (const n of names) registry.removeSingleMetric(n);
    },
  };
}
