// Why: the layering of docs/ARCHITECTURE.md section 2 is enforced here, not by convention.
// core <- runtime <- io, api, client, sim <- server, chaos <- cli. The core is pure: no time,
// chance or I/O. Every top-level folder of src/ has a rule saying which others it may import; a new
// folder without one stops the lint, so the fences cannot silently fall behind the layout.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'node:*',
  'fs',
  'net',
  'http',
  'crypto',
  'os',
  'path',
  'child_process',
  'events',
  'timers',
  'worker_threads',
];

/**
 * Which top-level folders of src/ each one may import (besides itself and node_modules). core's own
 * rule, below, is stricter still. cli is the outermost layer and may import any of them.
 */
const mayImport = {
  core: [],
  runtime: ['core'],
  io: ['core', 'runtime'],
  api: ['core', 'runtime'],
  client: ['core', 'runtime'],
  sim: ['core', 'runtime', 'io'],
  server: ['core', 'runtime', 'io', 'api'],
  chaos: ['core', 'runtime', 'io', 'sim', 'server'],
  cli: ['core', 'runtime', 'io', 'api', 'client', 'sim', 'server', 'chaos'],
};
const folders = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const unruled = folders.filter((folder) => !(folder in mayImport));
if (unruled.length > 0)
  throw new Error(
    `eslint.config.js: src/${unruled.join(', src/')} has no import rule in mayImport; say which folders it may import`,
  );

/** The fence of one folder: every other folder it is not allowed to import. */
const fenceOf = (folder) => {
  const forbidden = folders.filter((other) => other !== folder && !mayImport[folder].includes(other));
  if (forbidden.length === 0) return [];
  const message = `src/${folder} may import only ${mayImport[folder].length === 0 ? 'itself' : mayImport[folder].map((other) => `src/${other}`).join(', ')} (docs/ARCHITECTURE.md section 2).`;
  return [
    {
      files: [`src/${folder}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          { patterns: [{ group: forbidden.map((other) => `**/${other}/**`), message }] },
        ],
      },
    },
  ];
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'tmp/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'src/core is pure: no Node built-ins.' },
            {
              group: [
                '**/runtime/**',
                '**/io/**',
                '**/api/**',
                '**/client/**',
                '**/sim/**',
                '**/cli/**',
                '**/dashboard/**',
              ],
              message: 'src/core imports only src/core.',
            },
            {
              group: ['lmdb', 'classic-level', 'msgpackr', 'pino', 'commander'],
              message: 'src/core has no third-party I/O dependencies.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'Date',
          'setTimeout',
          'setInterval',
          'setImmediate',
          'clearTimeout',
          'clearInterval',
          'process',
          'performance',
          'crypto',
          'Buffer',
          'queueMicrotask',
          'fetch',
        ].map((name) => ({
          name,
          message: 'src/core is deterministic: time, chance and I/O come in as events and ports.',
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the seeded Prng passed in explicitly.' },
      ],
    },
  },
  ...folders.filter((folder) => folder !== 'core').flatMap(fenceOf),
  // The dashboard's script runs in a browser, not in Node.
  {
    files: ['src/api/http/dashboard/**/*.js'],
    languageOptions: {
      globals: { document: 'readonly', Node: 'readonly', URLSearchParams: 'readonly', atob: 'readonly' },
    },
  },
);
