/**
 * Installing generated components, many at a time (invariants 1 and 4). Called only from the
 * serial install lane, so two batches never interleave.
 *
 *   1. for each item, check again that its map entry still names the missing file and that the
 *      file is still missing (a person may have written it, or edited the map, while the model
 *      was writing);
 *   2. publish each component durably (publish-component.ts; a few at a time, then one fsync
 *      per directory for the batch) — before the map changes;
 *   3. repoint every entry in ONE map write (group commit, map-commit.ts);
 *   4. close each request as done.
 * A crash anywhere leaves either nothing visible, or published components that the reconciler
 * adopts (rolls forward) at the next start.
 */
import { dirname, join } from 'node:path';
import { syncDirOrDie } from '../fsio/durable-put.js';
import { DirUnavailableError } from '../fsio/durable-dir.js';
import { FsyncFailedError } from '../fsio/errors.js';
import { hasCode, lstatOrNull, type FsLayer } from '../fsio/fs-layer.js';
import type { ParsedMap } from '../library/goal-map.js';
import { componentPath } from '../library/paths.js';
import type { Request } from '../requests/request.js';
import { commitRepoints } from './map-commit.js';
import { readMapIfChanged } from './map-file.js';
import type { NoteComponentWrite } from './map-state.js';
import { publishComponent } from './publish-component.js';

export interface InstallItem {
  request: Request;
  content: string;
  /** The durable staged copy of `content`, if any: the component may be published as a link to it. */
  stagedPath?: string;
}

export type InstallOutcome =
  | { id: string; result: 'installed'; path: string; adoptedExisting: boolean; content?: string }
  | { id: string; result: 'resolved-by-person' }
  | { id: string; result: 'entry-gone' }
  | { id: string; result: 'error'; error: Error };

export interface InstallContext {
  fs: FsLayer;
  mapFile: string;
  componentsDir: string;
  /** Called with the bytes jitd is about to write to the map, their parse, and the map bytes they were made from. */
  onMapWrite?: (bytes: Buffer, parsed: ParsedMap, base: Buffer) => void;
  /**
   * The caller's last parse of the map and the SHA-256 (hex) of its bytes: if the map on disk
   * still has that hash, it is used (read-only) instead of parsing the map again.
   */
  lastParsed?: { sha256: string; map: ParsedMap };
  /** Called before a component is published (`present`) or taken back: jitd's own write (map-state.ts). */
  onComponentWrite?: NoteComponentWrite;
}

/** Components checked and published at once within a batch (libuv runs 4 fs calls at a time). */
const PUBLISH_PARALLELISM = 4;

/** Maps `items` through `fn`, at most `limit` calls in flight; answers results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  // Stryker disable next-line ArrayDeclaration: equivalent — the array grows as results land; the length only presizes it.
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function entryStillNames(json: Record<string, unknown>, r: Request): boolean {
  const goal = json[r.goal];
  // Stryker: `typeof goal === 'object'` → true is equivalent — no property of a string, number or
  // boolean is a file name (a string).
  return typeof goal === 'object' && goal !== null && (goal as Record<string, unknown>)[r.type] === r.filename;
}

export async function installBatch(ctx: InstallContext, items: readonly InstallItem[]): Promise<InstallOutcome[]> {
  const { fs } = ctx;
  const outcomes: InstallOutcome[] = [];
  // Any failure to read the map fails the whole batch; the requests stay answered and the
  // next sync retries them (their published components, if any, are rolled forward then).
  const snapshot = await readMapIfChanged(fs, ctx.mapFile, ctx.lastParsed);
  const { map } = snapshot;
  const publishedNow: { item: InstallItem; path: string; adoptedExisting: boolean }[] = [];

  // Items are checked and published a few at a time: their fsyncs overlap (the file system
  // commits them together), which is most of an install's cost; each directory is fsynced once
  // for the whole batch, below. Results keep the batch order.
  const results = await mapLimit(
    items,
    PUBLISH_PARALLELISM,
    async (item): Promise<InstallOutcome | { item: InstallItem; path: string; adoptedExisting: boolean }> => {
      const r = item.request;
      try {
        if (!entryStillNames(map.json, r)) return { id: r.id, result: 'entry-gone' };
        if (await lstatOrNull(fs, componentPath(ctx.componentsDir, r.type, r.filename))) return { id: r.id, result: 'resolved-by-person' };
        ctx.onComponentWrite?.(`${r.type}s`, r.generatedName, true);
        const outcome = await publishComponent(fs, ctx.componentsDir, r.type, r.generatedName, item.content, {
          deferDirSync: true,
          ...(item.stagedPath ? { stagedFrom: item.stagedPath } : {}),
        });
        return { item, path: componentPath(ctx.componentsDir, r.type, r.generatedName), adoptedExisting: outcome === 'existed' };
      } catch (err) {
        // A failed fsync is fatal for the daemon, never a per-item failure to retry later; a
        // components tree that is away holds the whole batch until it is back.
        if (err instanceof FsyncFailedError || err instanceof DirUnavailableError) throw err;
        return { id: r.id, result: 'error', error: err as Error };
      }
    },
  );
  for (const x of results) {
    if ('item' in x) publishedNow.push(x);
    else outcomes.push(x);
  }
  if (publishedNow.length === 0) return outcomes;
  // The new names are made durable, one fsync per directory, before the map may name them.
  // A failed directory fsync throws (fatal): nothing in this batch is pointed at.
  for (const dir of new Set(publishedNow.map((p) => dirname(p.path)))) await syncDirOrDie(fs, dir);

  const commit = await commitRepoints(
    fs,
    ctx.mapFile,
    publishedNow.map(({ item: { request: r } }) => ({ goal: r.goal, type: r.type, from: r.filename, to: r.generatedName })),
    // The commit reuses the snapshot's parse if the map has not changed since (and updates it to the version written).
    { snapshot, ...(ctx.onMapWrite ? { beforeWrite: ctx.onMapWrite } : {}) },
  );
  const dirsToSync = new Set<string>();
  for (const [i, p] of publishedNow.entries()) {
    const r = p.item.request;
    if (commit.outcomes[i] === 'entry-changed') {
      // A person changed the entry between our check and our write. Their edit wins; the file we
      // just published is referenced by nothing, so take it back now rather than leave an orphan.
      if (!p.adoptedExisting) {
        ctx.onComponentWrite?.(`${r.type}s`, r.generatedName, false);
        await fs.unlink(p.path).catch((err) => {
          if (!hasCode(err, 'ENOENT')) throw err;
        });
        dirsToSync.add(join(p.path, '..'));
      }
      outcomes.push({ id: r.id, result: 'entry-gone' });
      continue;
    }
    outcomes.push({ id: r.id, result: 'installed', path: p.path, adoptedExisting: p.adoptedExisting, content: p.item.content });
  }
  for (const dir of dirsToSync) await syncDirOrDie(fs, dir);
  return outcomes;
}
