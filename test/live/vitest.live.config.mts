import { defineConfig } from 'vitest/config';

// `npm run test:live`: the KEK contract (test/kek.contract.ts) against real
// cloud KMS and Vault services, with credentials from the environment
// (docs/API.md "Key manager", live tests). Not part of `npm test` or CI: it needs
// network access and real keys.
export default defineConfig({
  test: {
    include: ['test/live/*.live.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { TESSERA_BACKEND: 'native', TESSERA_NATIVE_KERNEL: 'auto' },
  },
});
