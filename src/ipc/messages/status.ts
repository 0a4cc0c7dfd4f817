/**
 * Message `status`: daemon health for `jitctl status`. Params `{sync?}`: when true the daemon
 * first waits for its watcher to catch up (cookie file) and for the engine to go idle.
 */
import { z } from 'zod';
import type { WatcherStatus } from '../context.js';
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
}
