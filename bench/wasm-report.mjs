// Targets and markdown for the wasm section (bench/wasm.mjs).
const KiB = 1024,
  MiB = 1024 * KiB;
const CHACHA = 'chacha20-poly1305',
  AES = 'aes-256-gcm';

const int = (n) => Math.round(n).toLocaleString('en-US');
const ops = (n) => (n >= 100 ? int(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const mbps = (n) => (n >= 100 ? int(n) : n.toFixed(1));
const x = (v) => (v === undefined ? '' : `${v.toFixed(2)}x`);
const msFmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ENV_NAME = { node: 'Node', chromium: 'Chromium' };
const CONTENTION = 10; // % of the machine's CPU used by other processes before a run is flagged

/** The environments that ran: [{ key, name, r }] for Node and Chromium, simd then scalar. */
function envs(w) {
  const out = [];
  for (const [env, src] of [
    ['node', w.node],
    ['chromium', w.browser],
  ]) {
    for (const k of ['simd', 'simdWasmWorkers', 'scalar']) {
      const flavor = k === 'scalar' ? 'scalar' : 'simd';
      if (k === 'simdWasmWorkers' && !src?.[k]) continue;
      const r = src?.[k] ?? (src?.error ? { env, flavor, error: src.error } : undefined);
      const ver = env === 'chromium' && w.browser?.version ? ` ${w.browser.version}` : env === 'node' && r?.info ? ` ${r.info.node}` : '';
      const variant =
        k === 'simdWasmWorkers'
          ? ", init({ webCrypto: false }): pool workers on the module's AES"
          : env === 'chromium' && k === 'simd' && r?.info?.webCryptoOption
            ? " (default init: async Cobblestone on crypto.subtle AES-GCM from the page's thread, no pool)"
            : '';
      if (r)
        out.push({
          key: `${env} ${k}`,
          name: `${ENV_NAME[env]}${ver}, ${flavor} module${variant}`,
          short: `${ENV_NAME[env]}${ver} (${flavor}${k === 'simdWasmWorkers' ? ', webCrypto: false' : ''})`,
          r: { env, ...r },
        });
    }
  }
  return out;
}

const aeadRow = (r, alg, size, op) => r.rows?.find((b) => b.role === 'raw' && b.alg === alg && b.size === size && b.op === op && b.opsPerSec);
const chunkRow = (r, op, threads) => r.chunked?.rows?.find((b) => b.impl === 'tessera' && b.op === op && b.threads === threads && !b.reference && b.opsPerSec);

/** Adds the chunked ratios in place: 2 workers vs 1, and WebCrypto vs tessera. */
function chunkedRatios(r) {
  for (const b of r.chunked?.rows ?? []) {
    const t1 = chunkRow(r, b.op, 1),
      t2 = chunkRow(r, b.op, 2);
    if (b.impl === 'tessera' && b.threads === 2 && t1) b.vs1Worker = b.opsPerSec / t1.opsPerSec;
    if (b.role === 'webcrypto' && t2) b.webCryptoVsTessera = b.opsPerSec / t2.opsPerSec;
  }
}

/**
 * The targets of the wasm issue, on the simd module in each environment
 * (the scalar rows are reported, not judged). Each names the row it is
 * checked on (at) so the tables can mark it.
 */
export function wasmTargets(w) {
  const out = [];
  for (const { key, short: env, r } of envs(w)) {
    if (r.flavor !== 'simd') continue;
    chunkedRatios(r);
    const push = (label, v, want, at, field) =>
      out.push({
        name: `wasm ${env}: ${label}`,
        target: `>= ${want}x`,
        value: v,
        status: v === undefined ? 'SKIP' : v >= want ? 'PASS' : 'FAIL',
        at: { env: key, ...at },
        field,
        want,
      });
    for (const size of r.variant === 'wasm-workers' ? [] : [16 * KiB, MiB]) {
      // that page runs Cobblestone only
      for (const op of ['seal', 'open']) {
        const c = aeadRow(r, CHACHA, size, op);
        const sz = size === MiB ? '1 MiB' : '16 KiB';
        push(`ChaCha20-Poly1305 ${sz} aead.${op} vs libsodium-wrappers`, c?.vsSodium, 1.3, { alg: CHACHA, size, op }, 'vsSodium');
        push(`ChaCha20-Poly1305 ${sz} aead.${op} vs @noble/ciphers`, c?.vsNoble, 4, { alg: CHACHA, size, op }, 'vsNoble');
        push(`AES-256-GCM ${sz} aead.${op} vs @noble/ciphers`, aeadRow(r, AES, size, op)?.vsNoble, 2, { alg: AES, size, op }, 'vsNoble');
      }
    }
    // The worker target is judged where the pool does the work: not on the
    // default Chromium page, whose async Cobblestone runs on crypto.subtle
    // from the page's thread (threads has no effect there).
    const poolOnSubtle = r.env === 'chromium' && r.variant !== 'wasm-workers' && r.info?.webCryptoOption;
    for (const op of (r.chunked || r.error) && !poolOnSubtle ? ['encrypt', 'decrypt'] : []) {
      const api = op === 'encrypt' ? 'encryptChunkedAsync' : 'decryptChunkedAsync';
      push(`Cobblestone-256 16 MiB ${api} 2 workers vs 1 worker`, chunkRow(r, op, 2)?.vs1Worker, 1.6, { chunked: true, op, threads: 2 }, 'vs1Worker');
    }
  }
  return out;
}

const targetsAt = (targets, key, pred) => targets.filter((t) => t.at?.env === key && pred(t.at));
const mark = (t) =>
  `${t.target} ${t.field === 'vsSodium' ? 'vs sodium' : t.field === 'vsNoble' ? 'vs noble' : 'vs 1 worker'}: ${t.status === 'PASS' ? 'met' : t.status === 'FAIL' ? '**not met**' : 'not measured'}`;
const rowTargets = (targets, key, b) => (b.role === 'raw' ? targetsAt(targets, key, (a) => a.alg === b.alg && a.size === b.size && a.op === b.op) : []);
const chunkTargets = (targets, key, b) =>
  b.impl === 'tessera' && !b.reference ? targetsAt(targets, key, (a) => a.chunked && a.op === b.op && a.threads === b.threads) : [];

function contention(r) {
  const v = r.otherCpuPercent;
  return v !== undefined && v > CONTENTION
    ? `cpu contention: other processes used ${v}% of the machine's CPU while this ran (${r.env === 'chromium' ? "Chromium's own processes excluded" : 'the bench process excluded'}); read the ratios as noisy.`
    : undefined;
}

/** The WebCrypto lines (Chromium simd): who is faster for async chunk work. */
function webCryptoLines(r) {
  const L = [];
  for (const b of r.chunked?.rows ?? []) {
    if (b.webCryptoVsTessera === undefined) continue;
    const t2 = chunkRow(r, b.op, 2);
    const v = b.webCryptoVsTessera;
    L.push(
      `WebCrypto Cobblestone-256 ${b.op} of 16 MiB: ${mbps(b.MBps)} MB/s vs tessera ${t2.api} ${mbps(t2.MBps)} MB/s: ` +
        `crypto.subtle loop / tessera **${x(v)}** (${v > 1.05 ? 'the crypto.subtle loop is faster' : v < 0.95 ? 'tessera is faster' : 'a tie'})`,
    );
  }
  for (const size of [16 * KiB, MiB]) {
    const t = aeadRow(r, AES, size, 'seal');
    if (t?.vsWebCrypto !== undefined)
      L.push(`AES-256-GCM ${size === MiB ? '1 MiB' : '16 KiB'} one message: tessera aead.seal (sync) / awaited crypto.subtle.encrypt = ${x(t.vsWebCrypto)}`);
  }
  return L;
}

export function wasmMarkdown(w, targets) {
  const L = [];
  L.push('## WASM backend');
  L.push('');
  L.push(
    "tessera's WebAssembly backend (the C sources of native/sources.json targets.wasm, built to wasm/tessera-simd.wasm and tessera-scalar.wasm) against " +
      `libsodium-wrappers ${w.versions['libsodium-wrappers']} (libsodium compiled to wasm) and @noble/ciphers ${w.versions['@noble/ciphers']} (pure JS), same run, same process or page. ` +
      'The raw rows have the same call shape for all three (key bytes, nonce, plaintext, 16-byte AAD per call; a fresh output): ' +
      'tessera `aead.seal(alg, key, nonce, pt, aad)`, libsodium-wrappers `crypto_aead_*_ietf_encrypt(pt, aad, null, nonce, key)`, noble `cipher(key, nonce, aad).encrypt(pt)`; ' +
      'all three are checked to produce the same bytes first. `AeadKey.seal` adds a random nonce and the message header. ' +
      'libsodium-wrappers has no AES-256-GCM (its wasm build leaves out crypto_aead_aes256gcm_*), neither it nor noble has XAES-256-GCM. ' +
      `Node: one child process per module flavor (TESSERA_BACKEND=wasm TESSERA_WASM=simd|scalar); AEAD rows are tinybench, the median of ${w.config.rounds} rounds; ` +
      'Chromium (headless, /usr/bin/chromium via playwright-core, page served on 127.0.0.1): performance.now() samples of calibrated length, cases interleaved, median sample. ' +
      `Cobblestone-256 rows: ${w.config.chunkedSize / MiB} MiB through encryptChunkedAsync / decryptChunkedAsync with { threads: 1 } and { threads: 2 } (the wasm worker pool, size 2: worker_threads in Node, Web Workers in Chromium), ` +
      'interleaved runs, median. MB/s counts plaintext bytes (10^6). Targets are judged on the simd module.',
  );
  const notes = new Set(envs(w).flatMap(({ r }) => r.notes ?? []));
  if (notes.size) L.push('', ...[...notes].map((n) => `- ${n}`));
  for (const { key, name, r } of envs(w)) {
    chunkedRatios(r);
    L.push('', `### ${name}`, '');
    if (r.error) {
      L.push(`Not measured: ${r.error}`);
      continue;
    }
    const c = contention(r);
    if (c) L.push(`Note: ${c}`, '');
    const hasWc = r.rows.some((b) => b.role === 'webcrypto');
    if (r.rows.length) {
      L.push(`| algorithm | size | op | implementation | ops/s | MB/s | vs libsodium-wrappers | vs @noble/ciphers |${hasWc ? ' vs WebCrypto |' : ''} target |`);
      L.push(`|---|---|---|---|--:|--:|--:|--:|${hasWc ? '--:|' : ''}---|`);
    }
    for (const b of r.rows) {
      const tg = rowTargets(targets, key, b).map(mark).join('; ');
      const impl = `${b.impl} \`${b.api}\``.replace(/\|/g, '\\|');
      const ok = b.opsPerSec !== undefined;
      L.push(
        `| ${b.alg} | ${b.sizeLabel} | ${b.op} | ${impl} | ${ok ? ops(b.opsPerSec) : (b.error ?? b.state)} | ${ok ? mbps(b.MBps) : ''} | ${b.vsSodium !== undefined ? `**${x(b.vsSodium)}**` : ''} | ${b.vsNoble !== undefined ? `**${x(b.vsNoble)}**` : ''} |${hasWc ? ` ${x(b.vsWebCrypto)} |` : ''} ${tg} |`,
      );
    }
    if (r.chunked) {
      L.push('');
      L.push(
        `Cobblestone-256, ${w.config.chunkedSize / MiB} MiB (pool ${r.chunked.pool?.size ?? '?'} workers${r.chunked.poolTasks !== undefined ? `; ${r.chunked.poolTasks} pool tasks during the timed runs` : ''}):`,
      );
      L.push('');
      L.push('| op | implementation | ms per call: median (min–max) | MB/s | vs 1 worker | WebCrypto / tessera 2 workers | target | method |');
      L.push('|---|---|--:|--:|--:|--:|---|---|');
      for (const b of r.chunked.rows) {
        const tg = chunkTargets(targets, key, b).map(mark).join('; ');
        L.push(
          `| ${b.op} | ${b.impl} \`${b.api}\` | ${msFmt(b.msPerCall.median)} (${msFmt(b.msPerCall.min)}–${msFmt(b.msPerCall.max)}) | ${mbps(b.MBps)} | ${b.vs1Worker !== undefined ? `**${x(b.vs1Worker)}**` : ''} | ${b.webCryptoVsTessera !== undefined ? `**${x(b.webCryptoVsTessera)}**` : ''} | ${tg} | ${b.method} |`,
        );
      }
      const wc = webCryptoLines(r);
      const def = key === 'chromium simdWasmWorkers' ? w.browser?.simd : undefined;
      for (const b of def?.chunked ? r.chunked.rows : []) {
        const d = chunkRow(def, b.op, b.threads);
        if (b.impl === 'tessera' && d)
          wc.push(`tessera ${b.api}, default init (crypto.subtle from the page's thread, other page) / webCrypto: false: **${x(d.opsPerSec / b.opsPerSec)}**`);
      }
      if (wc.length) {
        L.push('');
        L.push(
          'WebCrypto for async chunk work: a Cobblestone-256 written on crypto.subtle (HKDF-SHA-512-Expand with HMAC, `importKey` of the 32-byte chunk key, then one `crypto.subtle.encrypt`/`decrypt` per 16 KiB chunk with its nonce, all under one `Promise.all`, results copied into one output), checked to interoperate with tessera both ways:',
        );
        L.push('');
        for (const l of wc) L.push(`- ${l}`);
      }
    }
  }
  L.push('');
  return L.join('\n');
}
