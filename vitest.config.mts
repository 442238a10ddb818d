import { defineConfig } from 'vitest/config';

// One set of suites, run per backend (vitest projects; test names carry the
// project as |native|, |wasm|, |wasm-scalar|). The backend is chosen by
// TESSERA_BACKEND in each project's env (lib/backend/node.ts), the WASM
// module by TESSERA_WASM; test/tessera.ts checks at load that the backend in
// use is the one the project asked for.
const ALL = ['test/**/*.test.ts'];

// Backend-agnostic suites: everything they check goes through the public API
// (or test/tessera.ts helpers that pick the active backend). Left out:
// secure memory and SecureBuffer (mlock, guard pages, fork, addon test hooks),
// async/event-loop and two-core GCM (native thread pool), the CLI and the
// package checks, and interop (it drives both backends itself).
const WASM_SUITES = [
  'test/aead.wycheproof.test.ts',
  'test/xaes.vectors.test.ts',
  'test/aead.differential.test.ts',
  'test/aead.tamper.test.ts',
  'test/aead.garbage.test.ts',
  'test/aead.key.test.ts',
  'test/errors.test.ts',
  'test/chunked.vectors.test.ts',
  'test/chunked.differential.test.ts',
  'test/chunked.paths.test.ts',
  'test/chunked.stream.test.ts',
  'test/chunked.file.test.ts',
  'test/chunked.property.test.ts',
  'test/wasm.memory.test.ts',
];

// The AEAD suites, run again on every native kernel tier below the default
// (TESSERA_NATIVE_KERNEL; the default project runs the best tier, vaes512 on
// AVX-512 machines, and the `openssl` tier is the fallback and oracle).
const TIER_SUITES = [
  'test/aead.wycheproof.test.ts',
  'test/xaes.vectors.test.ts',
  'test/aead.differential.test.ts',
  'test/aead.tamper.test.ts',
  'test/aead.split.test.ts',
  'test/chunked.vectors.test.ts',
  'test/chunked.differential.test.ts',
  'test/kernels.test.ts',
];
const TIERS = ['vaes256', 'aesni', 'openssl'];

// The scalar (non-SIMD) module: the known-answer suites only.
const VECTOR_SUITES = ['test/aead.wycheproof.test.ts', 'test/xaes.vectors.test.ts', 'test/chunked.vectors.test.ts'];

export default defineConfig({
  test: {
    // Separate processes: native code, fork() and guard-page tests must not
    // share a worker with unrelated suites.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Global: one summary line over every project.
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'native',
          include: ALL,
          exclude: ['test/wasm.*.test.ts'],
          env: { TESSERA_BACKEND: 'native', TESSERA_NATIVE_KERNEL: 'auto' },
        },
      },
      ...TIERS.map((tier) => ({
        extends: true as const,
        test: {
          name: `native-${tier}`,
          include: TIER_SUITES,
          env: { TESSERA_BACKEND: 'native', TESSERA_NATIVE_KERNEL: tier },
        },
      })),
      {
        extends: true,
        test: {
          name: 'wasm',
          include: WASM_SUITES,
          env: { TESSERA_BACKEND: 'wasm', TESSERA_WASM: 'simd' },
        },
      },
      {
        extends: true,
        test: {
          name: 'wasm-scalar',
          include: VECTOR_SUITES,
          env: { TESSERA_BACKEND: 'wasm', TESSERA_WASM: 'scalar' },
        },
      },
    ],
  },
});
