/** `jitctl retry ID`: generate a failed request again now, from its kept description. */
import type { Command } from '../command.js';

export const retryCommand: Command = {
  name: 'retry',
  usage: 'retry ID',
  summary: 'retry a failed request now',
  options: {},
  args: [1, 1],
  async run(ctx, [id]) {
    const client = await ctx.connect();
    const r = await client.call('retry', { id: id as string });
    ctx.out(ctx.json ? `${JSON.stringify(r, null, 2)}\n` : `${ctx.style.green('retrying')} ${r.id} (${r.goal} · ${r.type})\n`);
    return 0;
  },
};
