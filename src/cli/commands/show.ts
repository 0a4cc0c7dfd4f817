/** `jitctl show ID`: one request whole: its record, its text (draft or installed) and its candidates. */
import type { ShowCandidate, ShowResult } from '../../ipc/messages/show.js';
import type { Command, CommandContext } from '../command.js';
import { EXIT } from '../errors.js';
import { keyValues } from '../output.js';
import { safeJson, showLine, showName, showText } from '../safe-text.js';

/** One line per candidate: number, provider, source, time, feedback. */
function candidateLine(c: ShowCandidate, current: number | undefined): string {
  const mark = c.candidate === current ? '*' : ' ';
  const p = c.provenance;
  if (!p) return `${mark} ${c.candidate}  (provenance unreadable)`;
  const feedback = p.feedback ? `  feedback: ${showLine(p.feedback)}` : '';
  return `${mark} ${c.candidate}  ${showLine(p.at)}  ${showLine(p.source ?? 'model')} via ${showLine(p.provider)}${feedback}`;
}

function human(ctx: CommandContext, s: ShowResult): string {
  const r = s.request;
  const pairs: [string, string][] = [
    ['id', ctx.style.cyan(showName(r.id))],
    ['state', `${r.state}${r.resolution ? ` (${r.resolution})` : ''}${r.regenerating ? ', regenerating' : ''}`],
    ['goal', showName(r.goal)],
    ['type', showName(r.type)],
    ['filename', showName(r.filename)],
    ['generated name', showName(r.generatedName)],
    ['created', r.createdAt],
    ['updated', r.updatedAt],
  ];
  if (r.description !== undefined) pairs.push(['description', showLine(r.description)]);
  if (r.lastError !== undefined) pairs.push(['last error', ctx.style.red(showLine(r.lastError))]);
  if (r.approved !== undefined) pairs.push(['approved', `candidate ${r.approved}`]);
  let out = keyValues(pairs);
  if (s.candidates.length) {
    out += `\n${ctx.style.bold('candidates')}\n${s.candidates.map((c) => candidateLine(c, r.state === 'draft' ? r.candidate : undefined)).join('\n')}\n`;
  }
  if (s.text) {
    const what = s.text.source === 'candidate' ? `draft: candidate ${s.text.candidate}` : `installed: ${showName(s.text.path ?? '')}`;
    const body = showText(s.text.content);
    out += `\n${ctx.style.bold(`── ${what} ──`)}\n${body}${body.endsWith('\n') ? '' : '\n'}`;
  } else if (s.textError) {
    out += `\n${ctx.style.yellow('no text')}: ${showLine(s.textError)}\n`;
  }
  return out;
}

export const showCommand: Command = {
  name: 'show',
  usage: 'show ID',
  summary: 'show one request whole: its state, description, text and candidates',
  details: [
    'The text is the draft (its current candidate) or, for a done request, the installed component.',
    "Candidates: one line each (the draft's marked *): number, time, source via provider, feedback.",
    '--json   {request, text?: {source, candidate?, path?, content}, textError?, candidates: [{candidate, provenance}]}',
  ],
  options: {},
  args: [1, 1],
  async run(ctx, [id]) {
    const client = await ctx.connect();
    const s = await client.call('show', { id: id as string });
    ctx.out(ctx.json ? `${safeJson(s)}\n` : human(ctx, s));
    return EXIT.OK;
  },
};
