/**
 * What the control-socket handlers may use of the running daemon. The daemon builds one
 * `DaemonContext`; handlers receive it and nothing else, so they can be tested against an
 * in-process engine on a temporary library.
 */
import type { Logger } from 'pino';
import type { Config } from '../library/config.js';
import type { Engine } from '../jobs/engine.js';
import type { TreeStatus, WatcherStatus } from '../watch/watcher.js';
import type { HookStats } from '../hooks/hook-runner.js';

export type { TreeStatus, WatcherStatus };

export interface DaemonContext {
  engine: Engine;
  config: Config;
  log: Logger;
  startedAt: number;
  watcherStatus(): WatcherStatus;
  /** Whether the components tree and the state directory are there, and what was made again. */
  treeStatus?(): TreeStatus;
  /**
   * Waits until the watcher has delivered every event for changes made before the call (a cookie
   * file written into the watched directories, as watchman does), then until the engine is idle.
   */
  syncWatcher(): Promise<void>;
  /** The event hooks' counts, when the daemon runs hooks. */
  hookStats?(): HookStats;
}
