/**
 * Handler of `reconcile`: a full reconcile on the engine's lane, answered with its summary. A
 * reconcile that could not read a type directory did the rest, but answers an error naming it:
 * whoever asked for it must not take it for a complete one (the summary is in status).
 */
import { JitdError } from '../../fsio/errors.js';
import { ReconcileParams } from '../messages/reconcile.js';
import { defineHandler } from './handler.js';
import { summarizeReconcile } from './reconcile-summary.js';

export const handleReconcile = defineHandler({
  method: 'reconcile',
  params: ReconcileParams,
  async handle(ctx) {
    const report = await ctx.engine.reconcileNow('jitctl reconcile');
    // Stopped part-way by a write error (a full disk): nothing half-done, but not a reconcile.
    if (report.error) throw new JitdError('EDISK', `the reconcile stopped part-way and will be retried: ${report.error}`);
    const unreadable = report.unreadableDirs ?? [];
    if (unreadable.length) {
      const which = unreadable.map((u) => `${u.dir}: ${u.message}`).join('; ');
      throw new JitdError(
        unreadable[0]!.code,
        `reconciled all but ${unreadable.length} unreadable component director${unreadable.length === 1 ? 'y' : 'ies'}, left alone: ${which}`,
      );
    }
    return summarizeReconcile(report);
  },
});
