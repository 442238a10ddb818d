// The figures the benchmark checks and compares: every ratio measured in one
// run (tessera vs a peer in the same process, N threads vs 1, one tier vs
// another), each under a stable id. Floors (bench/floors.json) and
// `--compare` work on these ids; absolute times are reported, never checked.
import { sizeLabel } from './report.mjs';

const BASE_ALG = { 'xchacha20-poly1305': 'chacha20-poly1305', 'xaes-256-gcm': 'aes-256-gcm' };

/** The AEAD rows' APIs that get ratios against every peer (the rest only against node:crypto). */
const HEADLINE_API = new Set(['key.sealInto', 'key.openInto', 'key.seal', 'key.open']);

/** [{ id, value, section }] of one run (see bench/suite.mjs for its shape). */
export function ratiosOf(run) {
  const out = [];
  const add = (section, id, value) => {
    if (typeof value === 'number' && Number.isFinite(value)) out.push({ section, id, value });
  };
  const rows = run.rows ?? [];
  for (const r of rows) {
    if (r.impl !== 'tessera' || r.opsPerSec === undefined) continue;
    const at = `${r.alg} ${r.sizeLabel} ${r.op}`;
    add('aead', `${at}: tessera native ${r.api} / node:crypto${r.ratioNote ? ` (${BASE_ALG[r.alg]})` : ''}`, r.ratio);
    if (r.ratioSodium !== undefined) add('aead', `${at}: tessera native ${r.api} / sodium-native (${r.pair})`, r.ratioSodium);
    if (HEADLINE_API.has(r.api)) {
      const noble = rows.find((b) => b.impl === '@noble/ciphers' && b.alg === r.alg && b.size === r.size && b.op === r.op && b.opsPerSec);
      if (noble) add('aead', `${at}: tessera native ${r.api} / @noble/ciphers`, r.opsPerSec / noble.opsPerSec);
      const sod = rows.find((b) => b.impl === 'sodium-native' && b.pair === 'message' && b.alg === r.alg && b.size === r.size && b.op === r.op && b.opsPerSec);
      if (sod && r.ratioSodium === undefined) add('aead', `${at}: tessera native ${r.api} / sodium-native (message)`, r.opsPerSec / sod.opsPerSec);
    }
  }
  // Kernel tiers against the openssl tier, same API, same run.
  for (const r of rows) {
    const m = /^tessera (\w+)$/.exec(r.impl);
    if (!m || m[1] === 'openssl' || r.opsPerSec === undefined) continue;
    const o = rows.find((b) => b.impl === 'tessera openssl' && b.alg === r.alg && b.size === r.size && b.op === r.op && b.api === r.api && b.opsPerSec);
    if (o) add('tiers', `${r.alg} ${r.sizeLabel} ${r.op}: tessera ${m[1]} ${r.api} / tessera openssl ${r.api}`, r.opsPerSec / o.opsPerSec);
  }
  for (const [flavor, child] of Object.entries(run.wasm?.node ?? {})) {
    for (const r of child?.rows ?? []) {
      if (r.role !== 'key' && r.role !== 'raw') continue;
      const at = `${r.alg} ${sizeLabel(r.size)} ${r.op}: tessera wasm ${flavor} ${r.role === 'key' ? 'AeadKey' : 'aead'}.${r.op}`;
      add('wasm', `${at} / node:crypto`, r.vsNode);
      add('wasm', `${at} / libsodium-wrappers`, r.vsSodium);
      add('wasm', `${at} / @noble/ciphers`, r.vsNoble);
    }
  }
  for (const t of run.targets ?? []) {
    if (t.unit === undefined) add(sectionOf(t.name), t.name, t.value);
    else if (t.unit === '% of copy' && t.value !== undefined) add('chunked', t.name.replace(/throughput vs/, 'throughput / '), t.value / 100);
  }
  return out;
}

function sectionOf(name) {
  if (name.startsWith('Cobblestone')) return 'chunked';
  if (name.startsWith('wasm')) return 'wasm';
  if (name.startsWith('Keyring') && name.includes('HSM')) return 'hsm';
  if (name.startsWith('Keyring') && name.includes('KMS')) return 'kms';
  if (name.startsWith('Keyring') && name.includes('metrics')) return 'metrics';
  if (name.startsWith('Keyring')) return 'keyring';
  return 'aead';
}

/** The Node major of a run ('20', '24', ...). */
export const nodeMajor = (run) => run.machine.node.replace(/^v/, '').split('.')[0];

/**
 * Each ratio of `now` (a result set) against the same id in `before` (an
 * earlier result set), run by run, matched by Node major. Returns
 * [{ node, id, before, after, change }] (change = after / before - 1).
 */
export function compareSets(before, now) {
  const out = [];
  for (const run of now.runs) {
    const major = nodeMajor(run);
    const old = before.runs?.find((r) => nodeMajor(r) === major);
    if (!old) continue;
    const prev = new Map(ratiosOf(old).map((r) => [r.id, r.value]));
    for (const r of ratiosOf(run)) {
      const b = prev.get(r.id);
      if (b !== undefined) out.push({ node: major, id: r.id, before: b, after: r.value, change: r.value / b - 1 });
    }
  }
  return out;
}
