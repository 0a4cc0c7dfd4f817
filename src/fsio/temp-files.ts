/**
 * Names of jitd's own temporary files. Every temp file jitd creates starts with
 * {@link TEMP_PREFIX}, lives in the same directory as its target (so the final rename or link
 * never crosses a file system), and is therefore recognisable by name alone: the reconciler
 * deletes every one of them at start-up (invariant 2), and the watcher ignores them.
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export const TEMP_PREFIX = '.jitd-tmp.';

/** The seed's own temp name for the map, swept as well: a crashed seed-era run leaves it. */
export const SEED_MAP_TEMP_SUFFIX = '.tmp';

/**
 * Temp files this process is writing right now. A reconcile at run time skips them; the
 * start-up reconcile (no put in flight yet) removes every temp file it finds.
 */
export const liveTemps = new Set<string>();

/** A fresh, unique temp path beside `target`, registered in {@link liveTemps} until released. */
export function tempPathFor(target: string): string {
  const hint = basename(target).slice(0, 40);
  const path = join(dirname(target), `${TEMP_PREFIX}${hint}.${randomBytes(6).toString('hex')}`);
  liveTemps.add(path);
  return path;
}

/** True if `name` (a base name) is one of jitd's temp files. */
export function isJitdTemp(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}
