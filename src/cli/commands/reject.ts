/** `jitctl reject ID`: decline a request; it is not asked again until its map entry changes. */
import type { Command } from '../command.js';
import { safeJson, showName } from '../safe-text.js';

export const rejectCommand: Command = {
  name: 'reject',
  usage: 'reject ID',
  summary: 'decline a waiting or failed request, or a draft (of a done one: the installed text stays)',
  options: {},
  args: [1, 1],
  async run(ctx, [id]) {
    const client = await ctx.connect();
    const r = await client.call('reject', { id: id as string });
    ctx.out(ctx.json ? `${safeJson(r)}\n` : `${ctx.style.yellow('rejected')} ${showName(r.id)} (${showName(r.goal)} · ${showName(r.type)})\n`);
    return 0;
  },
};
