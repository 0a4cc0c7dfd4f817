/**
 * What `npm run mutate` mutates, and against which tests (docs/mutation-testing.md).
 *
 * Each source file of the crash-safety core is run against the tests that target it. Run
 * against every test instead (`npm run mutate:all`), a file's mutants wait on the whole suite:
 * nearly every test reaches durable-put.ts, so a surviving or hanging mutant costs minutes.
 * The figures can only rise with more tests, so a file's score here is a floor.
 *
 * Left out everywhere: the kill matrices and the in-place daemon tests, which run dist/ in
 * child processes that never see a mutant.
 *
 * @typedef {{ file: string, group: 'core' | 'requests', tests: string[] }} Target
 */

/** @type {Target[]} */
export const targets = [
  { file: 'src/fsio/durable-put.ts', group: 'core', tests: ['test/fsio/durable-put*.test.ts', 'test/fsio/rename-if-unchanged.test.ts'] },
  {
    file: 'src/install/map-commit.ts',
    group: 'core',
    tests: ['test/install/map-commit*.test.ts', 'test/install/own-map-write.test.ts', 'test/install/in-place-saves.test.ts'],
  },
  {
    file: 'src/install/in-place-saves.ts',
    group: 'core',
    tests: ['test/install/in-place-saves*.test.ts', 'test/install/map-commit*.test.ts', 'test/install/own-map-write.test.ts'],
  },
  {
    file: 'src/install/map-state.ts',
    group: 'core',
    tests: ['test/install/map-state.test.ts', 'test/install/own-map-write.test.ts', 'test/install/install-batch-guards.test.ts'],
  },
  { file: 'src/install/install-batch.ts', group: 'core', tests: ['test/install/install-batch*.test.ts', 'test/install/publish-component.test.ts'] },
  { file: 'src/install/publish-component.ts', group: 'core', tests: ['test/install/publish-component.test.ts', 'test/install/install-batch*.test.ts'] },
  { file: 'src/install/replace-component.ts', group: 'core', tests: ['test/install/replace-component.test.ts'] },
  { file: 'src/reconcile/orphans.ts', group: 'core', tests: ['test/reconcile/orphans-guards.test.ts', 'test/reconcile/reconcile.test.ts'] },
  { file: 'src/reconcile/plan-sync.ts', group: 'core', tests: ['test/reconcile/plan-sync.test.ts', 'test/reconcile/reconcile.test.ts'] },
  { file: 'src/reconcile/sweep-temps.ts', group: 'core', tests: ['test/reconcile/sweep-temps.test.ts', 'test/reconcile/reconcile.test.ts'] },
  { file: 'src/reconcile/apply-plan.ts', group: 'core', tests: ['test/reconcile/reconcile.test.ts', 'test/reconcile/apply-plan.test.ts'] },
  { file: 'src/reconcile/reconcile.ts', group: 'core', tests: ['test/reconcile/reconcile.test.ts', 'test/reconcile/reconcile-report.test.ts'] },
  { file: 'src/reconcile/restore-output.ts', group: 'core', tests: ['test/reconcile/restore-output.test.ts', 'test/reconcile/apply-plan.test.ts'] },
  { file: 'src/install/map-edit.ts', group: 'core', tests: ['test/install/map-edit.test.ts'] },
  {
    file: 'src/install/map-file.ts',
    group: 'core',
    tests: ['test/install/map-file.test.ts', 'test/install/map-state.test.ts', 'test/install/map-commit-parse.test.ts'],
  },
  { file: 'src/reconcile/referenced-names.ts', group: 'core', tests: ['test/reconcile/referenced-names.test.ts', 'test/reconcile/orphans-guards.test.ts'] },
  { file: 'src/reconcile/git-activity.ts', group: 'core', tests: ['test/reconcile/git-activity*.test.ts'] },
  { file: 'src/requests/transitions.ts', group: 'requests', tests: ['test/requests/*.test.ts'] },
  { file: 'src/requests/request-store.ts', group: 'requests', tests: ['test/requests/*.test.ts'] },
  { file: 'src/requests/request.ts', group: 'requests', tests: ['test/requests/*.test.ts', 'test/reconcile/plan-sync.test.ts'] },
  { file: 'src/requests/staged-output.ts', group: 'requests', tests: ['test/requests/*.test.ts', 'test/jobs/staged-output.test.ts'] },
  { file: 'src/requests/candidates.ts', group: 'requests', tests: ['test/requests/candidates.test.ts'] },
  { file: 'src/requests/provenance.ts', group: 'requests', tests: ['test/requests/*.test.ts'] },
];
