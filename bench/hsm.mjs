// HSM section of the benchmark: wrap/unwrap ops/s through the PKCS#11 bridge
// (pool sizes 1, 2, 4) and keyring encrypt with an HSM KEK, which should stay
// within 2x of a local KEK (docs/API.md "HSM key-encryption keys over PKCS#11").
// Called from run.mjs (`--only hsm`; in a full run only when SoftHSM2 is
// installed). Runs SoftHSM2 with a private token directory (its own
// SOFTHSM2_CONF in a temp dir, as test/hsm/softhsm.ts), never the system's.
//
// Rows: CKM_AES_KEY_WRAP_PAD wrap and unwrap of 32-byte data keys through
// Pkcs11Provider with pool sizes 1, 2 and 4 (all calls issued at once; the
// pool queues them), ops/s over the whole batch, median of ROUNDS rounds.
// Keyring: ring.encrypt of 64 B with the KEK in the HSM vs kek.fromKey,
// FIELDS sequential awaits per round; the purpose's data key is unwrapped
// once at open, so the HSM is not on the per-field path and the ratio
// should be ~1x (target: within 2x).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { tessera } from './impls.mjs';

const require = createRequire(import.meta.url);
const ROUNDS = 5;
const MODULES = ['/usr/lib/softhsm/libsofthsm2.so', `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/softhsm/libsofthsm2.so`];

/** Why the section cannot run here, or undefined. */
export function hsmUnavailable() {
  if (!MODULES.some((m) => existsSync(m))) return 'SoftHSM2 is not installed (apt-get install softhsm2)';
  if (spawnSync('softhsm2-util', ['--version']).status !== 0) return 'softhsm2-util not found (apt-get install softhsm2)';
  try {
    require('pkcs11js');
  } catch {
    return 'pkcs11js is not installed (npm install pkcs11js)';
  }
  return undefined;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function opsPerSec(n, fn) {
  const t0 = performance.now();
  await fn();
  return (n * 1000) / (performance.now() - t0);
}

export async function runHsm({ quick = false, log = console.log } = {}) {
  const t0 = performance.now();
  const why = hsmUnavailable();
  if (why) return { skipped: why, rows: [], durationS: 0 };
  const { Pkcs11Provider } = require('../dist/cjs/hsm/pkcs11.js');
  const { Keyring, FileKeyStore, kek } = tessera;
  const module = MODULES.find((m) => existsSync(m));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-hsm-'));
  const conf = path.join(dir, 'softhsm2.conf');
  mkdirSync(path.join(dir, 'tokens'));
  writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const prevConf = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const pin = crypto.randomBytes(8).toString('hex');
  const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--so-pin', `so${pin}`, '--pin', pin], {
    env: process.env,
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${init.stderr}`);
  const rows = [];
  const N = quick ? 400 : 2000;
  const FIELDS = quick ? 2000 : 10000;
  try {
    for (const pool of [1, 2, 4]) {
      const p = await Pkcs11Provider.open({ module, tokenLabel: 'bench', pin, pool });
      try {
        if (pool === 1) await p.generateKek({ label: 'bench-kek' });
        const keys = Array.from({ length: N }, () => crypto.randomBytes(32));
        let wrapped = await Promise.all(keys.map((k) => p.wrap('bench-kek', k))); // warm-up, opens the sessions
        const w = [];
        const u = [];
        for (let r = 0; r < ROUNDS; r++) {
          w.push(await opsPerSec(N, async () => (wrapped = await Promise.all(keys.map((k) => p.wrap('bench-kek', k))))));
          u.push(await opsPerSec(N, () => Promise.all(wrapped.map((x) => p.unwrap('bench-kek', x)))));
        }
        const back = await p.unwrap('bench-kek', wrapped[0]);
        if (!Buffer.from(back).equals(keys[0])) throw new Error('hsm bench self-check failed: unwrap');
        rows.push({ op: 'wrap', pool, calls: N, opsPerSec: median(w), rounds: w });
        rows.push({ op: 'unwrap', pool, calls: N, opsPerSec: median(u), rounds: u });
        log(`    pool ${pool}: wrap ${Math.round(median(w))} ops/s, unwrap ${Math.round(median(u))} ops/s`);
      } finally {
        await p.close();
      }
    }

    // Keyring encrypt of 64 B: KEK in the HSM vs a local KEK.
    const p = await Pkcs11Provider.open({ module, tokenLabel: 'bench', pin, pool: 4 });
    try {
      const rings = {
        hsm: await Keyring.open(new FileKeyStore(path.join(dir, 'hsm.json')), {
          kek: await p.kek({ label: 'ring-kek', create: true }),
          countFlushEvery: 100_000,
        }),
        local: await Keyring.open(new FileKeyStore(path.join(dir, 'local.json')), { kek: kek.fromKey(crypto.randomBytes(32)), countFlushEvery: 100_000 }),
      };
      const pt = crypto.randomBytes(64);
      for (const ring of Object.values(rings)) {
        const m = await ring.encrypt('fields', pt); // creates the purpose's data key (wrapped by the KEK)
        if (!Buffer.from(await ring.decrypt(m)).equals(pt)) throw new Error('hsm bench self-check failed: keyring round trip');
      }
      // Warm-up (JIT) for both, untimed.
      for (const ring of Object.values(rings)) for (let i = 0; i < FIELDS; i++) await ring.encrypt('fields', pt);
      const res = { hsm: [], local: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const name of r % 2 ? ['hsm', 'local'] : ['local', 'hsm']) {
          const ring = rings[name];
          res[name].push(
            await opsPerSec(FIELDS, async () => {
              for (let i = 0; i < FIELDS; i++) await ring.encrypt('fields', pt);
            }),
          );
        }
      }
      // A reopen: the data key is unwrapped by the HSM once, at open.
      const t1 = performance.now();
      const again = await Keyring.open(new FileKeyStore(path.join(dir, 'hsm.json')), { kek: await p.kek({ label: 'ring-kek' }) });
      const reopenMs = performance.now() - t1;
      await again.close();
      for (const ring of Object.values(rings)) await ring.close();
      const hsm = median(res.hsm);
      const local = median(res.local);
      rows.push({ op: 'keyring encrypt 64 B', kek: 'local (kek.fromKey)', calls: FIELDS, opsPerSec: local, rounds: res.local });
      rows.push({ op: 'keyring encrypt 64 B', kek: 'HSM (CKM_AES_KEY_WRAP_PAD)', calls: FIELDS, opsPerSec: hsm, rounds: res.hsm, ratioVsLocal: hsm / local });
      log(
        `    keyring encrypt 64 B: local KEK ${Math.round(local)}/s, HSM KEK ${Math.round(hsm)}/s (${(local / hsm).toFixed(2)}x slower); keyring reopen with the HSM KEK ${reopenMs.toFixed(1)} ms`,
      );
      return { rows, reopenMs, config: { quick, rounds: ROUNDS, calls: N, fields: FIELDS }, durationS: (performance.now() - t0) / 1000 };
    } finally {
      await p.close();
    }
  } finally {
    if (prevConf === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = prevConf;
    rmSync(dir, { recursive: true, force: true });
  }
}

export function hsmTargets(h) {
  const r = h.rows.find((q) => q.ratioVsLocal !== undefined);
  const slow = r ? 1 / r.ratioVsLocal : undefined;
  return [
    {
      name: 'Keyring ring.encrypt of 64 B with the KEK in a PKCS#11 HSM (SoftHSM2) vs a local KEK: slowdown',
      target: '<= 2x',
      value: slow,
      status: slow === undefined ? 'SKIP' : slow <= 2 ? 'PASS' : 'FAIL',
    },
  ];
}

export function printHsm(h, log = console.log) {
  if (h.skipped) return log(`\nHSM: skipped (${h.skipped})`);
  log('\nHSM (SoftHSM2, Pkcs11Provider; median of 5 rounds):');
  for (const r of h.rows)
    log(
      `  ${r.op.padEnd(22)} ${(r.pool !== undefined ? `pool ${r.pool}` : r.kek).padEnd(28)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s`,
    );
  for (const t of hsmTargets(h)) log(`  target ${t.target}: ${t.value === undefined ? 'n/a' : `${t.value.toFixed(2)}x`} ${t.status}`);
}
