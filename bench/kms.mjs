// KMS section of the benchmark: a keyring whose KEK is in AWS KMS (the
// official @aws-sdk/client-kms KMSClient, SigV4 and HTTP included, against
// the repo's KMS protocol server test/kms/aws-kms-server.ts on 127.0.0.1)
// vs the same keyring with a local KEK (docs/API.md "Key manager"; target: the
// KMS ring encrypts 64 B at >= 0.9x the local ring with a warm data-key
// cache), and how many KMS calls 10^5 messages cost under the default
// policy (Keyring.open defaults: data keys unwrapped once and held, use
// counts flushed every 1000 uses; the flush is a store commit, not a KMS
// call).
// Called from run.mjs (`--only kms`). The protocol server is TypeScript:
// it is transpiled with the repo's own `typescript` into a temp file, so
// this runs on Node versions without type stripping.
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { tessera } from './impls.mjs';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
// Many short alternating rounds, median of each side: a store flush (fsync)
// or another process's burst lands in a few rounds, not in one side's total.
const ROUNDS = 41;
const FIELDS = 500; // sequential awaits per round
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** Why the section cannot run here, or undefined. */
export function kmsUnavailable() {
  for (const m of ['@aws-sdk/client-kms', 'typescript']) {
    try {
      require.resolve(m);
    } catch {
      return `${m} is not installed (npm ci installs it as a devDependency)`;
    }
  }
  return undefined;
}

async function loadServer(dir) {
  const ts = require('typescript');
  const src = readFileSync(path.join(HERE, '../test/kms/aws-kms-server.ts'), 'utf8');
  const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const file = path.join(dir, 'aws-kms-server.mjs');
  writeFileSync(file, out);
  return import(pathToFileURL(file).href);
}

export async function runKms({ quick = false, log = console.log } = {}) {
  const t0 = performance.now();
  const why = kmsUnavailable();
  if (why) return { skipped: why, rows: [], durationS: 0 };
  const { KMSClient } = require('@aws-sdk/client-kms');
  const { Keyring, FileKeyStore, kek } = tessera;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-kms-'));
  const { startKms } = await loadServer(dir);
  const kms = await startKms(['bench']);
  const client = new KMSClient({
    endpoint: kms.url,
    region: kms.region,
    credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  const kmsKek = () => kek.awsKms({ client, keyId: kms.arn('bench') });
  const localKey = crypto.randomBytes(32);
  try {
    const calls0 = kms.requests.length;
    const tOpen = performance.now();
    const rings = {
      kms: await Keyring.open(new FileKeyStore(path.join(dir, 'kms.json')), { kek: kmsKek() }),
      local: await Keyring.open(new FileKeyStore(path.join(dir, 'local.json')), { kek: kek.fromKey(localKey) }),
    };
    const pt = crypto.randomBytes(64);
    for (const ring of Object.values(rings)) {
      const m = await ring.encrypt('fields', pt); // creates the purpose's data key (wrapped by the KEK)
      if (!Buffer.from(await ring.decrypt(m)).equals(pt)) throw new Error('kms bench self-check failed: keyring round trip');
    }
    const setupCalls = kms.requests.length - calls0;
    const setupMs = performance.now() - tOpen;

    // KMS calls per 10^5 messages (10^4 in --quick, scaled), default policy.
    const MESSAGES = quick ? 10_000 : 100_000;
    const before = kms.requests.length;
    for (let i = 0; i < MESSAGES; i++) await rings.kms.encrypt('fields', pt);
    const callsPer1e5 = ((kms.requests.length - before) * 100_000) / MESSAGES;
    for (let i = 0; i < MESSAGES; i++) await rings.local.encrypt('fields', pt); // the same warm-up for the other side

    const res = { kms: [], local: [] };
    const rounds = quick ? 15 : ROUNDS;
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 ? ['kms', 'local'] : ['local', 'kms']) {
        const ring = rings[name];
        const s = performance.now();
        for (let i = 0; i < FIELDS; i++) await ring.encrypt('fields', pt);
        res[name].push((FIELDS * 1000) / (performance.now() - s));
      }
    }
    // A cold reopen: one KMS Decrypt of the keyring's MAC key and one per data key.
    for (const ring of Object.values(rings)) await ring.close();
    const c1 = kms.requests.length;
    const t1 = performance.now();
    const again = await Keyring.open(new FileKeyStore(path.join(dir, 'kms.json')), { kek: kmsKek() });
    if (!Buffer.from(await again.decrypt(await again.encrypt('fields', pt))).equals(pt)) throw new Error('kms bench self-check failed: reopen');
    const reopenMs = performance.now() - t1;
    const reopenCalls = kms.requests.length - c1;
    await again.close();

    const k = median(res.kms);
    const l = median(res.local);
    const rows = [
      { op: 'keyring encrypt 64 B', kek: 'local (kek.fromKey)', opsPerSec: l, rounds: res.local },
      { op: 'keyring encrypt 64 B', kek: 'AWS KMS (kek.awsKms, SDK client)', opsPerSec: k, rounds: res.kms, ratioVsLocal: k / l },
    ];
    log(
      `    keyring encrypt 64 B: local KEK ${Math.round(l)}/s, AWS KMS KEK ${Math.round(k)}/s (${(k / l).toFixed(2)}x); KMS calls per 1e5 messages ${callsPer1e5}; setup ${setupCalls} calls (${setupMs.toFixed(1)} ms); reopen ${reopenCalls} calls (${reopenMs.toFixed(1)} ms)`,
    );
    return {
      rows,
      callsPer1e5,
      setupCalls,
      reopenCalls,
      reopenMs,
      config: {
        quick,
        rounds,
        fieldsPerRound: FIELDS,
        messagesCounted: MESSAGES,
        server: 'test/kms/aws-kms-server.ts on 127.0.0.1 (HTTP)',
        client: '@aws-sdk/client-kms KMSClient, maxAttempts 1',
      },
      durationS: (performance.now() - t0) / 1000,
    };
  } finally {
    client.destroy?.();
    await kms.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function kmsTargets(k) {
  const r = k.rows.find((q) => q.ratioVsLocal !== undefined);
  return [
    {
      name: 'Keyring ring.encrypt of 64 B with the KEK in AWS KMS vs a local KEK (warm data-key cache)',
      target: '>= 0.9x',
      value: r?.ratioVsLocal,
      status: r === undefined ? 'SKIP' : r.ratioVsLocal >= 0.9 ? 'PASS' : 'FAIL',
    },
  ];
}

export function printKms(k, log = console.log) {
  if (k.skipped) return log(`\nKMS: skipped (${k.skipped})`);
  log(`\nKMS (AWS KMS protocol server, official SDK client; median of ${k.config.rounds} rounds):`);
  for (const r of k.rows) log(`  ${r.op.padEnd(22)} ${r.kek.padEnd(34)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s`);
  log(`  KMS calls per 10^5 messages: ${k.callsPer1e5} (setup ${k.setupCalls}, cold reopen ${k.reopenCalls} in ${k.reopenMs.toFixed(1)} ms)`);
  for (const t of kmsTargets(k)) log(`  target ${t.target}: ${t.value === undefined ? 'n/a' : `${t.value.toFixed(2)}x`} ${t.status}`);
}
