// Targets and markdown for the chunked section (bench/chunked.mjs).
const KiB = 1024,
  MiB = 1024 * KiB,
  GiB = 1024 * MiB;

const int = (n) => Math.round(n).toLocaleString('en-US');
const ops = (n) => (n >= 100 ? int(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const gbps = (mbps) => (mbps / 1000).toFixed(2);
const x = (v) => (v === undefined ? '' : `${v.toFixed(2)}x`);
const pct = (v) => (v === undefined ? '' : `${(100 * v).toFixed(0)}%`);

const row = (ch, section, size, op, threads, kind) =>
  ch.rows.find(
    (r) =>
      r.section === section && r.size === size && r.op === op && r.impl === 'tessera' && r.threads === threads && r.kind === kind && r.opsPerSec !== undefined,
  );

/**
 * The chunked targets from the performance issue. Each carries the row it
 * belongs to (section/size/op/threads) so the table can show it.
 */
export function chunkedTargets(ch) {
  const out = [];
  const ratioTarget = (name, r, field, want, at) => {
    const v = r?.[field];
    out.push({ name, target: `>= ${want}x`, value: v, status: v === undefined ? 'SKIP' : v >= want ? 'PASS' : 'FAIL', at, field });
  };
  for (const size of [64 * MiB, GiB]) {
    for (const op of ['encrypt', 'decrypt']) {
      for (const kind of [undefined, 'async']) {
        const r = row(ch, 'buffer', size, op, 2, kind);
        if (!r && (size === GiB || kind)) continue; // 1 GiB: full runs only; async rows: 64 MiB
        const api = (op === 'encrypt' ? 'encryptChunked' : 'decryptChunked') + (kind === 'async' ? 'Async' : '');
        ratioTarget(`Cobblestone-256 ${size === GiB ? '1 GiB' : '64 MiB'} ${api} 2 threads vs 1 thread`, r, 'ratioVs1Thread', 1.8, {
          section: 'buffer',
          size,
          op,
          threads: 2,
          kind,
        });
        if (size === 64 * MiB && !kind)
          ratioTarget(`Cobblestone-256 64 MiB ${api} 2 threads vs node:crypto one-shot AES-256-GCM`, r, 'ratioVsNode', 12, {
            section: 'buffer',
            size,
            op,
            threads: 2,
          });
        if (size === 64 * MiB && !kind) {
          // Own kernels vs OpenSSL's on one thread: OpenSSL 3.0 (Node 20) has no VAES GCM, 3.5 (Node 22+) has.
          const want = process.versions.openssl.startsWith('3.0.') ? 1.8 : 1.0;
          ratioTarget(
            `Cobblestone-256 64 MiB ${api} 1 thread default kernel tier vs openssl tier`,
            row(ch, 'buffer', size, op, 1),
            'ratioVsOpensslTier',
            want,
            { section: 'buffer', size, op, threads: 1 },
          );
        }
      }
    }
  }
  for (const op of ['encrypt', 'decrypt']) {
    for (const threads of [1, 2]) {
      const r = row(ch, 'file', ch.file.size, op, threads);
      const v = r?.ratioVsCopy;
      const want = threads === 2 ? 0.95 : 0.6;
      out.push({
        name: `Cobblestone-256 ${ch.file.sizeLabel} ${op}File threads ${threads} throughput vs copyFile + fsync`,
        target: `>= ${100 * want}% of copy`,
        value: v === undefined ? undefined : 100 * v,
        unit: '% of copy',
        status: v === undefined ? 'SKIP' : v >= want ? 'PASS' : 'FAIL',
        at: { section: 'file', size: ch.file.size, op, threads },
        field: 'ratioVsCopy',
      });
    }
  }
  for (const e of ch.eventLoop.runs) {
    const name = `${e.workload}, ${e.sizeLabel}, threads ${e.threads}: event-loop delay`;
    out.push({ name: `${name} p99`, target: '<= 2 ms', value: e.p99, unit: 'ms', status: e.p99 <= 2 ? 'PASS' : 'FAIL' });
    out.push({ name: `${name} max`, target: '<= 5 ms', value: e.max, unit: 'ms', status: e.max <= 5 ? 'PASS' : 'FAIL' });
  }
  return out;
}

const targetsFor = (targets, r) =>
  targets.filter((t) => t.at && t.at.section === r.section && t.at.size === r.size && t.at.op === r.op && t.at.threads === r.threads && t.at.kind === r.kind);
const shortTarget = (t) => {
  const what = { ratioVs1Thread: 'vs 1 thread', ratioVsNode: 'vs one-shot', ratioVsCopy: 'of copy' }[t.field] ?? '';
  const want = t.target.replace(/ of copy$/, '');
  return `${want} ${what}: ${t.status === 'PASS' ? 'met' : t.status === 'FAIL' ? '**not met**' : 'not measured'}`;
};

function loopLines(ch) {
  const { idle, runs, allocOnly: a } = ch.eventLoop;
  const L = [
    idle.samples
      ? `idle (nothing running, ${idle.durationMs / 1000} s, ${idle.samples} samples): p50 ${idle.p50.toFixed(2)} ms, p99 ${idle.p99.toFixed(2)} ms, max ${idle.max.toFixed(2)} ms — the floor, since every sample includes the 1 ms interval`
      : 'idle: no samples (the loop was blocked for the whole window)',
  ];
  for (const e of runs) {
    L.push(
      `${e.workload}, ${e.sizeLabel}, threads ${e.threads}: ${e.steps} steps in ${(e.wallMs / 1000).toFixed(1)} s (${int(e.MBps)} MB/s); event-loop delay p50 ${e.p50.toFixed(2)} ms, p99 **${e.p99.toFixed(2)} ms**, max ${e.max.toFixed(2)} ms; ` +
        (e.submitMs ? `synchronous part of a call ${e.submitMs.mean.toFixed(2)} ms mean (max ${e.submitMs.max.toFixed(2)}); ` : '') +
        `GC: ${e.gc.count} pauses, max ${e.gc.maxMs.toFixed(1)} ms, total ${e.gc.totalMs.toFixed(0)} ms`,
    );
  }
  if (ch.eventLoop.submit1KiBMs !== undefined)
    L.push(`synchronous part of encryptChunkedAsync on 1 KiB (no large output to allocate): ${ch.eventLoop.submit1KiBMs.toFixed(3)} ms median`);
  if (a) {
    L.push(
      `reference, no crypto: allocating the same two fresh 64 MiB outputs per ${a.periodMs.toFixed(1)} ms (${a.pairs} pairs): event-loop delay p50 ${a.p50.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} ms, max ${a.max.toFixed(2)} ms; ` +
        `GC: ${a.gc.count} pauses, max ${a.gc.maxMs.toFixed(1)} ms, total ${a.gc.totalMs.toFixed(0)} ms`,
    );
  }
  return L;
}

const msFmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const msCell = (r) => (r.msPerCall ? `${msFmt(r.msPerCall.median)} (${msFmt(r.msPerCall.min)}–${msFmt(r.msPerCall.max)})` : '');

const tasks = (chunks) => (chunks <= 32 ? '1 (caller only)' : String(Math.ceil(chunks / 32)));

export function chunkedMarkdown(ch, targets) {
  const L = [];
  L.push('## Chunked (Cobblestone-256)');
  L.push('');
  L.push(
    `Cobblestone-256 (c2sp.org/chunked-encryption: HKDF-SHA-512, AES-256-GCM, 16 KiB chunks), the default suite. Worker pool size ${ch.config.pool.size} (${ch.config.pool.cpus} CPUs). ` +
      'All ratios are same-run. node:crypto one-shot is a single AES-256-GCM message over the whole buffer (`createCipheriv` + `update` + `final` + `getAuthTag`, outputs not concatenated); ' +
      'the JS chunked loop is a straightforward Cobblestone-256 on node:crypto (one `createCipheriv` per 16 KiB chunk with the XORed nonce, written into an output allocated once per call), checked to interoperate with tessera both ways. ' +
      'Timing: every case runs once per pass, passes alternate the case order, and a row is the median pass (garbage collected, untimed, before each run); ' +
      "this fine interleaving (rather than tinybench's one block per task) keeps this VM's drifting cost of first-touching fresh memory, which most outputs here pay, out of the ratios. " +
      `Files: ${ch.file.sizeLabel} of random data in a directory under os.tmpdir() on the same disk; inputs are page-cache-warm (written just before; each operation run ${ch.file.reps} times, interleaved, median), ` +
      'every output is fsynced (encryptFile/decryptFile fsync their output file and its directory, so the copy baseline is `copyFile` then fsync of the copy and the directory). GB/s counts plaintext bytes (10^9).',
  );
  for (const n of ch.notes) L.push('', `Note: ${n}.`);
  L.push('');
  L.push(
    '| size | op | implementation | ops/s | GB/s | ms per call: median (min–max) | vs 1 thread | vs node:crypto one-shot | vs JS chunked loop | vs copy | target | method |',
  );
  L.push('|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|');
  for (const r of ch.rows) {
    const base = r.baseline === 'node' || r.baseline === 'js' || r.baseline === 'copy';
    const impl = `${r.impl} ${r.api}`.replace(/\|/g, '\\|');
    const tg = targetsFor(targets, r).map(shortTarget).join('; ');
    const b = (v, f) => (v === undefined ? '' : `**${f(v)}**`);
    L.push(
      `| ${r.section === 'file' ? `${r.sizeLabel} file` : r.section === 'buffer-nogc' ? `${r.sizeLabel}, no forced GC` : r.sizeLabel} | ${r.op} | ${impl} | ${r.opsPerSec !== undefined ? ops(r.opsPerSec) : (r.error ?? r.state)} | ${r.MBps !== undefined ? gbps(r.MBps) : ''} | ${msCell(r)} | ` +
        `${b(r.ratioVs1Thread, x)} | ${r.baseline === 'node' ? '1.00x (baseline)' : b(r.ratioVsNode, x)} | ${r.baseline === 'js' ? '1.00x (baseline)' : b(r.ratioVsJs, x)} | ` +
        `${r.baseline === 'copy' ? '100% (baseline)' : b(r.ratioVsCopy, pct)} | ${tg} | ${base || r.impl === 'tessera' || r.reference ? r.method : ''} |`,
    );
  }
  L.push('');
  L.push(
    'Rows marked "no forced GC" repeat the 64 MiB tessera and one-shot calls back to back without collecting garbage between runs: outputs are then freed whenever V8 collects, so tessera\'s output block cache (outputs from 1 MiB) is often empty and a call faults in fresh pages, as in a busy process. The targets are checked on the main rows.',
  );
  L.push('');
  L.push(
    'The `(reference)` row is not a competitor: it is the cost of allocating and first-touching a fresh 64 MiB buffer (page faults, on this VM a large share of any 64 MiB call), which node:crypto and the JS loop pay for every output, and tessera pays only when its output memory has no free block of the size.',
  );
  L.push('');
  L.push(
    'Where the second thread starts paying off: `encryptChunked` at 2 threads vs 1 thread (same run). ' +
      'The pool cuts a message into tasks of TSR_CHUNKED_BATCH = 32 chunks (512 KiB, a compile-time constant in native/pool/tsr_chunked_pool.h); ' +
      'a message of 32 chunks or fewer runs on the calling thread only, so below 512 KiB the two columns measure the same code.',
  );
  L.push('');
  L.push('| plaintext | chunks | pool tasks | 1 thread GB/s | 2 threads GB/s | 2 threads / 1 thread | method |');
  L.push('|--:|--:|--:|--:|--:|--:|---|');
  for (const s of ch.sweep)
    L.push(
      `| ${s.sizeLabel} | ${s.chunks} | ${tasks(s.chunks)} | ${gbps(s.t1.MBps)} | ${gbps(s.t2.MBps)} | **${x(s.ratio)}** | ${s.t1.method}, ${s.t1.callsPerSample} call${s.t1.callsPerSample === 1 ? '' : 's'} per sample |`,
    );
  L.push('');
  L.push(
    'Event loop while each workload encrypts and decrypts back to back (bench/loop.mjs: `perf_hooks.monitorEventLoopDelay({ resolution: 1 })`; each sample is the time between 1 ms timer ticks, so an idle loop reads about 1 ms; streams are fed 1 MiB pieces and drained at once):',
  );
  L.push('');
  for (const l of loopLines(ch)) L.push(`- ${l}`);
  L.push('');
  return L.join('\n');
}
