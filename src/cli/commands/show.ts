/** `jitctl show ID`: one request whole: its record, its text (draft or installed) and its candidates. */
import type { ShowCandidate, ShowResult } from '../../ipc/messages/show.js';
import type { GenerationInfo, Peer, Usage } from '../../requests/provenance.js';
import type { Command, CommandContext } from '../command.js';
import { EXIT } from '../errors.js';
import { keyValues } from '../output.js';
import { safeJson, showLine, showName, showText } from '../safe-text.js';

/** `alice (uid 1000)`, or `uid 1000` for a uid without a user name. */
function peerText(p: Peer): string {
  return p.user !== undefined ? `${showName(p.user)} (uid ${p.uid})` : `uid ${p.uid}`;
}

/** `12 prompt + 30 completion = 42 tokens`, with what the server reported of it. */
function usageText(u: Usage): string {
  const parts = [u.promptTokens !== undefined ? `${u.promptTokens} prompt` : '', u.completionTokens !== undefined ? `${u.completionTokens} completion` : '']
    .filter(Boolean)
    .join(' + ');
  if (u.totalTokens === undefined) return `${parts} tokens`;
  return parts ? `${parts} = ${u.totalTokens} tokens` : `${u.totalTokens} tokens`;
}

/** `openai, model gpt-4o-mini, http://127.0.0.1:8080/v1`: what wrote a text. */
function writerText(g: Pick<GenerationInfo, 'provider' | 'model' | 'server'>): string {
  return [showLine(g.provider), g.model !== undefined ? `model ${showLine(g.model)}` : '', g.server !== undefined ? showLine(g.server) : '']
    .filter(Boolean)
    .join(', ');
}

/** One line per candidate: number, time, source via provider (model, tokens), who edited, feedback. */
function candidateLine(c: ShowCandidate, current: number | undefined): string {
  const mark = c.candidate === current ? '*' : ' ';
  const p = c.provenance;
  if (!p) return `${mark} ${c.candidate}  (provenance unreadable)`;
  const extra = [p.model !== undefined ? showLine(p.model) : '', p.usage?.totalTokens !== undefined ? `${p.usage.totalTokens} tokens` : '']
    .filter(Boolean)
    .join(', ');
  const by = p.editedBy ? `  by ${peerText(p.editedBy)}` : '';
  const feedback = p.feedback ? `  feedback: ${showLine(p.feedback)}` : '';
  return `${mark} ${c.candidate}  ${showLine(p.at)}  ${showLine(p.source ?? 'model')} via ${showLine(p.provider)}${extra ? ` (${extra})` : ''}${by}${feedback}`;
}

/** The provenance lines of `show`: who answered, and what wrote the installed component. */
function provenancePairs(s: ShowResult): [string, string][] {
  const pairs: [string, string][] = [];
  const { answeredBy, installed } = s.provenance ?? {};
  if (answeredBy) pairs.push(['answered by', peerText(answeredBy)]);
  if (!installed) return pairs;
  pairs.push(['written by', writerText(installed)]);
  if (installed.usage) pairs.push(['tokens', usageText(installed.usage)]);
  if (installed.candidate !== undefined)
    pairs.push(['installed', `candidate ${installed.candidate}${installed.approvedBy ? `, approved by ${peerText(installed.approvedBy)}` : ''}`]);
  pairs.push(['written', showLine(installed.at)]);
  return pairs;
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
  pairs.push(...provenancePairs(s));
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
  summary: 'show one request whole: its state, description, provenance, text and candidates',
  details: [
    'The text is the draft (its current candidate) or, for a done request, the installed component.',
    "Provenance: who answered (user and uid, from the socket's peer credentials, not what a client says),",
    'and for a component jitd installed what wrote it (provider, model, server), the tokens the server',
    'reported, the candidate installed and who approved it, and when it was written.',
    "Candidates: one line each (the draft's marked *): number, time, source via provider (model, tokens),",
    'who edited it, feedback.',
    '--json   {request, text?: {source, candidate?, path?, content}, textError?, candidates: [{candidate, provenance}],',
    '          provenance: {answeredBy?: {uid, user?}, installed?: {provider, model?, server?, usage?, candidate?,',
    '          approvedBy?, at}}}',
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
