// Why: the layering of docs/ARCHITECTURE.md section 2 is enforced here, not by convention.
// core <- runtime <- io, api, client, sim <- cli. The core is pure: no time, chance or I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'net', 'http', 'crypto', 'os', 'path', 'child_process', 'events', 'timers', 'worker_threads'];

const restrictImports = (patterns) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message: 'Imports point inward only (docs/ARCHITECTURE.md section 2).' })) }],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'tmp/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', AbortController: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'src/core is pure: no Node built-ins.' },
          { group: ['**/runtime/**', '**/io/**', '**/api/**', '**/client/**', '**/sim/**', '**/cli/**', '**/dashboard/**'], message: 'src/core imports only src/core.' },
          { group: ['lmdb', 'classic-level', 'msgpackr', 'pino', 'commander'], message: 'src/core has no third-party I/O dependencies.' },
        ],
      }],
      'no-restricted-globals': ['error',
        ...['Date', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'process', 'performance', 'crypto', 'Buffer', 'queueMicrotask', 'fetch'].map((name) => ({ name, message: 'src/core is deterministic: time, chance and I/O come in as events and ports.' })),
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use the seeded Prng passed in explicitly.' }],
    },
  },
  { files: ['src/runtime/**/*.ts'], rules: restrictImports(['**/io/**', '**/api/**', '**/client/**', '**/sim/**', '**/cli/**']) },
  { files: ['src/io/**/*.ts', 'src/api/**/*.ts', 'src/client/**/*.ts', 'src/sim/**/*.ts'], rules: restrictImports(['**/cli/**']) },
  // The dashboard's script runs in a browser, not in Node.
  { files: ['src/api/http/dashboard/**/*.js'], languageOptions: { globals: { document: 'readonly', Node: 'readonly', URLSearchParams: 'readonly', atob: 'readonly' } } },
);
