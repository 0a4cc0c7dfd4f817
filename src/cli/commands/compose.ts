/** `jitctl compose GOAL`: print the assembled prompt; missing parts are named on stderr. */
import type { Command } from '../command.js';

export const composeCommand: Command = {
  name: 'compose',
  usage: 'compose GOAL',
  summary: "print the assembled prompt for a goal (its components in map order)",
  options: {},
  args: [1, 1],
  async run(ctx, [goal]) {
    const client = await ctx.connect();
    const c = await client.call('compose', { goal: goal as string });
    if (ctx.json) {
      ctx.out(`${JSON.stringify(c, null, 2)}\n`);
      return 0;
    }
    ctx.out(c.text);
    for (const p of c.parts) {
      if (p.status === 'missing') ctx.warn(`warning: ${p.type} ${p.filename} is missing (see jitctl pending)`);
      if (p.status === 'refused') ctx.warn(`warning: ${p.type} ${p.filename} was refused (it points outside the components directory)`);
    }
    return 0;
  },
};
