/** `jitctl history [GOAL]`: the requests in every state, newest first, optionally one goal's. */
import type { Command } from '../command.js';
import { EXIT } from '../errors.js';
import { table } from '../output.js';
import { safeJson, showName } from '../safe-text.js';

export const historyCommand: Command = {
  name: 'history',
  usage: 'history [GOAL]',
  summary: "list the requests in every state, newest first (only GOAL's if given)",
  details: ['--json   {entries: [{request, candidates}]}, newest first by updatedAt'],
  options: {},
  args: [0, 1],
  async run(ctx, [goal]) {
    const client = await ctx.connect();
    const h = await client.call('history', goal !== undefined ? { goal } : {});
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
    return EXIT.OK;
  },
};
