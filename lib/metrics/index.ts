/**
 * `tessera/metrics` (docs/API.md "Metrics"): tessera's event channels and two
 * bindings, Prometheus (prom-client) and OpenTelemetry (@opentelemetry/api),
 * both optional peer dependencies loaded on first bind. Node only; sets
 * up the backends as the root entry does (the gauges read the worker pool).
 *
 * @module tessera/metrics
 */
import '../backend/node';

export { bindOpenTelemetry, type OpenTelemetryBinding, type OpenTelemetryMeter, type OpenTelemetryOptions } from './otel';
export { bindPrometheus, type PrometheusBinding, type PrometheusOptions, type PrometheusRegistry } from './prometheus';
export { CHANNELS, type CacheEvent, type KekEvent, type KeysetEvent, type OpEvent } from './events';
export { METRIC_BUCKETS } from './subscribe';
