// `npm run lint` (CI runs it with the type check and the format check):
// ESLint's and typescript-eslint's recommended rules over the TypeScript and
// JavaScript sources. Layout is Prettier's (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'build-*/', 'node_modules/', 'prebuilds/', 'test-artifacts/', 'bench/results/', '.ci/', 'wasm/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2024, sourceType: 'module' },
    rules: {
      // A leading underscore marks a parameter or binding kept on purpose (an interface's shape, a skipped tuple slot).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  // CommonJS files, and the suites, which load the built package (dist/cjs) and the addon with require on purpose.
  { files: ['**/*.cjs', 'test/**'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
  // The suites reach into the addon through untyped test hooks.
  { files: ['test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['bench/web/**', 'lib/browser/**'], languageOptions: { globals: { ...globals.browser } } },
);
