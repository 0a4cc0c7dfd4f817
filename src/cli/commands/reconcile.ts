/** `jitctl reconcile`: run the reconciler now and print what it did. Exit 1 if the map is unusable. */
import type { ReconcileSummary } from '../../ipc/messages/reconcile.js';
import type { Command } from '../command.js';
import { keyValues, type Style } from '../output.js';
import { safeJson, showLine, showName } from '../safe-text.js';

/** The human rendering of a reconcile summary. */
export function renderReconcile(s: ReconcileSummary, style: Style): string {
  const o = s.orphans;
  const pairs: [string, string][] = [
    ['temps removed', String(s.tempsRemoved)],
    ['rolled forward', String(s.rolledForward)],
    ['requests created', String(s.created)],
    ['resolved by a person', String(s.resolvedByPerson)],
    ['reopened', String(s.reopened)],
    ['withdrawn', String(s.withdrawn)],
    ['orphans', `quarantined ${o.quarantined} · deleted ${o.deleted} · kept ${o.kept}`],
    ['unreferenced files', String(o.unreferenced)],
    ['to generate', String(s.toGenerate)],
    ['retry later', String(s.retryLater)],
  ];
  if (s.refusedDirs.length) pairs.push(['refused dirs', style.red(s.refusedDirs.map(showName).join(', '))]);
  const lists: [string, string[]][] = [
    ['removed', s.paths.tempsRemoved],
    ['rolled forward', s.paths.rolledForward],
    ['quarantined', s.paths.quarantined],
    ['deleted', s.paths.deleted],
    ['kept', s.paths.kept],
    ['unreferenced', s.paths.unreferenced],
  ];
  for (const [label, paths] of lists) for (const p of paths) pairs.push([`  ${label}`, style.dim(showLine(p))]);
  return `${style.bold(`reconciled at ${s.at}`)}\n${keyValues(pairs)}`;
}

export const reconcileCommand: Command = {
  name: 'reconcile',
  usage: 'reconcile',
  summary: 'run the reconciler now and print what it did',
  options: {},
  args: [0, 0],
  async run(ctx) {
    const client = await ctx.connect();
    const s = await client.call('reconcile');
    if (ctx.json) ctx.out(`${safeJson(s)}\n`);
    else if (!s.mapError) ctx.out(renderReconcile(s, ctx.style));
    if (s.mapError) {
      ctx.warn(`the map is unusable, so nothing was changed: ${s.mapError}`);
      return 1;
    }
    return 0;
  },
};
