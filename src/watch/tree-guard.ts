/**
 * What jitd does when its directories change under it (contract §4.7): the rules given to
 * ensureDurableDir (fsio/durable-dir.ts) and a look every few seconds at the state directory
 * and the control socket.
 *
 * - The components root is never made by jitd: an install while it is away is held (the engine
 *   waits for it; dir-watch.ts reports its return).
 * - The state directory is made again only if it was removed (dir-fate.ts tells a removal from a
 *   move): then its subdirectories are made again with every request jitd holds
 *   (`restoreState`). One moved away is waited for, and reported, until it is back.
 * - The socket file gone (with its directory, or alone) while its directory is there: jitd
 *   listens again (`relisten`).
 * Every directory made is logged; those made again are kept for `jitctl status`.
 */
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { onDirCreated, recreatedDirs, setDirRoot, type RecreatedDir } from '../fsio/durable-dir.js';
import type { FsLayer } from '../fsio/fs-layer.js';
import { watchDirFate } from './dir-fate.js';

export interface TreeGuardOptions {
  fs: FsLayer;
  componentsDir: string;
  stateDir: string;
  socketPath: string;
  log: Logger;
}

export interface TreeGuardActions {
  /** Period of the look at the state directory and the socket. */
  periodMs: number;
  /** Makes the state subdirectories again and writes back what jitd holds; answers what it made. */
  restoreState(): Promise<string[]>;
  /** Listens again at the socket path. */
  relisten(): Promise<void>;
  onError(err: unknown): void;
}

export interface TreeGuard {
  /** Starts the periodic look (once the engine and the socket are up). */
  start(actions: TreeGuardActions): void;
  /** `available`, or why the state directory is not. */
  stateStatus(): string;
  /** Directories made again after they vanished while jitd ran. */
  recreated(): RecreatedDir[];
  close(): Promise<void>;
}

/** Sets the rules for the library's roots (call with the state directory in place and locked). */
export async function startTreeGuard(o: TreeGuardOptions): Promise<TreeGuard> {
  const fate = await watchDirFate(o.stateDir);
  let away: string | undefined;
  const unregister = [
    setDirRoot(o.fs, o.componentsDir),
    setDirRoot(o.fs, o.stateDir, { mayRecreate: async () => (await fate.check()) === 'removed' }),
    onDirCreated(o.fs, (dir, again) => (again ? o.log.warn({ dir }, 'directory was gone; made it again') : o.log.info({ dir }, 'directory created'))),
  ];
  let timer: NodeJS.Timeout | undefined;

  const look = async (a: TreeGuardActions): Promise<void> => {
    const now = await fate.check();
    if (now === 'removed') {
      const made = await a.restoreState();
      if (made.length) o.log.warn({ state: o.stateDir, made }, 'state directory was removed; made it again with every request jitd holds');
    } else if (now === 'moved' || now === 'unknown') {
      if (!away) o.log.warn({ state: o.stateDir }, 'state directory moved away; waiting for it (answers fail until it is back)');
      away = `${o.stateDir} is missing (moved away); jitd waits for it`;
      return;
    }
    if (away) o.log.info({ state: o.stateDir }, 'state directory is back');
    away = undefined;
    const socket = await lstat(o.socketPath).catch(() => undefined);
    const socketDir = await lstat(dirname(o.socketPath)).catch(() => undefined);
    if (!socket && socketDir?.isDirectory()) await a.relisten();
  };

  return {
    start(a) {
      let busy = false;
      timer = setInterval(() => {
        if (busy) return;
        busy = true;
        look(a)
          .catch((err: unknown) => a.onError(err))
          .finally(() => (busy = false));
      }, a.periodMs);
      timer.unref();
    },
    stateStatus: () => away ?? 'available',
    recreated: () => recreatedDirs(o.fs),
    async close() {
      if (timer) clearInterval(timer);
      for (const off of unregister) off();
      await fate.close();
    },
  };
}
