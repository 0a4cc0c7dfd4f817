/** Handler of `reconcile`: a full reconcile on the engine's lane, answered with its summary. */
import { ReconcileParams } from '../messages/reconcile.js';
import { defineHandler } from './handler.js';
import { summarizeReconcile } from './reconcile-summary.js';

export const handleReconcile = defineHandler({
  method: 'reconcile',
  params: ReconcileParams,
  async handle(ctx) {
    return summarizeReconcile(await ctx.engine.reconcileNow('jitctl reconcile'));
  },
});
