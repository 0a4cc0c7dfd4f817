/**
 * Repointing map entries (invariants 1, 4, 5): jitd applies its change on top of the map as it
 * is on disk at the moment of writing, so a person's edits are never overwritten.
 *
 *   1. read the map bytes B and parse them (unparsable: write nothing, report);
 *   2. apply each repoint `(goal, type): from -> to` only where the entry still says `from`,
 *      as a byte-exact edit of B: the file-name string is replaced, nothing else (map-edit.ts);
 *   3. durable-put the result, and just before the rename re-read the map (with an lstat on
 *      either side, so the bytes belong to one version V of the file): if it is no longer B, a
 *      person saved meanwhile — drop the temp and start again from 1;
 *   4. publish only if the map is still version V (`renameIfUnchanged`: on Linux an atomic
 *      renameat2 exchange that puts a racing save straight back, see node-fs.ts); a save that
 *      landed after the re-read restarts from 1 too;
 *   5. hand the replaced version V, still open, to the in-place save watch (in-place-saves.ts):
 *      an editor that opened V before step 4 and writes into it afterwards is re-applied.
 *
 * Many repoints commit in one write (group commit): installs that finish together pay for one
 * map fsync. Measured with an editor saving every few ms through 40 installs: 1,834 saves in
 * 10 runs, none lost (test/hardening/person-edits.test.ts).
 */
import { durablePut } from '../fsio/durable-put.js';
import type { FsLayer } from '../fsio/fs-layer.js';
import { JitdError, TargetChangedError } from '../fsio/errors.js';
import { parseGoalMap, type ParsedMap } from '../library/goal-map.js';
import { filenameProblem } from '../library/names.js';
import { inPlaceSavesFor } from './in-place-saves.js';
import { editMapBytes } from './map-edit.js';
import { readMapBytes, readMapIfChanged, type MapSnapshot } from './map-file.js';

export interface Repoint {
  goal: string;
  type: string;
  from: string;
  to: string;
}

/**
 * The parse of the repointed map without parsing it again: the same entries with the repointed
 * file names (each a valid name replacing a valid name, so no entry appears, vanishes or changes
 * validity; problems are unchanged). Undefined if a repoint names an entry the parse lacks.
 */
function repointedParse(map: ParsedMap, json: Record<string, unknown>, applied: ReadonlyMap<string, ReadonlyMap<string, string>>): ParsedMap | undefined {
  let found = 0;
  const entries = map.entries.map((e) => {
    const to = applied.get(e.goal)?.get(e.type);
    if (to === undefined) return e;
    found++;
    return { ...e, filename: to };
  });
  let expected = 0;
  for (const types of applied.values()) expected += types.size;
  if (found !== expected || [...applied.values()].some((t) => [...t.values()].some((to) => filenameProblem(to) !== undefined))) return undefined;
  return { json, entries, problems: map.problems, goals: map.goals };
}

/** `target-missing`: the file a repoint would name is not there (only with `hooks.present`). */
export type RepointOutcome = 'applied' | 'already' | 'entry-changed' | 'target-missing';

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
  hooks: {
    /**
     * Called with the bytes about to be written, their parse (the caller need not parse them),
     * and the bytes they were made from (the map as it was read).
     */
    beforeWrite?: (bytes: Buffer, parsed: ParsedMap, base: Buffer) => void;
    /**
     * A snapshot read earlier: if the map's bytes are still the same, its parse is reused instead
     * of parsing again (a large map costs ~200 ms to parse). Its parse is updated in place to the
     * version written (see below): the caller must not use the snapshot afterwards.
     */
    snapshot?: MapSnapshot;
    /**
     * Whether the file a repoint names is there. Asked before each attempt and again just
     * before the rename: a roll-forward must never name a file a person deleted meanwhile
     * (invariant 1). Without it the caller vouches for the files (it has just published them).
     */
    present?: (r: Repoint) => Promise<boolean>;
  } = {},
): Promise<CommitResult> {
  for (let restarts = 0; ; restarts++) {
    const { bytes, map } = await readMapIfChanged(fs, mapFile, restarts === 0 ? hooks.snapshot : undefined);
    // The parse is updated in place to the version written (only the goals repointed are
    // copied): a shallow copy of a 50,000-goal map costs ~50 ms, and a caller's snapshot is
    // replaced by the written parse anyway (`beforeWrite`). After a failed write the caller
    // compares the bytes on disk with its hash and parses them again.
    const json: Record<string, unknown> = map.json;
    const applied = new Map<string, Map<string, string>>();
    const missing = new Set<Repoint>();
    if (hooks.present) for (const r of repoints) if (!(await hooks.present(r))) missing.add(r);
    const outcomes = repoints.map((r): RepointOutcome => {
      if (missing.has(r)) return 'target-missing';
      const goal = json[r.goal];
      if (typeof goal !== 'object' || goal === null || Array.isArray(goal)) return 'entry-changed';
      const current = (goal as Record<string, unknown>)[r.type];
      if (current === r.to) return 'already';
      // Stryker: → false is equivalent — editMapBytes replaces only a string equal to `from` and
      // answers any other as missed, which is entry-changed below.
      if (current !== r.from) return 'entry-changed';
      return 'applied';
    });
    // The edit of the text: only the file-name strings change. An entry the scan cannot locate
    // (not possible for text JSON.parse accepted, but never guessed at) is left as it is.
    const edit = editMapBytes(
      bytes,
      repoints.filter((_, i) => outcomes[i] === 'applied'),
    );
    for (const m of edit.missed) outcomes[repoints.indexOf(m)] = 'entry-changed';
    for (const [i, r] of repoints.entries()) {
      if (outcomes[i] !== 'applied') continue;
      json[r.goal] = { ...(json[r.goal] as Record<string, unknown>), [r.type]: r.to };
      const types = applied.get(r.goal) ?? new Map<string, string>();
      applied.set(r.goal, types.set(r.type, r.to));
    }
    if (!outcomes.includes('applied')) return { outcomes, restarts };
    const next = edit.bytes;
    // The person's file keeps its permission bits (a team may edit a group-writable map).
    const mode = (await fs.lstat(mapFile)).mode;
    if (hooks.beforeWrite) hooks.beforeWrite(next, repointedParse(map, json, applied) ?? parseGoalMap(next.toString('utf8')), bytes);
    // Stryker disable next-line StringLiteral: equivalent — beforePublish sets it before any use.
    let replacedIdentity = '';
    try {
      const replaced = await durablePut(fs, mapFile, next, {
        mode: 'replace',
        fileMode: 0o644,
        // Stryker: `mode !== undefined` → true is equivalent — lstat always answers a mode.
        ...(mode !== undefined ? { exactMode: mode } : {}),
        beforePublish: async () => {
          const before = (await fs.lstat(mapFile)).identity;
          const now = await readMapBytes(fs, mapFile);
          if (!now.equals(bytes)) throw new MapChangedUnderUs();
          const after = (await fs.lstat(mapFile)).identity;
          if (before !== after) throw new MapChangedUnderUs();
          if (hooks.present) {
            for (const [i, r] of repoints.entries()) if (outcomes[i] === 'applied' && !(await hooks.present(r))) throw new MapChangedUnderUs();
          }
          replacedIdentity = after;
          return after;
        },
      });
      // The version just replaced is watched a while for a write through an earlier descriptor
      // (in-place-saves.ts), where the daemon watches this map; else it is let go.
      const saves = inPlaceSavesFor(fs, mapFile);
      if (replaced && saves) {
        saves.noteCommit(
          replaced,
          replacedIdentity,
          bytes,
          repoints.filter((_, i) => outcomes[i] === 'applied'),
        );
        // Stryker: `replaced?.` → `replaced.` is equivalent — beforePublish always answers an
        // identity, so the guarded replace always answers what it replaced.
      } else await replaced?.kept?.close();
      return { outcomes, written: next, restarts };
    } catch (err) {
      if ((err instanceof MapChangedUnderUs || err instanceof TargetChangedError) && restarts < MAX_RESTARTS) continue;
      throw err;
    }
  }
}
