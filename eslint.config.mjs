// ESLint (flat config), run by `npm test` and `npm run lint`: the recommended rules of ESLint and
// typescript-eslint (syntax only, no type information, so it stays fast), and the rule that keeps
// workflow code deterministic.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_'));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'console/dist/', 'src/generated/', '.data/', '.tools/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // An underscore marks a deliberately unused binding (e.g. a property dropped by destructuring).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['jest.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
  {
    // Workflow code is replayed from history in Temporal's sandbox: no I/O, no Node APIs, and
    // activities only as types (the workflow calls them through proxyActivities).
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'workflow code may not use Node built-ins; do I/O in an activity' })),
        patterns: [
          { regex: '^node:', message: 'workflow code may not use Node built-ins; do I/O in an activity' },
          { regex: '(^|/)activities(/|$)', allowTypeImports: true, message: 'workflows call activities through proxyActivities: import their types only (import type)' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'workflow code gets its settings from its input, not the environment' },
        { name: 'require', message: 'workflow code imports only deterministic modules' },
      ],
    },
  },
);
