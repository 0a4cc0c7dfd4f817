/** `jitctl approve ID [--candidate N]`: install a draft (an earlier candidate: a rollback). */
import type { Command } from '../command.js';
import { countOption } from '../errors.js';

export const approveCommand: Command = {
  name: 'approve',
  usage: 'approve ID [--candidate N]',
  summary: 'install a draft held for review (its newest candidate, or candidate N)',
  details: ['--candidate N   approve an earlier candidate instead (numbered from 1)'],
  options: { candidate: { type: 'string' } },
  args: [1, 1],
  async run(ctx, [id], values) {
    const candidate = countOption(values, 'candidate');
    const client = await ctx.connect();
    const r = await client.call('approve', { id: id as string, ...(candidate !== undefined ? { candidate } : {}) });
    ctx.out(
      ctx.json
        ? `${JSON.stringify(r, null, 2)}\n`
        : `${ctx.style.green('approved')} ${r.id} candidate ${r.approved}: installing ${r.type}s/${r.generatedName}\n`,
    );
    return 0;
  },
};
