// Benchmark floors: conservative lower bounds on same-run ratios, per Node
// major, kept in bench/floors.json with the measured value and date beside
// each. `npm run bench -- --ci` fails when a ratio falls under its floor.
//
// Update (README "Benchmarks: floors" says when):
//   node bench/floors.mjs --update <latest.json> [--factor 0.6] [--id <id> ...]
// sets each floored id's floor for every Node major in the result set to
// factor x the measured ratio (rounded down to 0.05), keeping the ids listed
// in FLOORED below; other ids keep their values.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { nodeMajor, ratiosOf } from './ratios.mjs';

export const FLOORS_FILE = join(dirname(fileURLToPath(import.meta.url)), 'floors.json');

/** The ratios that carry a floor: what a regression in tessera would move. */
const FLOORED = [
  /^aes-256-gcm (64 B|1 KiB|16 KiB|1 MiB) (seal|open): tessera native key\.(seal|open)Into \/ node:crypto$/,
  /^aes-256-gcm (64 B|1 MiB) (seal|open): tessera native key\.(seal|open) \/ node:crypto$/,
  /^chacha20-poly1305 (64 B|16 KiB|1 MiB) (seal|open): tessera native key\.(seal|open)Into \/ node:crypto$/,
  /^chacha20-poly1305 64 B seal: tessera native key\.sealInto \/ sodium-native \(message\)$/,
  /^xchacha20-poly1305 (64 B|16 KiB) seal: tessera native key\.sealInto \/ sodium-native \(message\)$/,
  /^xaes-256-gcm (64 B|1 MiB) seal: tessera native key\.sealInto \/ node:crypto \(aes-256-gcm\)$/,
  /^aes-256-gcm 64 B seal: tessera native key\.sealBatch/,
  /^(aes-256-gcm|chacha20-poly1305) (16 KiB|1 MiB) seal: tessera wasm simd AeadKey\.seal \/ @noble\/ciphers$/,
  /^chacha20-poly1305 (16 KiB|1 MiB) seal: tessera wasm (simd|scalar) AeadKey\.seal \/ libsodium-wrappers$/,
  /^Cobblestone-256 64 MiB (encrypt|decrypt)Chunked 2 threads vs (1 thread|node:crypto one-shot AES-256-GCM)$/,
  /^Keyring ring\.encrypt of 64 B fields/,
  /^Keyring ring\.encrypt of 64 B with the KEK in a PKCS#11 HSM/,
];

export function loadFloors(file = FLOORS_FILE) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * Checks every run of a result set against the floors of its Node major.
 * Returns { checked: [{ node, id, value, floor, ok }], notes: [string] }.
 */
export function checkFloors(set, floors = loadFloors()) {
  const checked = [], notes = [];
  for (const run of set.runs) {
    const major = nodeMajor(run);
    const have = new Map(ratiosOf(run).map((r) => [r.id, r.value]));
    const sections = new Set(run.config.sections);
    let n = 0;
    for (const [id, per] of Object.entries(floors.floors)) {
      const f = per[major];
      if (!f) continue;
      if (!sections.has(f.section)) continue; // a section this run did not include (--only / --skip)
      n++;
      const value = have.get(id);
      checked.push({ node: major, id, value, floor: f.floor, measured: f.measured, ok: value !== undefined && value >= f.floor });
    }
    if (n === 0) notes.push(`Node ${major}: no floors recorded for this Node major (floors exist for ${majorsOf(floors).join(', ')})`);
  }
  return { checked, notes };
}

const majorsOf = (floors) => [...new Set(Object.values(floors.floors).flatMap((p) => Object.keys(p)))].sort();

function update(resultFile, factor, only) {
  const set = JSON.parse(readFileSync(resultFile, 'utf8'));
  const floors = (() => { try { return loadFloors(); } catch { return { floors: {} }; } })();
  floors.comment = 'Floors on same-run ratios, per Node major (bench/floors.mjs). floor = conservative bound checked by `npm run bench -- --ci`; measured = the ratio it was set from, on date, by the run named in `source`.';
  let n = 0;
  for (const run of set.runs) {
    const major = nodeMajor(run);
    for (const r of ratiosOf(run)) {
      if (!FLOORED.some((re) => re.test(r.id))) continue;
      if (only.length && !only.includes(r.id)) continue;
      floors.floors[r.id] ??= {};
      floors.floors[r.id][major] = {
        floor: Math.floor((r.value * factor) / 0.05) * 0.05 || 0.05,
        measured: +r.value.toFixed(3),
        date: run.machine.date.slice(0, 10),
        section: r.section,
        source: `${set.profile} run, Node ${run.machine.node}, ${set.machine.cpuModel}`,
      };
      floors.floors[r.id][major].floor = +floors.floors[r.id][major].floor.toFixed(2);
      n++;
    }
  }
  floors.floors = Object.fromEntries(Object.entries(floors.floors).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(FLOORS_FILE, JSON.stringify(floors, null, 1) + '\n');
  console.log(`bench/floors.json: ${n} floors set from ${resultFile} (factor ${factor})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const i = a.indexOf('--update');
  if (i < 0 || !a[i + 1]) {
    console.error('usage: node bench/floors.mjs --update <latest.json> [--factor 0.6] [--id <ratio id> ...]');
    process.exit(2);
  }
  const f = a.indexOf('--factor');
  const ids = a.flatMap((x, k) => (x === '--id' ? [a[k + 1]] : []));
  update(a[i + 1], f >= 0 ? Number(a[f + 1]) : 0.6, ids);
}
