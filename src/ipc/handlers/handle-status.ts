/** Handler of `status`: daemon health, optionally after the watcher has caught up (`sync`). */
import { StatusParams, type StatusResult } from '../messages/status.js';
import { VERSION } from '../../version.js';
import { defineHandler } from './handler.js';
import { summarizeReconcile } from './reconcile-summary.js';

const FIRST_PROBLEMS = 10;

export const handleStatus = defineHandler({
  method: 'status',
  params: StatusParams,
  async handle(ctx, params): Promise<StatusResult> {
    if (params.sync) await ctx.syncWatcher();
    const { engine, config } = ctx;
    const problems = engine.mapState.map?.problems ?? [];
    return {
      pid: process.pid,
      startedAt: new Date(ctx.startedAt).toISOString(),
      uptimeMs: Date.now() - ctx.startedAt,
      version: VERSION,
      node: process.version,
      paths: {
        config: config.configFile,
        map: config.mapFile,
        components: config.componentsDir,
        state: config.stateDir,
        socket: config.socketPath,
      },
      counts: engine.counts(),
      provider: engine.provider.name,
      lastReconcile: engine.lastReconcile ? summarizeReconcile(engine.lastReconcile) : null,
      mapError: engine.mapState.mapError ?? null,
      writeError: engine.mapState.writeError ?? null,
      mapProblems: { count: problems.length, first: problems.slice(0, FIRST_PROBLEMS) },
      watcher: ctx.watcherStatus(),
      git: engine.git?.status() ?? null,
      ...(ctx.treeStatus ? { tree: ctx.treeStatus() } : {}),
      ...(ctx.hookStats ? { hooks: ctx.hookStats() } : {}),
    };
  },
});
