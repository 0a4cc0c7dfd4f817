/** `jitctl status [--sync]`: daemon health. */
import type { StatusResult } from '../../ipc/messages/status.js';
import type { Command } from '../command.js';
import { formatDuration, keyValues, type Style } from '../output.js';

function reconcileLine(s: NonNullable<StatusResult['lastReconcile']>): string {
  const o = s.orphans;
  const parts = [
    `created ${s.created}`,
    `rolled forward ${s.rolledForward}`,
    `temps removed ${s.tempsRemoved}`,
    `withdrawn ${s.withdrawn}`,
    `orphans quarantined ${o.quarantined}, deleted ${o.deleted}, kept ${o.kept}`,
    `unreferenced ${o.unreferenced}`,
  ];
  return `${s.at}  ${s.mapError ? `stopped: ${s.mapError}` : parts.join(', ')}`;
}

/** The human rendering of a status result. */
export function renderStatus(st: StatusResult, style: Style): string {
  const c = st.counts;
  const requests = Object.entries(c.requests)
    .map(([k, v]) => (v && k === 'failed' ? style.red(`${k} ${v}`) : v && k === 'waiting' ? style.yellow(`${k} ${v}`) : `${k} ${v}`))
    .join(' · ');
  const queue = Object.entries(c.queue)
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
  const w = st.watcher;
  const watcher = `${w.backend} ${w.ready ? style.green('ready') : style.yellow('starting')}${w.error ? `  ${style.red(`error: ${w.error}`)}` : ''}${w.fallback ? `  fallback: ${w.fallback}` : ''}`;
  const pairs: [string, string][] = [
    ['daemon', `${style.bold(`jitd ${st.version}`)}  pid ${st.pid}  up ${formatDuration(st.uptimeMs)}  node ${st.node}`],
    ['provider', st.provider],
    ['config', st.paths.config],
    ['map', st.paths.map],
    ['components', st.paths.components],
    ['state', st.paths.state],
    ['socket', st.paths.socket],
    ['library', `goals ${c.goals} · entries ${c.entries} · components ${c.components} · missing ${c.missing ? style.yellow(String(c.missing)) : '0'}`],
    ['requests', requests],
    ['queue', queue],
    ['watcher', watcher],
    ['last reconcile', st.lastReconcile ? reconcileLine(st.lastReconcile) : 'never'],
    ['map error', st.mapError ? style.red(st.mapError) : 'none'],
  ];
  if (st.git?.gitDir) pairs.push(['git', st.git.held ? style.yellow(`library writes held: ${st.git.held} (since ${st.git.heldSince})`) : `${st.git.gitDir}  library writes go ahead`]);
  if (st.writeError) pairs.push(['write error', style.red(`${st.writeError} (retried on the next change or rescan)`)]);
  if (st.mapProblems.count) {
    pairs.push(['map problems', style.yellow(`${st.mapProblems.count} entr${st.mapProblems.count === 1 ? 'y' : 'ies'} skipped`)]);
    for (const p of st.mapProblems.first) pairs.push(['', `${p.goal}${p.type ? `.${p.type}` : ''}: ${p.message}`]);
  }
  return keyValues(pairs);
}

export const statusCommand: Command = {
  name: 'status',
  usage: 'status [--sync]',
  summary: 'daemon health: pid, uptime, paths, counts, provider, last reconcile, map errors',
  details: ['--sync   first wait until the daemon has seen every change made to the library so far'],
  options: { sync: { type: 'boolean' } },
  args: [0, 0],
  async run(ctx, _args, values) {
    const client = await ctx.connect();
    const st = await client.call('status', values.sync ? { sync: true } : {});
    ctx.out(ctx.json ? `${JSON.stringify(st, null, 2)}\n` : renderStatus(st, ctx.style));
    return 0;
  },
};
