// window.tsrBench: what bench/web/page.mjs puts on the bench page's window,
// and bench/wasm-browser.mjs calls through page.evaluate(). Types only (for
// `tsc -p tsconfig.typecheck-js.json`); the page never loads this file.
/** A result row (bench/web/cases.mjs interleave(), plus the ratios); the Node side reads size and passes the rest through. */
interface BenchRow {
  size: number;
  [field: string]: unknown;
}

interface Window {
  tsrBench: {
    init(o: { simd: boolean; webCrypto?: boolean }): Promise<{ backend: string; flavor: string; webCryptoOption: boolean; [info: string]: unknown }>;
    plan(): Array<[alg: string, size: number]>;
    aead(alg: string, size: number, settings: { sampleMs: number; reps: number; warmup?: number }): Promise<{ rows: BenchRow[]; notes: string[] }>;
    chunked(settings: { reps: number; warmup?: number }, opts?: { sync?: boolean }): Promise<{ rows: BenchRow[]; [field: string]: unknown }>;
  };
}
