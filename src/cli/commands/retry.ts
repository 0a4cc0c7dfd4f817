/** `jitctl retry ID`: generate a failed request again now, from its kept description. */
import type { Command } from '../command.js';
import { safeJson, showName } from '../safe-text.js';

export const retryCommand: Command = {
  name: 'retry',
  usage: 'retry ID',
  summary: 'retry a failed request now',
  options: {},
  args: [1, 1],
  async run(ctx, [id]) {
    const client = await ctx.connect();
    const r = await client.call('retry', { id: id as string });
    ctx.out(ctx.json ? `${safeJson(r)}\n` : `${ctx.style.green('retrying')} ${showName(r.id)} (${showName(r.goal)} · ${showName(r.type)})\n`);
    return 0;
  },
};
