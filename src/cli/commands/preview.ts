/**
 * `jitctl preview ID [--description TEXT]`: the exact messages the model would get for a
 * request, each with its size and a token estimate, then which library context went in and
 * which was left out. Calls no model. `--json` prints the messages array exactly as sent.
 *
 * Text from the library and the description is printed with control characters made visible,
 * so a component or a map name can never drive the terminal.
 */
import type { PreviewResult } from '../../ipc/messages/preview.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { showLine, showName, showText } from '../safe-text.js';

const REASON: Record<string, string> = {
  budget: 'over the context budget',
  scaffold: 'a template scaffold, never an example',
  missing: 'not there',
  refused: 'not readable (outside the components directory, or not a regular file)',
  empty: 'empty',
};

function render(ctx: CommandContext, p: PreviewResult): string {
  const { style } = ctx;
  const r = p.request;
  const out: string[] = [];
  out.push(`${style.bold('preview')} of request ${style.cyan(r.id)}: ${showName(r.goal)} · ${showName(r.type)} · ${showName(r.filename)} (${r.state})`);
  const via = [p.provider.model, p.provider.baseURL].filter(Boolean).join(' at ');
  out.push(
    p.provider.name === 'template'
      ? 'provider: template (offline: nothing is sent; these are the messages the openai provider would send)'
      : `provider: ${p.provider.name}${via ? ` (${showLine(via)})` : ''}; nothing was sent for this preview`,
  );
  if (p.descriptionPlaceholder) {
    out.push(style.yellow('description: not given yet; a marked placeholder stands in its place (pass --description TEXT to see the real thing)'));
  }
  p.messages.forEach((m, i) => {
    const size = p.sizes[i]!;
    out.push('', style.bold(`── message ${i + 1} of ${p.messages.length}: ${m.role} (${size.bytes} bytes, ≈${size.tokens} tokens) ──`), showText(m.content));
  });
  out.push('', style.bold(`── end of messages ──`), '');
  const c = p.context;
  out.push(`library context: ${c.usedBytes} of ${c.budgetBytes} bytes (generation.contextBytes)`);
  for (const x of c.included) {
    const why =
      x.kind === 'example'
        ? `; goals: ${x.goals?.length ? showName(x.goals.join(', ')) : 'none'}; shared name words: ${x.overlap?.length ? showName(x.overlap.join(', ')) : 'none'}`
        : '';
    out.push(`  ${style.green('included')}  ${x.kind.padEnd(7)}  ${showName(x.type)} ${showName(x.filename)}  ${x.bytes} bytes${why}`);
  }
  for (const o of c.omitted) {
    out.push(
      `  ${style.yellow('left out')}  ${o.kind.padEnd(7)}  ${showName(o.type)} ${showName(o.filename)}${o.bytes !== undefined ? `  ${o.bytes} bytes` : ''}: ${REASON[o.reason] ?? o.reason}`,
    );
  }
  if (!c.included.length && !c.omitted.length) out.push('  (no other components of this goal, no same-type components to show)');
  out.push(`instructions: common ${showName(c.instructions.common)}; ${showName(r.type)} ${showName(c.instructions.type)}`);
  out.push(`total: ${p.bytes} bytes, ≈${p.tokens} tokens (estimated as ${p.tokenRule}; the server's tokenizer may count differently)`);
  return `${out.join('\n')}\n`;
}

export const previewCommand: Command = {
  name: 'preview',
  usage: 'preview ID [--description TEXT]',
  summary: 'show the exact messages the model would get for a request (calls no model)',
  details: [
    'Prints each message with its size and a token estimate (bytes / 4), then which library context',
    "(the goal's other components, same-type examples) was included or left out of generation.contextBytes.",
    'Works in every state. A request without a description shows a marked placeholder in its place.',
    "--description TEXT   preview with this description instead of the request's own",
    '--json               the messages array exactly as sent to the model',
  ],
  options: { description: { type: 'string' } },
  args: [1, 1],
  async run(ctx, [id], values) {
    const description = values.description as string | undefined;
    if (description !== undefined && !description.trim()) throw new UsageError('--description is empty');
    const client = await ctx.connect();
    const p = await client.call('preview', { id: id as string, ...(description !== undefined ? { description } : {}) });
    if (ctx.json) {
      ctx.out(`${JSON.stringify(p.messages, null, 2)}\n`);
      return 0;
    }
    ctx.out(render(ctx, p));
    return 0;
  },
};
