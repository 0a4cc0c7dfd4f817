/** `jitctl compose GOAL`: print the assembled prompt; missing parts are named on stderr. */
import type { Command } from '../command.js';
import { safeJson, showName, showText } from '../safe-text.js';

export const composeCommand: Command = {
  name: 'compose',
  usage: 'compose GOAL',
  summary: 'print the assembled prompt for a goal (its components in map order)',
  options: {},
  args: [1, 1],
  async run(ctx, [goal]) {
    const client = await ctx.connect();
    const c = await client.call('compose', { goal: goal as string });
    if (ctx.json) {
      ctx.out(`${safeJson(c)}\n`);
      return 0;
    }
    // The prompt is data: exact into a pipe or a file, control characters made visible on a terminal.
    if (ctx.io.stdout.isTTY) ctx.out(showText(c.text));
    else ctx.exact(c.text);
    for (const p of c.parts) {
      if (p.status === 'missing') ctx.warn(`warning: ${showName(p.type)} ${showName(p.filename)} is missing (see jitctl pending)`);
      if (p.status === 'refused') ctx.warn(`warning: ${showName(p.type)} ${showName(p.filename)} was refused (it points outside the components directory)`);
    }
    return 0;
  },
};
