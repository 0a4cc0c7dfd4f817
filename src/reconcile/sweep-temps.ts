/**
 * Removing jitd's leftover temp files (invariant 2), and only jitd's (invariant 4: jitd deletes
 * only files it created itself): every `.jitd-tmp.*` file in the map's directory, componentsDir,
 * the `<type>s` directories and the state directories (the caller names them). `status --sync`
 * cookies are jitd temps by name and go too. Temps still in use by this process (puts in flight,
 * cookies being watched) are spared, so a reconcile requested at run time never pulls a file
 * from under them.
 *
 * The seed's own temp name, `goal_map.json.tmp`, is also the name of a person's
 * `jq … > goal_map.json.tmp && mv goal_map.json.tmp goal_map.json`: it is never deleted. Only a
 * stale one — not modified for {@link SEED_TEMP_STALE_MS}, which no writer in the middle of its
 * work leaves it — is taken for a crashed seed-era run's leftover and moved to
 * `<stateDir>/quarantine/temps/` with a record of where it came from, so even a wrong guess
 * loses nothing.
 */
import { basename, dirname, join } from 'node:path';
import { syncDirOrDie } from '../fsio/durable-put.js';
import { hasCode, lstatOrNull, readdirOrEmpty, type FsLayer } from '../fsio/fs-layer.js';
import { isJitdTemp, liveTemps, SEED_MAP_TEMP_SUFFIX } from '../fsio/temp-files.js';
import { quarantine, stamp } from './orphans.js';

/**
 * How long the seed-style map temp must have stood unmodified before jitd takes it for a crash's
 * leftover. The idiom it shares the name with holds it for milliseconds (a script writing a huge
 * map: seconds); ten minutes without a write is no writer at work. A clock set back leaves a
 * file "from the future": that is not stale either.
 */
export const SEED_TEMP_STALE_MS = 10 * 60 * 1000;

/** `<stateDir>/quarantine/temps`. */
const tempQuarantineDir = (stateDir: string) => join(stateDir, 'quarantine', 'temps');

/** Deletes stale jitd temps in each directory of `dirs`; answers the paths removed. */
export async function sweepTemps(fs: FsLayer, dirs: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of new Set(dirs)) {
    let touched = false;
    for (const entry of await readdirOrEmpty(fs, dir)) {
      if (!isJitdTemp(entry.name)) continue;
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

export interface SeedTempOptions {
  stateDir: string;
  /** Override of {@link SEED_TEMP_STALE_MS}. */
  staleMs?: number;
  now?: number;
}

/**
 * Moves a stale seed-era `<map>.tmp` to quarantine; answers where it went, or undefined if there
 * is none or it is not stale (a person's, in use: left alone).
 */
export async function quarantineStaleSeedTemp(fs: FsLayer, mapFile: string, opts: SeedTempOptions): Promise<string | undefined> {
  const path = join(dirname(mapFile), basename(mapFile) + SEED_MAP_TEMP_SUFFIX);
  const st = await lstatOrNull(fs, path);
  if (st?.kind !== 'file') return undefined;
  const age = (opts.now ?? Date.now()) - st.mtimeMs;
  if (!(age >= (opts.staleMs ?? SEED_TEMP_STALE_MS))) return undefined;
  try {
    // A link, then the unlink: a write that lands in between still lands in the quarantined inode.
    return await quarantine(
      fs,
      path,
      tempQuarantineDir(opts.stateDir),
      `${stamp(new Date())}-${basename(path)}`,
      "seed-style map temp file left unmodified (a crashed run's leftover)",
    );
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined; // renamed into place meanwhile: it was in use
    throw err;
  }
}
