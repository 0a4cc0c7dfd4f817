/**
 * Restoring a generated file the map names again (invariant 2; contract §3: an answer, once given,
 * is jitd's for good). After a branch switch the map may name `autogen_…` while the file is gone
 * (quarantined as an orphan while the other branch was out, or removed by git): jitd puts it back
 * from its newest quarantined copy, else from the request's kept model output
 * (staged-output.ts), and asks nobody. The file is published as any install publishes
 * (publish-component.ts: create-only, complete and durable before anything relies on it), so a
 * crash mid-restore leaves the file whole or absent, and the next reconcile tries again.
 */
import { readFileOrNull, type FsLayer } from '../fsio/fs-layer.js';
import type { NoteComponentWrite } from '../install/map-state.js';
import { publishComponent } from '../install/publish-component.js';
import type { MapEntry } from '../library/goal-map.js';
import type { Request } from '../requests/request.js';
import type { StagedOutputs } from '../requests/staged-output.js';
import { findQuarantined } from './orphans.js';

export interface RestoreContext {
  fs: FsLayer;
  componentsDir: string;
  stateDir?: string;
  staged?: StagedOutputs;
  /** Called just before the file is published (jitd's own write, map-state.ts). */
  onComponentWrite?: NoteComponentWrite;
}

/**
 * Restores `<type>s/<filename>` of `entry`; answers where it came from (a path), or undefined if
 * jitd has no copy. `source` is the request the file was generated for, if its record is known.
 */
export async function restoreOutput(ctx: RestoreContext, entry: MapEntry, source?: Request): Promise<string | undefined> {
  const candidates: string[] = [];
  if (ctx.stateDir) {
    const q = await findQuarantined(ctx.fs, ctx.componentsDir, ctx.stateDir, `${entry.type}s`, entry.filename);
    if (q) candidates.push(q);
  }
  if (source && ctx.staged?.has(source.id)) candidates.push(ctx.staged.pathOf(source.id));
  for (const from of candidates) {
    const content = await readFileOrNull(ctx.fs, from);
    if (!content) continue;
    // Create-only: a file that appeared meanwhile (a person, git) is kept as it is.
    ctx.onComponentWrite?.(`${entry.type}s`, entry.filename, true);
    await publishComponent(ctx.fs, ctx.componentsDir, entry.type, entry.filename, content.toString('utf8'), { stagedFrom: from });
    return from;
  }
  return undefined;
}
