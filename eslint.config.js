// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', '.data/', 'coverage/', 'resolvers/__generated__/', 'bench/results/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-process-env': 'error',
    },
  },
  {
    // Only the config module reads the environment; tests, CLI and benchmarks pass it in explicitly.
    files: ['server/config.ts', 'test/**', 'bench/**', 'cli/**', 'scripts/**', 'vitest.config.ts'],
    rules: { 'no-process-env': 'off' },
  },
  {
    // Resolvers see only the canonical model: never a partner's folder.
    files: ['resolvers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/datasources/openbanking/**', '**/datasources/plaid/**', '**/datasources/stripe/**'],
              message: 'Resolvers use loaders and services; partner folders stay behind the registry.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
