/** `jitctl regenerate ID [--feedback TEXT] [--review] [--wait]`: a new candidate from the model (docs/review.md). */
import type { RequestView } from '../../requests/request.js';
import type { Command, CommandContext } from '../command.js';
import { EXIT } from '../errors.js';
import { awaitRegeneration } from '../edit-text.js';
import { safeJson, showLine, showName } from '../safe-text.js';

/** One line for how a regeneration ended. */
export function regeneratedLine(ctx: CommandContext, r: RequestView | undefined): string {
  if (!r) return `${ctx.style.yellow('gone')}: the request no longer exists\n`;
  if (r.state === 'draft')
    return `${ctx.style.green('draft')} ${showName(r.id)}: candidate ${r.candidate} waits for review (jitctl approve ${showName(r.id)})\n`;
  if (r.state === 'done' && !r.lastError)
    return `${ctx.style.green('replaced')} ${showName(r.id)}: ${showName(r.type)}s/${showName(r.generatedName)} is candidate ${r.candidate}\n`;
  return `${ctx.style.red('not regenerated')} ${showName(r.id)} (${r.state}): ${showLine(r.lastError ?? 'stopped')}\n`;
}

export const regenerateCommand: Command = {
  name: 'regenerate',
  usage: 'regenerate ID [--feedback TEXT] [--review] [--wait]',
  summary: 'ask the model for a new candidate of a draft or of a generated component, with feedback',
  details: [
    'The previous candidate (a draft) or the installed text (a done component) and the feedback go to the model.',
    'A draft gets a new candidate. A done component is replaced (the map unchanged) unless review is on;',
    'a file a person edited since jitd wrote it is never overwritten: the result becomes a draft instead.',
    '--feedback TEXT   what to change',
    '--review          hold the result as a draft for `jitctl approve` even where it would replace at once',
    '--wait            wait for the new candidate and say how it ended',
  ],
  options: { feedback: { type: 'string' }, review: { type: 'boolean' }, wait: { type: 'boolean' } },
  args: [1, 1],
  async run(ctx, [id], values) {
    const client = await ctx.connect();
    const feedback = typeof values.feedback === 'string' ? values.feedback : undefined;
    const r = await client.call('regenerate', {
      id: id as string,
      ...(feedback !== undefined ? { feedback } : {}),
      ...(values.review ? { review: true } : {}),
    });
    if (!values.wait) {
      ctx.out(
        ctx.json
          ? `${safeJson(r)}\n`
          : `${ctx.style.green('regenerating')} ${showName(r.id)} (${showName(r.goal)} · ${showName(r.type)}): the new candidate follows\n`,
      );
      return EXIT.OK;
    }
    const after = await awaitRegeneration(client, r.id);
    ctx.out(ctx.json ? `${safeJson(after ?? null)}\n` : regeneratedLine(ctx, after));
    return after && (after.state === 'draft' || (after.state === 'done' && !after.lastError)) ? EXIT.OK : EXIT.FAILED;
  },
};
