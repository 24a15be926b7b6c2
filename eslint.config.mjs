// Lint guards (part of `npm test`): promises are never left floating, and workflow code stays
// deterministic — no Node built-ins, no activity implementations, no client libraries.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.data/**', 'deploy/**', '**/*.mjs', '**/*.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/test/it return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox and is replayed for months.
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'workflow code may not use Node built-ins (not deterministic); do I/O in an activity' })),
            ...['pg', 'ioredis', '@hubspot/api-client', 'googleapis', 'google-auth-library', 'fastify', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'].map(
              (name) => ({ name, message: 'workflow code may not use client libraries; call an activity' }),
            ),
          ],
          patterns: [
            { group: ['**/activities', '**/activities/**'], allowTypeImports: true, message: 'workflows import activity types only (import type), through proxyActivities' },
            { group: ['**/store/**', '**/connectors/**', '**/api/**', '**/config', '**/deps', '**/core/hash', '**/core/secure', '**/core/env', '**/core/ratelimit', '**/core/progress', '**/core/reconcile'], allowTypeImports: true, message: 'workflow code may not import I/O or Node-dependent modules' },
          ],
        },
      ],
    },
  },
);
