// Benchmark floors: conservative lower bounds on same-run ratios, per Node
// major, kept in bench/floors.json with the measured value and date beside
// each. `npm run bench -- --ci` fails when a ratio falls under its floor.
//
// Update (docs/BENCHMARKS.md "Floors" says when):
//   node bench/floors.mjs --update <latest.json> [<latest.json> ...] [--factor 0.6] [--id <id> ...]
// sets each floored id's floor for every Node major in the result sets to
// factor x the lowest measured ratio (rounded down to 0.05), for the ids
// matched by FLOORED below; other ids keep their values.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { nodeMajor, ratiosOf } from './ratios.mjs';

export const FLOORS_FILE = join(dirname(fileURLToPath(import.meta.url)), 'floors.json');

/**
 * The ratios that carry a floor: what a regression in tessera would move.
 * Not the allocating 64 MiB encryptChunked / decryptChunked rows: their runs
 * are bimodal (a warm or a fresh output block), docs/BENCHMARKS.md "Floors".
 */
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
  /^aes-256-gcm (16 KiB|1 MiB) (seal|open): tessera vaes512 key\.(seal|open)Into \/ tessera openssl key\.(seal|open)Into$/,
  /^chacha20-poly1305 (16 KiB|1 MiB) (seal|open): tessera vaes512 key\.(seal|open)Into \/ tessera openssl key\.(seal|open)Into$/,
  /^Keyring ring\.encrypt of 64 B fields/,
  /^Keyring ring\.encrypt of 64 B with the KEK in a PKCS#11 HSM/,
  /^Keyring ring\.encrypt of 64 B with the KEK in AWS KMS/,
  /^Keyring ring\.encrypt of 64 B with metrics bound/,
];

export function loadFloors(file = FLOORS_FILE) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * Checks every run of a result set against the floors of its Node major.
 * Returns { checked: [{ node, id, value, floor, ok }], notes: [string] }.
 */
export function checkFloors(set, floors = loadFloors()) {
  const checked = [],
    notes = [];
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

function update(resultFiles, factor, only) {
  const floors = (() => {
    try {
      return loadFloors();
    } catch {
      return { floors: {} };
    }
  })();
  floors.comment =
    'Floors on same-run ratios, per Node major (bench/floors.mjs). floor = conservative bound checked by `npm run bench -- --ci`; measured = the lowest ratio of the runs it was set from, on date.';
  const low = new Map(); // `${id}\0${major}` -> { r, run, set }
  for (const file of resultFiles) {
    const set = JSON.parse(readFileSync(file, 'utf8'));
    for (const run of set.runs) {
      for (const r of ratiosOf(run)) {
        if (!FLOORED.some((re) => re.test(r.id)) || (only.length && !only.includes(r.id))) continue;
        const k = `${r.id}\0${nodeMajor(run)}`;
        if (!low.has(k) || r.value < low.get(k).r.value) low.set(k, { r, run, set });
      }
    }
  }
  for (const [k, { r, run, set }] of low) {
    const major = k.split('\0')[1];
    floors.floors[r.id] ??= {};
    floors.floors[r.id][major] = {
      floor: +Math.max(0.05, Math.floor((r.value * factor) / 0.05) * 0.05).toFixed(2),
      measured: +r.value.toFixed(3),
      date: run.machine.date.slice(0, 10),
      section: r.section,
      source: `lowest of ${resultFiles.length} ${set.profile} run(s), Node ${run.machine.node}, ${set.machine.cpuModel}`,
    };
  }
  floors.floors = Object.fromEntries(Object.entries(floors.floors).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(FLOORS_FILE, JSON.stringify(floors, null, 1) + '\n');
  console.log(`bench/floors.json: ${low.size} floors set from ${resultFiles.join(', ')} (factor ${factor})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const files = [],
    ids = [];
  let factor = 0.6,
    mode;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--update') mode = 'update';
    else if (a[i] === '--factor') factor = Number(a[++i]);
    else if (a[i] === '--id') ids.push(a[++i]);
    else files.push(a[i]);
  }
  if (mode !== 'update' || files.length === 0 || !(factor > 0 && factor <= 1)) {
    console.error('usage: node bench/floors.mjs --update <latest.json> [<latest.json> ...] [--factor 0.6] [--id <ratio id> ...]');
    process.exit(2);
  }
  update(files, factor, ids);
}
