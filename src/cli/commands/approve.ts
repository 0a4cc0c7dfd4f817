/** `jitctl approve ID [--candidate N]`: install a draft (an earlier candidate: a rollback). */
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';

export const approveCommand: Command = {
  name: 'approve',
  usage: 'approve ID [--candidate N]',
  summary: 'install a draft held for review (its newest candidate, or candidate N)',
  details: ['--candidate N   approve an earlier candidate instead (numbered from 1)'],
  options: { candidate: { type: 'string' } },
  args: [1, 1],
  async run(ctx, [id], values) {
    const raw = values.candidate;
    let candidate: number | undefined;
    if (typeof raw === 'string') {
      if (!/^[1-9][0-9]{0,5}$/.test(raw)) throw new UsageError(`--candidate takes a number from 1, not ${JSON.stringify(raw)}`);
      candidate = Number(raw);
    }
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
