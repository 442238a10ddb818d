/**
 * Running totals of keyring data operations for the Prometheus binding
 * (lib/metrics/prometheus.ts): counts, bytes and a duration histogram per
 * label combination, kept as plain numbers and turned into Prometheus
 * samples only when the registry is scraped
 * (https://prometheus.io/docs/concepts/metric_types/#histogram: cumulative
 * `le` buckets ending at +Inf, `_sum`, `_count`).
 */
import type { OpEvent } from './events';

export interface CollectedValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

interface Entry {
  op: string;
  algorithm: string;
  backend: string;
  result: string;
  count: number;
  bytes: number;
  /** Observations per bucket (not cumulative); the last is above every bound. */
  buckets: number[];
  sum: number;
}

export class OpTotals {
  readonly #bounds: readonly number[];
  readonly #entries = new Map<string, Entry>();
  readonly #auth = new Map<string, number>();

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  /** The first entries made, scanned before the Map: a service uses a handful of label combinations, and comparing four short strings beats building a key. */
  readonly #recent: Entry[] = [];

  #entry(e: OpEvent): Entry {
    for (const s of this.#recent) if (s.op === e.op && s.result === e.result && s.algorithm === e.algorithm && s.backend === e.backend) return s;
    const key = `${e.op}\0${e.algorithm}\0${e.backend}\0${e.result}`;
    let s = this.#entries.get(key);
    if (s === undefined) {
      s = {
        op: e.op,
        algorithm: e.algorithm,
        backend: e.backend,
        result: e.result,
        count: 0,
        bytes: 0,
        buckets: new Array<number>(this.#bounds.length + 1).fill(0),
        sum: 0,
      };
      this.#entries.set(key, s);
      if (this.#recent.length < 16) this.#recent.push(s);
    }
    return s;
  }

  add(e: OpEvent): void {
    const s = this.#entry(e);
    s.count += e.count;
    s.bytes += e.bytes;
    if (e.seconds !== undefined) {
      let i = 0;
      while (i < this.#bounds.length && e.seconds > this.#bounds[i]!) i++;
      s.buckets[i]!++;
      s.sum += e.seconds;
    }
    if (e.code === 'ERR_AUTH') {
      const p = e.purpose ?? '';
      this.#auth.set(p, (this.#auth.get(p) ?? 0) + e.count);
    }
  }

  operations(): CollectedValue[] {
    return [...this.#entries.values()].map((s) => ({ labels: { op: s.op, algorithm: s.algorithm, backend: s.backend, result: s.result }, value: s.count }));
  }

  bytes(): CollectedValue[] {
    const by = new Map<string, number>();
    for (const s of this.#entries.values()) if (s.bytes > 0) by.set(s.op, (by.get(s.op) ?? 0) + s.bytes);
    return [...by].map(([op, value]) => ({ labels: { op }, value }));
  }

  /** Histogram samples by (op, algorithm), name the histogram's base name. */
  durations(name: string): CollectedValue[] {
    const by = new Map<string, { op: string; algorithm: string; buckets: number[]; sum: number }>();
    for (const s of this.#entries.values()) {
      const key = `${s.op}\0${s.algorithm}`;
      let h = by.get(key);
      if (h === undefined) by.set(key, (h = { op: s.op, algorithm: s.algorithm, buckets: new Array<number>(s.buckets.length).fill(0), sum: 0 }));
      for (let i = 0; i < s.buckets.length; i++) h.buckets[i]! += s.buckets[i]!;
      h.sum += s.sum;
    }
    const out: CollectedValue[] = [];
    for (const h of by.values()) {
      const n = h.buckets.reduce((a, b) => a + b, 0);
      if (n === 0) continue;
      const labels = { op: h.op, algorithm: h.algorithm };
      let cum = 0;
      this.#bounds.forEach((le, i) => {
        cum += h.buckets[i]!;
        out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: cum });
      });
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: n });
      out.push({ metricName: `${name}_sum`, labels, value: h.sum });
      out.push({ metricName: `${name}_count`, labels, value: n });
    }
    return out;
  }

  authFailures(): CollectedValue[] {
    return [...this.#auth].map(([purpose, value]) => ({ labels: { purpose }, value }));
  }
}
