// Chromium half of the wasm section (bench/wasm.mjs): serves bench/web/ and
// what it imports on 127.0.0.1 with the browser suite's static server
// (test/browser/static-server.mjs, a plain ES module for this reason) and
// drives /usr/bin/chromium with playwright-core, as the browser test suite
// does (test/browser/chromium.ts is TypeScript for vitest, so its launch
// flags are repeated here).
//
// The page (bench/web/index.html + page.mjs) imports, as plain ES modules
// with no bundler:
//   /dist/browser/browser/index.js   tessera's browser entry (fetches /wasm/*.wasm)
//   /node_modules/@noble/ciphers/*.js  ESM, relative imports only
//   libsodium-wrappers                 dist/modules-esm/libsodium-wrappers.mjs, whose bare
//                                      `import "libsodium"` the page's import map resolves to
//                                      libsodium/dist/modules-esm/libsodium.mjs (wasm inlined)
//
// document and window below are the page's: they appear only in the functions
// given to page.evaluate / page.waitForFunction, which run in Chromium.
/* global document, window */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startStaticServer } from '../test/browser/static-server.mjs';
import { cpuSnapshot, otherCpuPercent, sizeLabel } from './report.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CHROMIUM = '/usr/bin/chromium';
// The flags of test/browser/chromium.ts.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** The bench page and what it imports, on the shared read-only server of the browser suite. */
export function startServer(root = ROOT) {
  return startStaticServer({
    mounts: [
      { prefix: '/dist/browser/', dir: path.join(root, 'dist', 'browser') },
      { prefix: '/wasm/', dir: path.join(root, 'wasm'), only: /^[\w.-]+\.wasm$/ },
      { prefix: '/bench/web/', dir: path.join(root, 'bench', 'web'), only: /^[\w.-]+\.(html|mjs)$/ },
      { prefix: '/node_modules/@noble/ciphers/', dir: path.join(root, 'node_modules', '@noble', 'ciphers'), only: /^[\w.-]+\.js$/ },
      { prefix: '/node_modules/libsodium-wrappers/', dir: path.join(root, 'node_modules', 'libsodium-wrappers'), only: /^dist\/modules-esm\/[\w.-]+\.mjs$/ },
      { prefix: '/node_modules/libsodium/', dir: path.join(root, 'node_modules', 'libsodium'), only: /^dist\/modules-esm\/[\w.-]+\.mjs$/ },
    ],
  });
}

/**
 * One page: init tessera with the flavor (and webCrypto when given), then the
 * AEAD groups (aead) and the Cobblestone cases (chunked: 'full' with the sync
 * rows, 'async' without); console errors and page errors fail the run.
 */
async function runPage(browser, origin, flavor, settings, { aead = true, chunked, webCrypto }, log) {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.setDefaultTimeout(10 * 60_000);
  try {
    await page.goto(`${origin}/bench/web/index.html`);
    await page.waitForFunction(() => document.getElementById('state')?.textContent !== 'loading', undefined, { timeout: 60_000 });
    const state = await page.evaluate(() => document.getElementById('state')?.textContent);
    if (state !== 'ready') throw new Error(`bench page did not load: ${state}; ${problems.join('; ')}`);
    const info = await page.evaluate((o) => window.tsrBench.init(o), { simd: flavor === 'simd', webCrypto });
    if (info.backend !== 'wasm' || info.flavor !== flavor) throw new Error(`page runs ${info.backend} ${info.flavor}, expected wasm ${flavor}`);
    const plan = aead ? await page.evaluate(() => window.tsrBench.plan()) : [];
    const rows = [],
      notes = new Set();
    const cpu0 = cpuSnapshot();
    for (const [alg, size] of plan) {
      const t0 = performance.now(),
        c0 = cpuSnapshot();
      const g = await page.evaluate(([a, s, o]) => window.tsrBench.aead(a, s, o), [alg, size, settings.aead]);
      const other = +otherCpuPercent(c0, cpuSnapshot()).toFixed(1);
      rows.push(...g.rows.map((r) => ({ ...r, sizeLabel: sizeLabel(r.size), otherCpuPercent: other })));
      for (const n of g.notes) notes.add(n);
      log(
        `  chromium ${flavor} ${alg} ${sizeLabel(size)}: ${g.rows.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s (other processes: ${other}% CPU)`,
      );
    }
    let ch;
    if (chunked) {
      const t0 = performance.now(),
        c0 = cpuSnapshot();
      ch = await page.evaluate(([o, sync]) => window.tsrBench.chunked(o, { sync }), [settings.chunked, chunked === 'full']);
      const other = +otherCpuPercent(c0, cpuSnapshot()).toFixed(1);
      ch.rows = ch.rows.map((r) => ({ ...r, sizeLabel: sizeLabel(r.size), otherCpuPercent: other }));
      ch.otherCpuPercent = other;
      log(
        `  chromium ${flavor}${webCrypto === false ? ' (webCrypto: false)' : ''} Cobblestone-256 ${sizeLabel(ch.rows[0]?.size ?? 0)}: ${ch.rows.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s (other processes: ${other}% CPU)`,
      );
    }
    const otherAll = +otherCpuPercent(cpu0, cpuSnapshot()).toFixed(1);
    if (problems.length) throw new Error(`bench page problems: ${problems.join('; ')}`);
    return {
      env: 'chromium',
      flavor,
      variant: webCrypto === false ? 'wasm-workers' : undefined,
      rows,
      chunked: ch,
      notes: [...notes],
      info,
      otherCpuPercent: otherAll,
    };
  } finally {
    await page.close();
  }
}

/**
 * Chromium pages: simd (AEAD + Cobblestone + WebCrypto, default init), then,
 * when the build has the webCrypto init option (async Cobblestone on
 * crypto.subtle AES by default), simd with { webCrypto: false } (Cobblestone only: the pool
 * on the module's own AES), then scalar (AEAD).
 */
export async function runBrowser({ settings, log = console.log }) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (Debian package chromium)`);
  for (const f of ['index.js', 'worker.js']) {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'browser', 'browser', f)))
      throw new Error(`dist/browser/browser/${f} is missing: build with node scripts/build-ts.mjs`);
  }
  const { chromium } = await import('playwright-core');
  const server = await startServer();
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
    const version = browser.version();
    const out = { version };
    const run = async (name, flavor, opts) => {
      try {
        out[name] = await runPage(browser, server.origin, flavor, settings, opts, log);
      } catch (e) {
        out[name] = { env: 'chromium', flavor, variant: opts.webCrypto === false ? 'wasm-workers' : undefined, error: e.message };
        log(`  chromium ${name}: ${e.message}`);
      }
    };
    await run('simd', 'simd', { chunked: 'full' });
    if (out.simd.info?.webCryptoOption) await run('simdWasmWorkers', 'simd', { aead: false, chunked: 'async', webCrypto: false });
    await run('scalar', 'scalar', { chunked: undefined });
    return out;
  } finally {
    await browser?.close();
    await server.close();
  }
}
