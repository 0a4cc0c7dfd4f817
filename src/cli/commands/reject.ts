/** `jitctl reject ID`: decline a request; it is not asked again until its map entry changes. */
import type { Command } from '../command.js';

export const rejectCommand: Command = {
  name: 'reject',
  usage: 'reject ID',
  summary: 'decline a waiting (or failed) request',
  options: {},
  args: [1, 1],
  async run(ctx, [id]) {
    const client = await ctx.connect();
    const r = await client.call('reject', { id: id as string });
    ctx.out(ctx.json ? `${JSON.stringify(r, null, 2)}\n` : `${ctx.style.yellow('rejected')} ${r.id} (${r.goal} · ${r.type})\n`);
    return 0;
  },
};
