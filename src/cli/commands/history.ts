/** `jitctl history [GOAL] [--limit N]`: the requests in every state, newest first, optionally one goal's. */
import type { ControlClient } from '../../ipc/client.js';
import { MAX_PAGE } from '../../ipc/messages/pending.js';
import type { HistoryEntry } from '../../ipc/messages/history.js';
import type { Command } from '../command.js';
import { countOption, EXIT } from '../errors.js';
import { table } from '../output.js';
import { safeJson, showName } from '../safe-text.js';

/** The `limit` newest entries (all of them when undefined), following the `next` cursor. */
async function fetchHistory(client: ControlClient, goal: string | undefined, limit: number | undefined): Promise<{ entries: HistoryEntry[]; total: number }> {
  const entries: HistoryEntry[] = [];
  let after: string | undefined;
  let total = 0;
  do {
    const want = limit === undefined ? MAX_PAGE : Math.min(MAX_PAGE, limit - entries.length);
    const page = await client.call('history', { ...(goal !== undefined ? { goal } : {}), limit: want, ...(after ? { after } : {}) });
    entries.push(...page.entries);
    total = page.total;
    after = page.next;
  } while (after && (limit === undefined || entries.length < limit));
  return { entries, total };
}

export const historyCommand: Command = {
  name: 'history',
  usage: 'history [GOAL] [--limit N]',
  summary: "list the requests in every state, newest first (only GOAL's if given)",
  details: ['--limit N   only the N most recently updated', '--json      {entries: [{request, candidates}], total}, newest first by updatedAt'],
  options: { limit: { type: 'string' } },
  args: [0, 1],
  async run(ctx, [goal], values) {
    const limit = countOption(values, 'limit');
    const client = await ctx.connect();
    const h = await fetchHistory(client, goal, limit);
    if (ctx.json) {
      ctx.out(`${safeJson(h)}\n`);
      return EXIT.OK;
    }
    if (!h.entries.length) {
      ctx.out(goal !== undefined ? `no requests for goal ${showName(goal)}\n` : 'no requests\n');
      return EXIT.OK;
    }
    const rows = h.entries.map(({ request: r, candidates }) => [
      ctx.style.cyan(showName(r.id)),
      r.updatedAt,
      `${showName(r.goal)}.${showName(r.type)}`,
      r.resolution ? `${r.state} (${r.resolution})` : r.state,
      String(candidates),
    ]);
    ctx.out(table(['ID', 'UPDATED', 'GOAL.TYPE', 'STATE', 'CANDIDATES'], rows, ctx.style));
    if (h.entries.length < h.total) ctx.out(ctx.style.dim(`${h.total - h.entries.length} older not shown (--limit)\n`));
    return EXIT.OK;
  },
};
