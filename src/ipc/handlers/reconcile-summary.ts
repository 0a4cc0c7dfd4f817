/** Turns the reconciler's report into the bounded summary sent over the socket. */
import type { ReconcileReport } from '../../reconcile/reconcile.js';
import type { ReconcileSummary } from '../messages/reconcile.js';

const MAX_PATHS = 50;
const few = (xs: readonly string[] | undefined) => (xs ?? []).slice(0, MAX_PATHS);

/** A summary of `report`: exact counts, the first paths of each kind. */
export function summarizeReconcile(report: ReconcileReport): ReconcileSummary {
  const applied = report.applied;
  const orphans = report.orphans;
  return {
    at: report.at,
    tempsRemoved: report.tempsRemoved.length,
    rolledForward: applied?.rolledForward.length ?? 0,
    created: applied?.created ?? 0,
    resolvedByPerson: applied?.resolvedByPerson ?? 0,
    reopened: applied?.reopened ?? 0,
    withdrawn: applied?.withdrawn ?? 0,
    orphans: {
      quarantined: orphans?.quarantined.length ?? 0,
      deleted: orphans?.deleted.length ?? 0,
      kept: orphans?.kept.length ?? 0,
      unreferenced: orphans?.unreferenced.length ?? 0,
    },
    refusedDirs: few(report.refusedDirs),
    unreadableDirs: few(report.unreadableDirs?.map((u) => `${u.dir} (${u.code})`)),
    toGenerate: report.toGenerate.length,
    retryLater: report.retryLater.length,
    mapError: report.mapError ?? null,
    restored: few(applied?.restored),
    held: report.held ?? null,
    seedTempQuarantined: report.seedTempQuarantined ?? null,
    paths: {
      tempsRemoved: few(report.tempsRemoved),
      rolledForward: few(applied?.rolledForward),
      quarantined: few(orphans?.quarantined),
      deleted: few(orphans?.deleted),
      kept: few(orphans?.kept),
      unreferenced: few(orphans?.unreferenced),
    },
  };
}
