/**
 * The reconciler (invariant 2): run at every start with the lock held, and at any time on
 * request. In order:
 *
 *   1. sweep   delete every jitd temp file, `status --sync` cookies in the map's directory and
 *              componentsDir among them (a stale seed-era goal_map.json.tmp is quarantined
 *              instead, a fresh one — a person's — left alone);
 *   2. read    the map — unparsable or missing: stop here, having written nothing else;
 *   3. scan    the component tree (one readdir per type directory; one that cannot be read is
 *              reported and its entries left alone);
 *   4. plan    compare map, components and requests (plan-sync.ts);
 *   5. apply   roll interrupted installs forward (one map write), update requests;
 *   6. orphans generated files still unreferenced go to quarantine (or per `orphans`).
 *
 * It answers a report of what it did. Generation for answered requests is started by the
 * caller from `plan.generate`. While `hold` answers a reason (the library's git repository is
 * busy, git-activity.ts) the library writes — roll-forward, restores, orphan and seed-temp moves
 * — are left for later; the sweep of jitd's own temps and the request records go ahead.
 */
import { dirname, join } from 'node:path';
import { readdirOrEmpty, type FsLayer } from '../fsio/fs-layer.js';
import { readMap, readMapIfChanged, type MapSnapshot } from '../install/map-file.js';
import type { RequestStore } from '../requests/request-store.js';
import type { Request } from '../requests/request.js';
import { applyPlan, type ApplyContext, type ApplySummary } from './apply-plan.js';
import { handleOrphans, type OrphanPolicy, type OrphanReport } from './orphans.js';
import { planSync, type SyncPlan } from './plan-sync.js';
import type { ReferencedNames } from './referenced-names.js';
import { scanComponents, type ComponentIndex, type UnreadableDir } from '../library/component-index.js';
import { quarantineStaleSeedTemp, sweepTemps } from './sweep-temps.js';

export interface ReconcileOptions {
  fs: FsLayer;
  mapFile: string;
  componentsDir: string;
  stateDir: string;
  orphans: OrphanPolicy;
  store: RequestStore;
  onMapWrite?: ApplyContext['onMapWrite'];
  onChange?: ApplyContext['onChange'];
  onComponentWrite?: ApplyContext['onComponentWrite'];
  /**
   * How the map is read (the daemon's map state: it parses only a changed map and records an
   * unusable one); default a plain read and parse.
   */
  readMap?: () => Promise<MapSnapshot>;
  /** Kept model outputs: a restore's second source. */
  staged?: ApplyContext['staged'];
  /** Why library writes must wait right now (git activity), or undefined. */
  hold?: ApplyContext['hold'];
  /** Override of the seed temp's staleness (tests). */
  seedTempStaleMs?: number;
  /** At start-up, failed requests are all retried once (the config may have been fixed). */
  retryAllFailed?: boolean;
}

export interface ReconcileReport {
  at: string;
  tempsRemoved: string[];
  /** A stale seed-era `goal_map.json.tmp`, moved to quarantine (where it went). */
  seedTempQuarantined?: string;
  /** Why library writes were left for later (git activity), if they were. */
  held?: string;
  /** Why nothing beyond the sweep was done (map unparsable, missing...). */
  mapError?: string;
  /** Why the reconcile stopped part-way (a full disk, EIO...): nothing half-done is left. */
  error?: string;
  applied?: ApplySummary;
  orphans?: OrphanReport;
  /** Type directories refused because they point outside componentsDir. */
  refusedDirs: string[];
  /** Type directories that could not be read (EACCES...): their entries were left alone. */
  unreadableDirs?: UnreadableDir[];
  /** Why componentsDir itself could not be listed: nothing of the tree was planned or orphaned. */
  componentsUnavailable?: string;
  /** Requests that should be generated now. */
  toGenerate: Request[];
  /** Failed requests waiting for their back-off. */
  retryLater: Request[];
}

export interface ReconcileResult {
  report: ReconcileReport;
  /** The component tree as scanned (the caller's index from now on). */
  index?: ComponentIndex;
}

/**
 * What the orphan pass must spare: the files named by the map read at the start, and by the map
 * as it is now if it changed since (jitd's roll-forward, or a person's save naming a generated
 * file meanwhile). Undefined — skip the pass this time — if the map no longer parses.
 */
async function stillReferenced(fs: FsLayer, mapFile: string, read: MapSnapshot, referenced: ReferencedNames): Promise<ReferencedNames | undefined> {
  let now;
  try {
    now = (await readMapIfChanged(fs, mapFile, read)).map;
    // Stryker: → false is equivalent — the same map adds the names `referenced` already has.
    if (now === read.map) return referenced;
  } catch {
    return undefined;
  }
  const all = referenced.copy();
  for (const e of now.entries) all.add(e.type, e.filename);
  return all;
}

export async function reconcile(opts: ReconcileOptions): Promise<ReconcileResult> {
  const { fs } = opts;
  // Stryker: a made-up element in `tempsRemoved: []` is equivalent — both paths set it.
  const report: ReconcileReport = { at: new Date().toISOString(), tempsRemoved: [], refusedDirs: [], toGenerate: [], retryLater: [] };

  // jitd's own state directories hold nothing the map decides: their temps go in any case.
  const candidates = join(opts.stateDir, 'candidates');
  // Stryker: dropping the `kind === 'dir'` filter is equivalent — a file listed as a directory
  // to sweep reads as an empty one (readdirOrEmpty: ENOTDIR).
  const candidateDirs = (await readdirOrEmpty(fs, candidates)).filter((e) => e.kind === 'dir').map((e) => join(candidates, e.name));
  const stateDirs = [
    opts.store.dir,
    join(opts.stateDir, 'quarantine', 'components'),
    join(opts.stateDir, 'quarantine', 'temps'),
    join(opts.stateDir, 'staged'),
    ...candidateDirs,
  ];
  let snapshot;
  try {
    snapshot = await (opts.readMap ? opts.readMap() : readMap(fs, opts.mapFile));
  } catch (err) {
    // An unparsable or missing map: touch nothing of the library (it is never "repaired"),
    // only jitd's own temp files beside it and in its state, and report why.
    report.mapError = (err as Error).message;
    report.tempsRemoved = await sweepTemps(fs, [dirname(opts.mapFile), ...stateDirs]);
    return { report };
  }

  const scan = await scanComponents(fs, opts.componentsDir);
  report.refusedDirs = scan.refused;
  if (scan.unreadable.length) report.unreadableDirs = scan.unreadable;
  if (scan.rootUnavailable) report.componentsUnavailable = scan.rootUnavailable;
  report.tempsRemoved = await sweepTemps(fs, [
    dirname(opts.mapFile),
    ...stateDirs,
    // `status --sync` cookies live in componentsDir itself; a killed daemon leaves them there.
    ...(scan.rootHasTemps ? [opts.componentsDir] : []),
    ...scan.withTemps.map((d) => join(opts.componentsDir, d)),
  ]);
  const heldAtStart = opts.hold?.();
  if (!heldAtStart) {
    const q = await quarantineStaleSeedTemp(fs, opts.mapFile, {
      stateDir: opts.stateDir,
      // Stryker: `!== undefined` → true is equivalent — an undefined staleMs means the default.
      ...(opts.seedTempStaleMs !== undefined ? { staleMs: opts.seedTempStaleMs } : {}),
    });
    if (q) report.seedTempQuarantined = q;
  }

  const records = new Map(opts.store.all().map((r) => [r.id, r] as const));
  const plan: SyncPlan = planSync(snapshot.map.entries, scan.index, records, { retryAllFailed: opts.retryAllFailed ?? false });
  const applyCtx: ApplyContext = {
    fs,
    mapFile: opts.mapFile,
    componentsDir: opts.componentsDir,
    store: opts.store,
    stateDir: opts.stateDir,
    index: scan.index,
  };
  // Stryker: each `if (opts.x)` here → true is equivalent — it sets an absent option to undefined.
  // So are `if (x) report.y = x` → true above and below: an undefined field is no field in the JSON.
  if (opts.onMapWrite) applyCtx.onMapWrite = opts.onMapWrite;
  if (opts.onChange) applyCtx.onChange = opts.onChange;
  if (opts.onComponentWrite) applyCtx.onComponentWrite = opts.onComponentWrite;
  if (opts.staged) applyCtx.staged = opts.staged;
  if (opts.hold) applyCtx.hold = opts.hold;
  report.applied = await applyPlan(applyCtx, plan);
  // Quarantining orphans moves library files: not while git is busy (a branch being switched
  // leaves files unreferenced for a moment).
  const held = report.applied.held ?? opts.hold?.();
  if (held) report.held = held;
  const referenced = held ? undefined : await stillReferenced(fs, opts.mapFile, snapshot, plan.referenced);
  if (referenced) report.orphans = await handleOrphans(fs, opts.componentsDir, opts.stateDir, scan.index, referenced, opts.orphans, opts.onComponentWrite);
  report.toGenerate = plan.generate;
  report.retryLater = plan.retryLater;
  return { report, index: scan.index };
}
