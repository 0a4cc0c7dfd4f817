import { defineConfig } from 'vitest/config';

// The tests Stryker runs against each mutant (docs/mutation-testing.md): those that import the
// mutated modules in-process. The kill matrix and the daemon tests run dist/ in child processes,
// which never see a mutant, so they are left out. Otherwise as vitest.config.ts.
// STRYKER_TESTS (comma-separated globs) narrows the set for a quick run of one file whose own
// tests are known, e.g. the pure planner: `STRYKER_TESTS=test/reconcile/plan-sync.test.ts`.
const narrowed = process.env.STRYKER_TESTS?.split(',').filter(Boolean);
export default defineConfig({
  test: {
    include: narrowed?.length
      ? narrowed
      : [
          'test/install/**/*.test.ts',
          'test/reconcile/**/*.test.ts',
          'test/requests/**/*.test.ts',
          'test/fsio/durable-put.test.ts',
          'test/fsio/durable-put-guards.test.ts',
          'test/fsio/rename-if-unchanged.test.ts',
        ],
    exclude: ['test/install/kill-matrix*.test.ts', 'test/install/in-place-daemon.test.ts', 'test/install/vim-in-place.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
