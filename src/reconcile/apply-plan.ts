/**
 * Carrying out a {@link SyncPlan}: request records created, resolved, reopened, withdrawn;
 * interrupted installs rolled forward with one group-committed map write; generated files the
 * map names again restored (restore-output.ts). Starting generation is left to the caller (the
 * job pipeline), which receives `plan.generate` (reopened requests that keep their answer join it).
 *
 * While the library's git repository is busy (`hold`, git-activity.ts) the library writes — the
 * roll-forward's map write and restores — wait; request records, which are state, do not.
 */
import { lstatOrNull, type FsLayer } from '../fsio/fs-layer.js';
import type { ParsedMap } from '../library/goal-map.js';
import { ensureDurableDir } from '../fsio/durable-dir.js';
import { syncDirOrDie } from '../fsio/durable-put.js';
import { componentPath, escapesRoot, typeDir } from '../library/paths.js';
import { commitRepoints, type Repoint } from '../install/map-commit.js';
import type { NoteComponentWrite } from '../install/map-state.js';
import { newRequest, type Request } from '../requests/request.js';
import type { RequestStore } from '../requests/request-store.js';
import { finish, reopen } from '../requests/transitions.js';
import type { StagedOutputs } from '../requests/staged-output.js';
import type { SyncPlan } from './plan-sync.js';
import type { ComponentIndex } from '../library/component-index.js';
import { restoreOutput } from './restore-output.js';

export interface ApplyContext {
  fs: FsLayer;
  mapFile: string;
  componentsDir: string;
  store: RequestStore;
  /** Called with the bytes jitd is about to write to the map (so the watcher knows its own write). */
  onMapWrite?: (bytes: Buffer, parsed: ParsedMap) => void;
  /** Called once per request whose record changed, for events and logs. */
  onChange?: (r: Request, what: 'created' | 'resolved' | 'adopted' | 'reopened' | 'withdrawn' | 'forgotten' | 'restored') => void;
  /** The state directory (its quarantine is a restore's first source). */
  stateDir?: string;
  /** Kept model outputs (a restore's second source). */
  staged?: StagedOutputs;
  /** Why library writes must wait right now (git activity), or undefined: they may go ahead. */
  hold?: () => string | undefined;
  /** The component index the plan was made from: a restored file is added to it. */
  index?: ComponentIndex;
  /** Called before jitd creates or removes a component itself (map-state.ts: its event sets off no full sync). */
  onComponentWrite?: NoteComponentWrite;
}

export interface ApplySummary {
  created: number;
  resolvedByPerson: number;
  rolledForward: string[];
  /** Generated files restored (`<type>s/<name> <- source`). */
  restored: string[];
  reopened: number;
  withdrawn: number;
  /** Why library writes of this plan were held (they run once the hold ends), if they were. */
  held?: string;
}

/**
 * Closes a request whose install a crash cut short (its component published from the staged
 * output): what wrote it, and the SHA-256 of the text jitd staged, from the staged output's
 * sidecar. The hash lets a later regeneration replace the file (regeneration.ts); it is recorded
 * only when the sidecar still matches the staged text, which is the component's own inode, so a
 * person's in-place edit made before the restart leaves it out (the file is then the person's).
 */
/**
 * How every record change here is saved: without the directory fsync, since the reconciler can
 * derive it again from the map and the components.
 */
// Stryker: `{ durable: false }` → `{}` is equivalent — an absent `durable` is false.
const NOT_DURABLE = { durable: false } as const;

async function closeFromStaged(ctx: ApplyContext, r: Request, resolution: 'adopted' | 'generated'): Promise<Request> {
  const staged = await ctx.staged?.sidecar(r.id);
  const closed = finish(r, resolution, staged?.provenance);
  return staged ? { ...closed, componentSha256: staged.sha256 } : closed;
}

/** A regular file, or a symlink that resolves to something inside componentsDir. */
async function adoptable(ctx: ApplyContext, path: string): Promise<boolean> {
  const st = await lstatOrNull(ctx.fs, path);
  if (st?.kind === 'file') return true;
  if (st?.kind !== 'symlink') return false;
  try {
    await ctx.fs.realpath(path); // a dangling link names nothing
  } catch {
    return false;
  }
  return (await escapesRoot(ctx.fs, ctx.componentsDir, path)) === undefined;
}

// Stryker: `if (held) summary.held = held` → true is equivalent (an undefined field is no field in the report).
export async function applyPlan(ctx: ApplyContext, plan: SyncPlan): Promise<ApplySummary> {
  const { store } = ctx;
  const summary: ApplySummary = { created: 0, resolvedByPerson: 0, rolledForward: [], restored: [], reopened: 0, withdrawn: 0 };
  const held = plan.rollForward.length || plan.restore.length ? ctx.hold?.() : undefined;
  if (held) summary.held = held;

  if (plan.rollForward.length && !held) {
    // The generated files may come from a run that crashed before its directory fsync: their
    // names (and their type directories' names) are made durable before the map may name them.
    for (const dir of new Set(plan.rollForward.map((x) => typeDir(ctx.componentsDir, x.repoint.type)))) {
      await ensureDurableDir(ctx.fs, dir, 0o755);
      await syncDirOrDie(ctx.fs, dir);
    }
    // The plan comes from the in-memory index, which may lag the disk (a person reverting the
    // entry and deleting the generated file): only a file on disk is adopted.
    const present = (r: Repoint) => adoptable(ctx, componentPath(ctx.componentsDir, r.type, r.to));
    const result = await commitRepoints(
      ctx.fs,
      ctx.mapFile,
      plan.rollForward.map((x) => x.repoint),
      ctx.onMapWrite ? { beforeWrite: ctx.onMapWrite, present } : { present },
    );
    for (const [i, item] of plan.rollForward.entries()) {
      const outcome = result.outcomes[i];
      // A person changed the entry meanwhile (theirs wins), or the file is gone (nothing to adopt).
      if (outcome === 'entry-changed' || outcome === 'target-missing') continue;
      const { goal, type, from, to } = item.repoint;
      summary.rolledForward.push(`${goal}.${type}: ${from} -> ${to}`);
      const base = item.request ?? newRequest(goal, type, from);
      if (base.state === 'done') continue;
      const closed = await closeFromStaged(ctx, base, 'adopted');
      await store.save(closed, NOT_DURABLE);
      ctx.onChange?.(closed, 'adopted');
    }
  }
  for (const { entry, source } of held ? [] : plan.restore) {
    const from = await restoreOutput(
      {
        fs: ctx.fs,
        componentsDir: ctx.componentsDir,
        ...(ctx.stateDir ? { stateDir: ctx.stateDir } : {}),
        ...(ctx.staged ? { staged: ctx.staged } : {}),
        ...(ctx.onComponentWrite ? { onComponentWrite: ctx.onComponentWrite } : {}),
      },
      entry,
      source,
    );
    if (from) {
      summary.restored.push(`${entry.type}s/${entry.filename} <- ${from}`);
      ctx.index?.add(`${entry.type}s`, entry.filename);
      if (source) ctx.onChange?.(source, 'restored');
      continue;
    }
    // jitd has no copy of it (nothing kept, nothing in quarantine): a gap like any other.
    const r = newRequest(entry.goal, entry.type, entry.filename);
    await store.save(r, NOT_DURABLE);
    summary.created++;
    ctx.onChange?.(r, 'created');
  }
  for (const r of plan.create) {
    await store.save(r, NOT_DURABLE);
    summary.created++;
    ctx.onChange?.(r, 'created');
  }
  for (const r of plan.closeInstalled) {
    const closed = await closeFromStaged(ctx, r, 'generated');
    await store.save(closed, NOT_DURABLE);
    ctx.onChange?.(closed, 'adopted');
  }
  for (const r of plan.resolvedByPerson) {
    const closed = finish(r, 'person');
    await store.save(closed, NOT_DURABLE);
    summary.resolvedByPerson++;
    ctx.onChange?.(closed, 'resolved');
  }
  for (const r of plan.reopen) {
    // An answer, once given, is jitd's for good (contract §3): the reopened request keeps it and is
    // filled from its kept output (or, if none is kept, generated again), asking nobody.
    const reopened = reopen(r);
    await store.save(reopened, NOT_DURABLE);
    if (reopened.state === 'answered') plan.generate.push(reopened);
    summary.reopened++;
    ctx.onChange?.(reopened, 'reopened');
  }
  for (const r of plan.withdraw) {
    await store.remove(r.id);
    summary.withdrawn++;
    ctx.onChange?.(r, 'withdrawn');
  }
  for (const r of plan.forget) {
    await store.remove(r.id);
    ctx.onChange?.(r, 'forgotten');
  }
  return summary;
}
