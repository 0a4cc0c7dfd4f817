/**
 * Repointing map entries (invariants 1, 4, 5): jitd applies its change on top of the map as it
 * is on disk at the moment of writing, so a person's edits are never overwritten.
 *
 *   1. read the map bytes B and parse them (unparsable: write nothing, report);
 *   2. apply each repoint `(goal, type): from -> to` only where the entry still says `from`;
 *   3. durable-put the result, and just before the rename re-read the map: if it is no longer
 *      B, a person saved meanwhile — drop the temp and start again from 1.
 *
 * Many repoints commit in one write (group commit): installs that finish together pay for one
 * map fsync. The remaining window — a save landing between the re-read and the rename, a few
 * microseconds — cannot be closed without locking editors out; if it happens, the person's
 * save is the one replaced, and the next save is re-checked by the watcher as usual.
 */
import { durablePut } from '../fsio/durable-put.js';
import type { FsLayer } from '../fsio/fs-layer.js';
import { JitdError } from '../fsio/errors.js';
import { detectIndent, serializeGoalMap } from '../library/goal-map.js';
import { readMap, readMapBytes } from './map-file.js';

export interface Repoint {
  goal: string;
  type: string;
  from: string;
  to: string;
}

export type RepointOutcome = 'applied' | 'already' | 'entry-changed';

export interface CommitResult {
  outcomes: RepointOutcome[];
  /** The bytes now on disk (jitd's own write, recognised by the watcher by this content). */
  written?: Buffer;
  /** How many times a concurrent save made it start again. */
  restarts: number;
}

class MapChangedUnderUs extends JitdError {
  constructor() {
    super('EMAPRACE', 'the map changed while jitd was writing it');
  }
}

/** The largest number of restarts before giving up (a person saving non-stop). */
const MAX_RESTARTS = 20;

/**
 * Applies `repoints` to the map on disk. Throws MapParseError/MapUnavailableError (nothing
 * written) or a disk error; `beforeWrite` lets the caller record the bytes it is about to write.
 */
export async function commitRepoints(
  fs: FsLayer,
  mapFile: string,
  repoints: readonly Repoint[],
  hooks: { beforeWrite?: (bytes: Buffer) => void } = {},
): Promise<CommitResult> {
  for (let restarts = 0; ; restarts++) {
    const { bytes, map } = await readMap(fs, mapFile);
    const json = map.json;
    const outcomes = repoints.map((r): RepointOutcome => {
      const goal = json[r.goal];
      if (typeof goal !== 'object' || goal === null || Array.isArray(goal)) return 'entry-changed';
      const current = (goal as Record<string, unknown>)[r.type];
      if (current === r.to) return 'already';
      if (current !== r.from) return 'entry-changed';
      (goal as Record<string, unknown>)[r.type] = r.to;
      return 'applied';
    });
    if (!outcomes.includes('applied')) return { outcomes, restarts };
    const next = Buffer.from(serializeGoalMap(json, detectIndent(bytes.toString('utf8'))), 'utf8');
    // The person's file keeps its permission bits (a team may edit a group-writable map).
    const mode = (await fs.lstat(mapFile)).mode;
    hooks.beforeWrite?.(next);
    try {
      await durablePut(fs, mapFile, next, {
        mode: 'replace',
        fileMode: 0o644,
        ...(mode !== undefined ? { exactMode: mode } : {}),
        beforePublish: async () => {
          const now = await readMapBytes(fs, mapFile);
          if (!now.equals(bytes)) throw new MapChangedUnderUs();
        },
      });
      return { outcomes, written: next, restarts };
    } catch (err) {
      if (err instanceof MapChangedUnderUs && restarts < MAX_RESTARTS) continue;
      throw err;
    }
  }
}
