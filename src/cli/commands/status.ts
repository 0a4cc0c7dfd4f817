/** `jitctl status [--sync]`: daemon health. */
import type { StatusResult } from '../../ipc/messages/status.js';
import type { Command } from '../command.js';
import { formatDuration, keyValues, type Style } from '../output.js';
import { safeJson, showLine, showName } from '../safe-text.js';

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
  return `${s.at}  ${s.mapError ? `stopped: ${showLine(s.mapError)}` : parts.join(', ')}`;
}

function hooksLine(h: NonNullable<StatusResult['hooks']>, style: Style): string {
  if (!h.configured.length) return 'none configured';
  const failed = h.failed ? style.red(`failed ${h.failed}`) : 'failed 0';
  const detail = [h.timedOut && `timed out ${h.timedOut}`, h.notStarted && `not started ${h.notStarted}`, h.flooded && `output flood ${h.flooded}`]
    .filter(Boolean)
    .join(', ');
  return `${h.configured.join(', ')}  ·  ok ${h.ok} · ${failed}${detail ? ` (${detail})` : ''} · running ${h.running} · queued ${h.queued}${h.dropped ? ` · ${style.yellow(`dropped ${h.dropped}`)}` : ''}`;
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
  const watcher = `${w.backend} ${w.ready ? style.green('ready') : style.yellow('starting')}${w.error ? `  ${style.red(`error: ${showLine(w.error)}`)}` : ''}${w.fallback ? `  fallback: ${showLine(w.fallback)}` : ''}`;
  const pairs: [string, string][] = [
    ['daemon', `${style.bold(`jitd ${st.version}`)}  pid ${st.pid}  up ${formatDuration(st.uptimeMs)}  node ${st.node}`],
    ['provider', showLine(st.provider)],
    ['config', showLine(st.paths.config)],
    ['map', showLine(st.paths.map)],
    ['components', showLine(st.paths.components)],
    ['state', showLine(st.paths.state)],
    ['socket', showLine(st.paths.socket)],
    ['library', `goals ${c.goals} · entries ${c.entries} · components ${c.components} · missing ${c.missing ? style.yellow(String(c.missing)) : '0'}`],
    ['requests', requests],
    ['queue', queue],
    ['watcher', watcher],
    ['last reconcile', st.lastReconcile ? reconcileLine(st.lastReconcile) : 'never'],
    ['map error', st.mapError ? style.red(showLine(st.mapError)) : 'none'],
  ];
  if (st.git?.gitDir)
    pairs.push([
      'git',
      st.git.held
        ? style.yellow(`library writes held: ${showLine(st.git.held)} (since ${st.git.heldSince})`)
        : `${showLine(st.git.gitDir)}  library writes go ahead`,
    ]);
  // The tree under jitd (contract §4.7): shown only when something is away or was made again.
  if (st.tree && st.tree.components !== 'available') pairs.push(['components', style.yellow(`unavailable: ${showLine(st.tree.components)}`)]);
  if (st.tree && st.tree.state !== 'available') pairs.push(['state', style.yellow(`unavailable: ${showLine(st.tree.state)}`)]);
  for (const d of st.tree?.recreated ?? []) pairs.push(['recreated', `${showLine(d.path)} (${d.times}×, last ${d.at})`]);
  const lost = st.watcher.lossDetector;
  if (lost?.noticed)
    pairs.push(['lost events', `noticed ${lost.noticed}× (last ${lost.lastNoticedAt}: ${showLine(lost.lastNoticed?.join(', ') ?? '')}), rescanned`]);
  if (st.hooks) pairs.push(['hooks', hooksLine(st.hooks, style)]);
  if (st.hooks?.lastFailure)
    pairs.push(['', style.red(`last failure: ${st.hooks.lastFailure.event} at ${st.hooks.lastFailure.at}: ${showLine(st.hooks.lastFailure.message)}`)]);
  if (st.writeError) pairs.push(['write error', style.red(`${showLine(st.writeError)} (retried on the next change or rescan)`)]);
  if (st.mapProblems.count) {
    pairs.push(['map problems', style.yellow(`${st.mapProblems.count} entr${st.mapProblems.count === 1 ? 'y' : 'ies'} skipped`)]);
    for (const p of st.mapProblems.first) pairs.push(['', `${showName(p.goal)}${p.type !== undefined ? `.${showName(p.type)}` : ''}: ${showLine(p.message)}`]);
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
    ctx.out(ctx.json ? `${safeJson(st)}\n` : renderStatus(st, ctx.style));
    return 0;
  },
};
