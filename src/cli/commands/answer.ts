/**
 * `jitctl answer ID [TEXT]`: answer one request. Without TEXT it asks on a terminal; with no
 * terminal it is a usage error (a script must pass the description).
 */
import type { RequestView } from '../../requests/request.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { LineInput } from '../line-input.js';
import { safeJson, showName } from '../safe-text.js';

/** `answered 3fa1… (GOAL · protocol): generating protocols/autogen_….txt` */
export function answeredLine(ctx: CommandContext, r: RequestView): string {
  const what = r.review ? 'generating a draft for review (jitctl approve)' : 'generating';
  return `${ctx.style.green('answered')} ${showName(r.id)} (${showName(r.goal)} · ${showName(r.type)}): ${what} ${showName(r.type)}s/${showName(r.generatedName)}\n`;
}

async function askOnTerminal(ctx: CommandContext, id: string): Promise<string> {
  const input = new LineInput(ctx.io.stdin, ctx.io.stdout);
  try {
    const line = await input.ask(`Description for request ${showName(id)}: `);
    if (line === undefined) throw new UsageError('no description given; nothing sent');
    return line;
  } finally {
    input.close();
  }
}

export const answerCommand: Command = {
  name: 'answer',
  usage: 'answer ID [TEXT] [--review]',
  summary: 'answer one request with a one-line description (asks on a terminal without TEXT)',
  details: [
    'ID may be a unique prefix of at least 4 characters. TEXT may be several words; quote it or not.',
    '--review   hold the generated component as a draft for `jitctl approve`, whatever generation.review says',
  ],
  options: { review: { type: 'boolean' } },
  args: [1, Infinity],
  async run(ctx, args, values) {
    const [id, ...words] = args as [string, ...string[]];
    let text = words.join(' ');
    if (!text.trim()) {
      if (!ctx.io.stdin.isTTY) throw new UsageError(`no description: pass the description as an argument: jitctl answer ${id} "TEXT"`);
      text = await askOnTerminal(ctx, id);
      if (!text.trim()) throw new UsageError('empty description; nothing sent');
    }
    const client = await ctx.connect();
    const r = await client.call('answer', { id, text, ...(values.review === true ? { review: true } : {}) });
    ctx.out(ctx.json ? `${safeJson(r)}\n` : answeredLine(ctx, r));
    return 0;
  },
};
