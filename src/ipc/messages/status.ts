/**
 * Message `status`: daemon health for `jitctl status`. Params `{sync?}`: when true the daemon
 * first waits for its watcher to catch up (cookie file) and for the engine to go idle.
 */
import { z } from 'zod';
import type { TreeStatus, WatcherStatus } from '../context.js';
import type { HookStats } from '../../hooks/hook-runner.js';
import type { RequestState } from '../../requests/request.js';
import type { ReconcileSummary } from './reconcile.js';
import type { GitStatus } from '../../reconcile/git-activity.js';

export const StatusParams = z.strictObject({
  sync: z.boolean().optional(),
});
export type StatusParams = z.input<typeof StatusParams>;

export interface StatusResult {
  pid: number;
  /** ISO time the daemon started. */
  startedAt: string;
  uptimeMs: number;
  version: string;
  node: string;
  paths: { config: string; map: string; components: string; state: string; socket: string };
  counts: {
    goals: number;
    entries: number;
    components: number;
    missing: number;
    requests: Record<RequestState, number>;
    queue: Record<string, number>;
    /**
     * Saves made through a descriptor opened before a map write of jitd's (an editor saving in
     * place): detected, re-applied with jitd's change on top, kept aside under
     * `<stateDir>/recovered/` because the map was saved again meanwhile; and map versions watched now.
     */
    inPlaceSaves: { detected: number; reapplied: number; keptAside: number; watching: number };
    /** Full plans of the map since start, and map changes recognised as jitd's own write (no plan). */
    mapSyncs: { planned: number; ownWriteSkipped: number };
  };
  provider: string;
  lastReconcile: ReconcileSummary | null;
  /** Why the map is unusable right now (the last good map is kept), or null. */
  mapError: string | null;
  /** The last failure to write the library (full disk, EIO...) until a later write succeeds, or null. */
  writeError: string | null;
  /** Entries skipped as unsafe or malformed: the count and the first few. */
  mapProblems: { count: number; first: { goal: string; type?: string; message: string }[] };
  watcher: WatcherStatus;
  /** The library's git repository and whether jitd's library writes wait for it; null: `git.hold` is off. */
  git: GitStatus | null;
  /** The components tree and state directory: available or why not; directories made again. */
  tree?: TreeStatus;
  /** Event hooks (contract §9): what is configured, running and queued, and how runs ended. */
  hooks?: HookStats;
}
