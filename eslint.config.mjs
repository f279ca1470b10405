import js from '@eslint/js';
import globals from 'globals';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { layering } from './layering.config.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-*/**', 'node_modules/**', '.local/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // The layers of docs/architecture.md, checked on resolved paths (so `../../app/x` and `../app/x` are one rule).
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.d.ts', '.js', '.json'] })],
    },
    rules: { 'import-x/no-restricted-paths': ['error', { zones: layering }] },
  },
  {
    // Everywhere, the browser UI included: no code built from strings, and no require() (whose module name could come
    // from input): imports are static.
    rules: {
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      '@typescript-eslint/no-require-imports': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ignores: ['functions/ui/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly' } },
  },
  {
    // The web UI: ES modules that run in the browser as they are written (no build step).
    files: ['functions/ui/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
    rules: { eqeqeq: ['error', 'always'] },
  },
);
