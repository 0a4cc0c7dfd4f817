/**
 * Removing jitd's leftover temp files (invariant 2): every `.jitd-tmp.*` file in the map's
 * directory, componentsDir, the `<type>s` directories and the state directories (the caller
 * names them), plus the seed's `goal_map.json.tmp`. `status --sync` cookies are jitd temps by
 * name and go too. Temps still in use by this process (puts in flight, cookies being watched)
 * are spared, so a reconcile requested at run time never pulls a file from under them.
 */
import { basename, dirname, join } from 'node:path';
import { syncDirOrDie } from '../fsio/durable-put.js';
import { hasCode, readdirOrEmpty, type FsLayer } from '../fsio/fs-layer.js';
import { isJitdTemp, liveTemps, SEED_MAP_TEMP_SUFFIX } from '../fsio/temp-files.js';

/** Deletes stale temps in each directory of `dirs`; answers the paths removed. */
export async function sweepTemps(fs: FsLayer, dirs: readonly string[], mapFile: string): Promise<string[]> {
  const removed: string[] = [];
  const seedTemp = basename(mapFile) + SEED_MAP_TEMP_SUFFIX;
  for (const dir of new Set(dirs)) {
    let touched = false;
    for (const entry of await readdirOrEmpty(fs, dir)) {
      const isSeedTemp = dir === dirname(mapFile) && entry.name === seedTemp;
      if (!isJitdTemp(entry.name) && !isSeedTemp) continue;
      const path = join(dir, entry.name);
      if (liveTemps.has(path) || entry.kind === 'dir') continue;
      try {
        await fs.unlink(path);
        removed.push(path);
        touched = true;
      } catch (err) {
        if (!hasCode(err, 'ENOENT')) throw err;
      }
    }
    if (touched) await syncDirOrDie(fs, dir);
  }
  return removed;
}
