/**
 * The browser entry (lib/browser, built to dist/browser as plain ES modules)
 * in Debian's chromium, driven by playwright-core, against pages served by
 * test/browser/server.ts on 127.0.0.1 (test/browser/pages).
 *
 * Proves, in the page:
 *  1. Every Wycheproof vector of aes_gcm_test.json, chacha20_poly1305_test.json
 *     and xchacha20_poly1305_test.json through the raw API (256-bit keys and
 *     the algorithm's nonce size: valid seal === ct || tag and open, also in
 *     place; invalid: ERR_AUTH; other key / nonce sizes: ERR_KEY_LENGTH /
 *     ERR_NONCE_LENGTH), counted against numberOfTests, once with the simd128
 *     module and once in a fresh page with init(undefined, { simd: false })
 *     (the page must have fetched wasm/tessera-scalar.wasm, not the simd one).
 *  2. Every c2sp chunked-encryption vector through decryptChunked and
 *     decryptChunkedAsync (valid: msgLength bytes with SHA-512 msgSha512;
 *     invalid: the expected TesseraError code), counted against numberOfTests.
 *  3. Ciphertexts made in Node by native tessera (AeadKey messages and tsr1.
 *     strings, raw aead.seal, encryptChunked for both suites) decrypt in the
 *     page to the expected bytes (compared by SHA-256); tampered -> ERR_AUTH,
 *     wrong context -> ERR_COMMITMENT.
 *  4. An 8 MiB Cobblestone ciphertext made by native tessera, fetched and piped
 *     through DecryptTransformStream, hashes (SHA-256, in the page) to the
 *     plaintext's hash, and the pool's workers did the chunk work; with one
 *     byte changed in chunk 300 the stream errors with ERR_AUTH, stays
 *     errored, and what it emitted is a prefix of the plaintext that ends
 *     before the tampered chunk's batch.
 *  5. demo.html renders (screenshot: test-artifacts/browser-demo.png).
 * Browser console errors, page errors, failed requests and HTTP errors fail
 * the test of the page they happened in. The server refuses path traversal.
 *
 * Needs /usr/bin/chromium: installed by ensureChromium() when root, else the
 * suite fails with the reason. Needs dist/browser (`npm test` builds it).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM_ARGS, ensureChromium } from './browser/chromium';
import { type StaticServer, startServer } from './browser/server';
import { root, T, vectorsDir } from './tessera';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ARTIFACTS = path.join(root, 'test-artifacts');
const MiB = 1 << 20;

type TsrTest = Record<string, (...args: any[]) => Promise<any>>;
declare global {
  interface Window {
    tsrTest: TsrTest;
  }
}

let server: StaticServer;
let browser: Browser | undefined;

interface Opened {
  page: Page;
  /** Console errors, page errors, failed requests and HTTP error responses. */
  problems: string[];
  /** Paths this page requested from the server. */
  requests: () => string[];
}

async function openPage(file: string, viewport?: { width: number; height: number }): Promise<Opened> {
  const page = await browser!.newPage(viewport ? { viewport, deviceScaleFactor: 1 } : {});
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A fetch body the page stops reading on purpose is not a failure.
    if (!r.url().includes('/fixtures/')) problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  const from = server.requests.length;
  const o: Opened = { page, problems, requests: () => server.requests.slice(from) };
  await page.goto(`${server.origin}/test/browser/pages/${file}`);
  return o;
}

/** A fresh test page with tessera initialised. */
async function testPage(initOpts?: { simd?: boolean; workers?: boolean; webCrypto?: boolean }) {
  const o = await openPage('test.html');
  await o.page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
  const info = await o.page.evaluate((opts) => window.tsrTest.init!(opts), initOpts);
  return { ...o, info: info as { backend: string; flavor: string; workers: number; tasks: number } };
}

async function closePage(o: Opened): Promise<void> {
  await o.page.close();
  expect(o.problems).toEqual([]);
}

beforeAll(async () => {
  const executablePath = ensureChromium();
  const entry = path.join(root, 'dist', 'browser', 'browser', 'index.js');
  if (!fs.existsSync(entry) || !fs.existsSync(path.join(root, 'dist', 'browser', 'browser', 'worker.js')))
    throw new Error(`${entry} is missing: build it with \`node scripts/build-ts.mjs\` (npm test does)`);
  server = await startServer(root, vectorsDir);
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}, 20 * 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

test('without chromium and without root, the suite fails and says what to run', () => {
  expect(() => ensureChromium('/nonexistent/chromium', false)).toThrow(/missing, and this process is not root.*apt-get install -y chromium/);
});

describe('static server', () => {
  const get = (p: string, method = 'GET') =>
    new Promise<{ status: number; type: string | undefined }>((resolve, reject) => {
      const u = new URL(server.origin);
      const req = http.request({ host: u.hostname, port: u.port, path: p, method }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'] }));
      });
      req.on('error', reject);
      req.end();
    });

  test('serves the package read-only and refuses path traversal', async () => {
    expect(await get('/wasm/tessera-simd.wasm')).toEqual({ status: 200, type: 'application/wasm' });
    expect((await get('/dist/browser/browser/index.js')).status).toBe(200);
    expect((await get('/vectors/wycheproof/chacha20_poly1305_test.json')).status).toBe(200);
    for (const p of [
      '/dist/browser/../../package.json',
      '/wasm/../package.json',
      '/vectors/../tessera.ts',
      '/vectors/..%2f..%2fpackage.json',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/test/browser/pages/%2E%2E/server.ts',
      '/test/browser/pages/..%5cserver.ts',
      '/dist/browser/browser/index.js%00.html',
    ]) {
      expect([p, (await get(p)).status]).toEqual([p, 403]);
    }
    for (const p of ['/package.json', '/test/browser/server.ts', '/lib/browser/index.ts', '/wasm/nope.wasm', '/fixtures/nope']) {
      expect([p, (await get(p)).status]).toEqual([p, 404]);
    }
    expect((await get('/test/browser/pages/test.html', 'POST')).status).toBe(405);
    expect((await get('/test/browser/pages/test.html', 'PUT')).status).toBe(405);
  });
});

const AEAD_FILES = [
  { file: 'aes_gcm_test.json', alg: 'aes-256-gcm', nonceBits: 96, pinned: { total: 316, valid: 39, invalid: 27, nonceLength: 39, keyLength: 211 } },
  {
    file: 'chacha20_poly1305_test.json',
    alg: 'chacha20-poly1305',
    nonceBits: 96,
    pinned: { total: 325, valid: 256, invalid: 60, nonceLength: 9, keyLength: 0 },
  },
  {
    file: 'xchacha20_poly1305_test.json',
    alg: 'xchacha20-poly1305',
    nonceBits: 192,
    pinned: { total: 315, valid: 246, invalid: 60, nonceLength: 9, keyLength: 0 },
  },
] as const;

describe('tessera in chromium', () => {
  for (const flavor of ['simd', 'scalar'] as const) {
    for (const { file, alg, nonceBits, pinned } of AEAD_FILES) {
      test(`Wycheproof ${file} (${alg}), ${flavor} module`, async () => {
        const o = await testPage(flavor === 'scalar' ? { simd: false } : undefined);
        expect(o.info).toMatchObject({ backend: 'wasm', flavor });
        // The page fetched exactly the module of its flavor.
        const fetched = o.requests().filter((p) => p.startsWith('/wasm/'));
        expect(fetched).toEqual([`/wasm/tessera-${flavor}.wasm`]);
        const r = await o.page.evaluate(([f, a, n]) => window.tsrTest.aeadVectors!(f, a, n), [file, alg, nonceBits] as const);
        const expected = (JSON.parse(fs.readFileSync(path.join(vectorsDir, 'wycheproof', file), 'utf8')) as { numberOfTests: number }).numberOfTests;
        expect(r.failures).toEqual([]);
        expect(r.failureCount).toBe(0);
        expect(r.numberOfTests).toBe(expected);
        const c = r.counts;
        expect(c.total).toBe(expected);
        expect(c.valid + c.acceptable + c.invalid + c.keyLength + c.nonceLength + c.tagLength).toBe(expected);
        expect(c.inPlace).toBe(c.valid + c.acceptable + c.invalid);
        expect(c).toMatchObject(pinned);
        await closePage(o);
      });
    }
  }

  test('c2sp chunked-encryption vectors: decryptChunked and decryptChunkedAsync', async () => {
    const o = await testPage();
    const file = 'c2sp_chunked_encryption_aes_256_gcm_test.json';
    const r = await o.page.evaluate((f) => window.tsrTest.chunkedVectors!(f), file);
    const j = JSON.parse(fs.readFileSync(path.join(vectorsDir, 'wycheproof', file), 'utf8')) as { numberOfTests: number; notes: object };
    expect(r.failures).toEqual([]);
    expect(r.numberOfTests).toBe(j.numberOfTests);
    expect(r.counts).toEqual({ total: j.numberOfTests, valid: 10, invalid: j.numberOfTests - 10, sync: j.numberOfTests, async: j.numberOfTests });
    expect(r.flags).toEqual(Object.keys(j.notes).sort()); // every flag was exercised
    await closePage(o);
  });

  test('ciphertexts made by native tessera decrypt in the page', async () => {
    expect(T.backend()).toBe('native');
    const key = createHash('sha256').update('tessera browser test key').digest();
    const aad = Buffer.from('browser-aad');
    const pt = randomBytes(1000);
    const chunkPt = randomBytes(MiB + 5); // 65 chunks: the async open goes through the pool
    const messages = T.ALGORITHMS.map((alg) => {
      const k = T.AeadKey.import(alg, key);
      try {
        return { alg, message: hex(k.seal(pt, { aad })), text: k.sealToString(pt) };
      } finally {
        k.dispose();
      }
    });
    const raw = T.ALGORITHMS.map((alg) => {
      const nonce = randomBytes(T.nonceLength(alg));
      return { alg, nonce: hex(nonce), sealed: hex(T.aead.seal(alg, key, nonce, pt, aad)) };
    });
    const chunked = (['cobblestone-256', 'cobblestone-128'] as const).map((suite) => {
      const k = suite === 'cobblestone-128' ? key.subarray(0, 16) : key;
      const context = `browser-fixture-${suite}`;
      server.setFixture(`native-${suite}.bin`, T.encryptChunked(k, chunkPt, { context, suite }));
      return { suite, key: hex(k), context, url: `/fixtures/native-${suite}.bin` };
    });

    const o = await testPage();
    const got = (await o.page.evaluate((fx) => window.tsrTest.nativeCiphertexts!(fx), { key: hex(key), aad: hex(aad), messages, raw, chunked })) as {
      what: string;
      ok: boolean;
      length?: number;
      sha256?: string;
      error?: { code?: string };
    }[];
    const ok = (n: number, h: string) => ({ ok: true, length: n, sha256: h });
    const err = (code: string) => ({ ok: false, error: expect.objectContaining({ tessera: true, code }) });
    const want: Record<string, unknown> = {};
    for (const alg of T.ALGORITHMS) {
      want[`AeadKey ${alg} message`] = ok(pt.length, sha256(pt));
      want[`AeadKey ${alg} tsr1 string`] = ok(pt.length, sha256(pt));
      want[`AeadKey ${alg} tampered`] = err('ERR_AUTH');
      want[`aead.open ${alg}`] = ok(pt.length, sha256(pt));
    }
    for (const { suite } of chunked) {
      want[`decryptChunked ${suite}`] = ok(chunkPt.length, sha256(chunkPt));
      want[`decryptChunkedAsync ${suite}`] = ok(chunkPt.length, sha256(chunkPt));
      want[`decryptChunked ${suite} wrong context`] = err('ERR_COMMITMENT');
    }
    expect(got.map((g) => g.what).sort()).toEqual(Object.keys(want).sort());
    for (const g of got) expect(g).toMatchObject({ what: g.what, ...(want[g.what] as object) });
    await closePage(o);
  });

  describe('streaming an 8 MiB Cobblestone ciphertext through DecryptTransformStream', () => {
    const context = 'browser-stream-v1';
    const key = createHash('sha256').update('tessera browser stream key').digest();
    const CHUNK = 16384,
      CHUNK_CT = CHUNK + 16,
      BATCH = 64,
      HEADER = 56;
    let pt: Buffer, ct: Uint8Array;
    beforeAll(() => {
      pt = randomBytes(8 * MiB);
      ct = T.encryptChunked(key, pt, { context }); // native tessera
    });

    // Async chunk work runs on Web Crypto's AES-GCM by default (same bytes,
    // hardware AES); webCrypto: false runs the WASM module on the workers.
    for (const webCrypto of [true, false]) {
      const how = webCrypto ? 'Web Crypto AES-GCM' : 'WASM AES on the workers';
      test(`decrypts to the plaintext (${how})`, async () => {
        server.setFixture('stream.bin', ct);
        const o = await testPage({ webCrypto });
        expect(o.info.workers).toBe(0); // the pool starts lazily
        const r = await o.page.evaluate(([u, k, c]) => window.tsrTest.streamDecrypt!(u, k, c), ['/fixtures/stream.bin', hex(key), context] as const);
        expect(r.error).toBeUndefined();
        expect(r.bytes).toBe(pt.length);
        expect(r.sha256).toBe(sha256(pt));
        if (webCrypto) {
          // Web Crypto from the page's thread: the worker pool is not used.
          expect(r.tasks).toBe(0);
        } else {
          // The chunk work ran on Web Workers: at least one pool task per 1 MiB batch.
          expect(r.workers).toBeGreaterThan(0);
          expect(r.workers).toBeLessThanOrEqual(Math.max(1, r.cpus));
          expect(r.tasks).toBeGreaterThanOrEqual(pt.length / (BATCH * CHUNK));
        }
        console.log(`stream: ${r.bytes} bytes in ${r.outputs} outputs, ${r.ms} ms, ${r.tasks} pool tasks on ${r.workers} workers (${r.cpus} CPUs)`);
        await closePage(o);
      });

      test(`a tampered chunk errors the stream with ERR_AUTH, nothing past its batch is emitted (${how})`, async () => {
        const bad = Buffer.from(ct);
        const at = 300; // chunk 300, in the batch of chunks 256..319
        bad[HEADER + at * CHUNK_CT + 1000]! ^= 0x01;
        server.setFixture('stream-tampered.bin', bad);
        const o = await testPage({ webCrypto });
        const r = await o.page.evaluate(([u, k, c]) => window.tsrTest.streamDecrypt!(u, k, c), ['/fixtures/stream-tampered.bin', hex(key), context] as const);
        expect(r.error).toMatchObject({ tessera: true, code: 'ERR_AUTH' });
        expect(r.again).toBe('ERR_AUTH'); // stays errored
        const batchStart = Math.floor(at / BATCH) * BATCH * CHUNK;
        expect(r.bytes).toBeLessThanOrEqual(batchStart);
        expect(r.bytes % (BATCH * CHUNK)).toBe(0); // whole verified batches only
        expect(r.sha256).toBe(sha256(pt.subarray(0, r.bytes))); // a prefix of the plaintext
        console.log(`tampered stream: ${r.bytes} verified bytes emitted before ERR_AUTH (tampered batch starts at ${batchStart})`);
        await closePage(o);
      });
    }
  });

  test('demo page renders (screenshot test-artifacts/browser-demo.png)', async () => {
    const o = await openPage('demo.html', { width: 1000, height: 760 });
    await o.page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 30_000 });
    const state = await o.page.evaluate(() => ({ state: document.documentElement.dataset.state, error: document.getElementById('error')?.textContent ?? '' }));
    expect(state).toEqual({ state: 'done', error: '' });
    const texts = await o.page.evaluate(() => ({
      sealed: document.getElementById('sealed')!.textContent!,
      opened: document.getElementById('opened')!.textContent!,
      plain: (document.getElementById('plaintext') as HTMLTextAreaElement).value,
      backend: document.getElementById('backend')!.textContent!,
      flavor: document.getElementById('flavor')!.textContent!,
    }));
    expect(texts.sealed).toMatch(/^tsr1\.[A-Za-z0-9_-]+$/);
    expect(texts.opened).toBe(texts.plain);
    expect(texts.backend).toBe('wasm');
    expect(texts.flavor).toMatch(/simd128/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, 'browser-demo.png');
    await o.page.screenshot({ path: file, fullPage: true });
    const png = fs.readFileSync(file);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(1000); // IHDR width
    expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(600); // IHDR height
    expect(png.length).toBeGreaterThan(20_000); // not a blank page
    await closePage(o);
  });
});
