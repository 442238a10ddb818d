// Metrics section of the benchmark: what tessera/metrics costs a keyring
// (docs/API.md "Metrics"; target: keyring encrypt of 64 B with the Prometheus
// binding bound >= 0.9x the same unbound). The same ring alternates rounds
// with a prom-client binding bound (every operation then builds an event,
// reads the clock twice and updates a counter, a byte counter and a
// histogram) and unbound (one `hasSubscribers` read per operation); median
// rounds per side. Called from run.mjs (`--only metrics`).
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { tessera } from './impls.mjs';

const require = createRequire(import.meta.url);
const ROUNDS = 21;
const FIELDS = 5000; // sequential awaits per round (long enough that a fresh subscription's warm-up is a small part)
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** Why the section cannot run here, or undefined. */
export function metricsUnavailable() {
  try {
    require.resolve('prom-client');
  } catch {
    return 'prom-client is not installed (npm ci installs it as a devDependency)';
  }
  return undefined;
}

export async function runMetrics({ quick = false, log = console.log } = {}) {
  const t0 = performance.now();
  const why = metricsUnavailable();
  if (why) return { skipped: why, rows: [], durationS: 0 };
  const { Registry } = require('prom-client');
  const { bindPrometheus } = require('../dist/cjs/metrics/index.js');
  const { Keyring, FileKeyStore, kek } = tessera;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-metrics-'));
  try {
    const ring = await Keyring.open(new FileKeyStore(path.join(dir, 'ring.json')), { kek: kek.fromKey(crypto.randomBytes(32)) });
    const aead = ring.aead('fields');
    const pt = crypto.randomBytes(64);
    const registry = new Registry();
    const check = bindPrometheus({ registry });
    if (!Buffer.from(await aead.decrypt(await aead.encrypt(pt))).equals(pt)) throw new Error('metrics bench self-check failed: round trip');
    if (!(await registry.metrics()).includes('tessera_operations_total{op="encrypt"')) throw new Error('metrics bench self-check failed: nothing recorded');
    check.unbind();
    for (let i = 0; i < 20_000; i++) await aead.encrypt(pt); // JIT warm-up, unbound
    const res = { bound: [], unbound: [] };
    const rounds = quick ? 11 : ROUNDS;
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 ? ['bound', 'unbound'] : ['unbound', 'bound']) {
        const b = side === 'bound' ? bindPrometheus({ registry: new Registry() }) : undefined;
        // Untimed first: a service binds once, so the warm-up of a fresh binding's code is not its cost.
        for (let i = 0; i < 2000; i++) await aead.encrypt(pt);
        const s = performance.now();
        for (let i = 0; i < FIELDS; i++) await aead.encrypt(pt);
        res[side].push((FIELDS * 1000) / (performance.now() - s));
        b?.unbind();
      }
    }
    await ring.close();
    const bound = median(res.bound);
    const unbound = median(res.unbound);
    const rows = [
      { op: 'keyring encrypt 64 B', metrics: 'unbound', opsPerSec: unbound, rounds: res.unbound },
      { op: 'keyring encrypt 64 B', metrics: 'prom-client bound', opsPerSec: bound, rounds: res.bound, ratioVsUnbound: bound / unbound },
    ];
    log(`    keyring encrypt 64 B: unbound ${Math.round(unbound)}/s, Prometheus binding bound ${Math.round(bound)}/s (${(bound / unbound).toFixed(2)}x)`);
    return { rows, config: { quick, rounds, fieldsPerRound: FIELDS }, durationS: (performance.now() - t0) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function metricsTargets(m) {
  const r = m.rows.find((q) => q.ratioVsUnbound !== undefined);
  return [
    {
      name: 'Keyring ring.encrypt of 64 B with metrics bound (prom-client) vs unbound',
      target: '>= 0.9x',
      value: r?.ratioVsUnbound,
      status: r === undefined ? 'SKIP' : r.ratioVsUnbound >= 0.9 ? 'PASS' : 'FAIL',
    },
  ];
}
