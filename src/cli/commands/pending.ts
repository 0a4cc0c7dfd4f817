/** `jitctl pending [--state S]...`: requests waiting for a description (or in the given states). */
import { REQUEST_STATES, type RequestState } from '../../requests/request.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { fetchAllRequests, missingPath } from '../fetch-requests.js';
import { age, table } from '../output.js';
import { safeJson, showName } from '../safe-text.js';

function parseStates(raw: unknown): RequestState[] {
  const list = (Array.isArray(raw) ? (raw as string[]) : []).flatMap((s) => s.split(','));
  if (!list.length) return ['waiting'];
  for (const s of list) {
    if (!(REQUEST_STATES as readonly string[]).includes(s)) throw new UsageError(`unknown state ${JSON.stringify(s)}; states: ${REQUEST_STATES.join(', ')}`);
  }
  return list as RequestState[];
}

export const pendingCommand: Command = {
  name: 'pending',
  usage: 'pending [--state STATE]...',
  summary: 'list the requests waiting for a description',
  details: [
    `--state STATE   list requests in STATE instead (repeatable, or comma-separated): ${REQUEST_STATES.join(', ')}`,
    '--json          an array of request objects (id, goal, type, filename, state, ...)',
  ],
  options: { state: { type: 'string', multiple: true } },
  args: [0, 0],
  async run(ctx, _args, values) {
    const states = parseStates(values.state);
    const client = await ctx.connect();
    const requests = await fetchAllRequests(client, states);
    if (ctx.json) {
      ctx.out(`${safeJson(requests)}\n`);
      return 0;
    }
    if (!requests.length) {
      ctx.out(`no ${states.join('/')} requests\n`);
      return 0;
    }
    const showState = states.length > 1 || states[0] !== 'waiting';
    const header = ['ID', 'GOAL', 'TYPE', 'MISSING FILE', 'AGE', ...(showState ? ['STATE'] : [])];
    const rows = requests.map((r) => [
      ctx.style.cyan(showName(r.id)),
      showName(r.goal),
      showName(r.type),
      missingPath(r),
      age(r.createdAt),
      ...(showState ? [r.state] : []),
    ]);
    ctx.out(table(header, rows, ctx.style));
    if (!showState) ctx.out(ctx.style.dim(`\n${requests.length} waiting · answer with: jitctl answer ID "description"  (or: jitctl prompt)\n`));
    return 0;
  },
};
