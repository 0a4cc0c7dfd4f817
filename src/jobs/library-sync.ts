/**
 * Keeps the engine's picture of the library current and acts on it (invariants 1 and 3: every
 * entry is planned once per change, nothing is asked or generated twice). It owns the component
 * index and the last reconcile report, and turns the watcher's hints into work on the serial
 * lane: a full reconcile (start-up, rescans), a sync of the map (read, plan, apply), a sync of
 * the entries that name one changed component file, and the rescans a type directory or the
 * components root coming and going need. Hints are coalesced: while one sync waits on the lane,
 * more hints add nothing.
 *
 * The engine (engine.ts) builds it and forwards the watcher's and the daemon's calls to it.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FsLayer } from '../fsio/fs-layer.js';
import { FsyncFailedError } from '../fsio/errors.js';
import type { Config } from '../library/config.js';
import type { MapEntry } from '../library/goal-map.js';
import { isGeneratedName } from '../library/names.js';
import { ComponentIndex, listTypeDir, scanComponents } from '../library/component-index.js';
import type { MapState } from '../install/map-state.js';
import { applyPlan, type ApplyContext } from '../reconcile/apply-plan.js';
import { planSync } from '../reconcile/plan-sync.js';
import { reconcile, type ReconcileReport } from '../reconcile/reconcile.js';
import { publicView, requestId, type Request } from '../requests/request.js';
import type { RequestStore } from '../requests/request-store.js';
import type { StagedOutputs } from '../requests/staged-output.js';
import type { EngineEvent } from './events.js';
import type { InstallQueue } from './install-queue.js';
import type { Lane } from './lane.js';
import type { Pipeline } from './pipeline.js';
import type { RetryTimer } from './retry-timer.js';

export interface LibrarySyncDeps {
  fs: FsLayer;
  config: Config;
  log: Logger;
  lane: Lane;
  store: RequestStore;
  staged: StagedOutputs;
  mapState: MapState;
  installs: InstallQueue;
  pipeline: Pipeline;
  retries: RetryTimer;
  /** Why library writes must wait right now (git busy), or undefined. */
  hold: () => string | undefined;
  emit: (e: EngineEvent) => void;
}

export class LibrarySync {
  /** The component files on disk, by type directory (kept current by the watcher's hints). */
  index = new ComponentIndex();
  lastReconcile: ReconcileReport | undefined;
  private syncQueued = false;
  private forcePlan = false;
  /** Component hints waiting for the lane: file name → type directories. */
  private pendingComponents = new Map<string, Set<string>>();
  private componentSyncQueued = false;
  private stopping = false;

  constructor(private readonly deps: LibrarySyncDeps) {}

  /** Takes no more hints (the engine is stopping); work already on the lane runs out. */
  stop(): void {
    this.stopping = true;
  }

  /** What the reconciler's apply step needs, with the engine's hooks (own writes noted, changes logged and emitted). */
  private applyContext(): ApplyContext {
    return {
      fs: this.deps.fs,
      mapFile: this.deps.config.mapFile,
      componentsDir: this.deps.config.componentsDir,
      stateDir: this.deps.config.stateDir,
      store: this.deps.store,
      staged: this.deps.staged,
      hold: this.deps.hold,
      index: this.index,
      onMapWrite: this.deps.mapState.noteOwnWrite,
      onComponentWrite: this.deps.mapState.noteComponent,
      onChange: (r, what) => {
        this.deps.log.info({ request: r.id, goal: r.goal, type: r.type, filename: r.filename, what }, `request ${what}`);
        if (what === 'created') this.deps.emit({ type: 'request.added', request: publicView(r) });
        else if (what === 'resolved' || what === 'adopted')
          this.deps.emit({ type: 'request.resolved', request: publicView(r), how: what === 'resolved' ? 'person' : 'adopted' });
        else if (what === 'withdrawn') this.deps.emit({ type: 'request.withdrawn', request: publicView(r) });
        else if (what === 'reopened') this.deps.emit({ type: 'request.reopened', request: publicView(r) });
      },
    };
  }

  /** A full reconcile on the lane: sweep, rescan, plan, roll forward, orphans. */
  reconcileNow(reason: string, retryAllFailed = false): Promise<ReconcileReport> {
    return this.deps.lane.run(async () => {
      const { config } = this.deps;
      let result: Awaited<ReturnType<typeof reconcile>>;
      try {
        result = await reconcile({
          ...this.applyContext(),
          componentsDir: config.componentsDir,
          stateDir: config.stateDir,
          orphans: config.orphans,
          retryAllFailed,
          readMap: () => this.deps.mapState.snapshot(),
        });
      } catch (err) {
        if (err instanceof FsyncFailedError) throw err;
        // A full disk must not turn into a crash loop under systemd: report, keep serving, and
        // let the next rescan try again. Nothing half-done is left (every write is a durable put).
        this.deps.mapState.writeFailed('reconcile', err);
        const report: ReconcileReport = {
          at: new Date().toISOString(),
          tempsRemoved: [],
          refusedDirs: [],
          toGenerate: [],
          retryLater: [],
          error: (err as Error).message,
        };
        this.lastReconcile = report;
        return report;
      }
      const { report } = result;
      this.lastReconcile = report;
      // The map was read (and its error, if any, recorded) through the map state.
      if (!report.mapError) {
        // Every write it needed went through: an earlier write error is over.
        this.deps.mapState.writeOk();
        if (result.index) this.index = result.index;
        // Re-read rather than trust the pre-roll-forward snapshot: the reconcile may have written
        // (the map state parses again only if the bytes changed).
        await this.syncNow().catch((err: unknown) => {
          if (err instanceof FsyncFailedError) throw err;
          this.deps.mapState.writeFailed('sync', err);
        });
      }
      await this.deps.installs.pruneStaged();
      for (const r of report.toGenerate) this.deps.pipeline.generate(r);
      this.deps.retries.schedule();
      this.deps.log.info(
        {
          reason,
          tempsRemoved: report.tempsRemoved.length,
          rolledForward: report.applied?.rolledForward.length ?? 0,
          created: report.applied?.created ?? 0,
          orphans: report.orphans,
          refusedDirs: report.refusedDirs,
          mapError: report.mapError,
          ...(report.componentsUnavailable ? { componentsUnavailable: report.componentsUnavailable } : {}),
        },
        'reconciled',
      );
      this.deps.emit({ type: 'reconciled', summary: { reason, tempsRemoved: report.tempsRemoved.length, mapError: report.mapError } });
      return report;
    });
  }

  /**
   * A hint that the map may have changed: read it, and act at once if it parses. Hints are
   * coalesced: while one sync waits on the lane, more hints add nothing. Answers true if the
   * map parsed (or was unchanged), false if it was unusable — the caller retries after debounceMs.
   */
  onMapHint(force = false): Promise<boolean> {
    // `force`: something besides the map changed (the component index, a retry fell due), so
    // even jitd's own last write is planned again.
    if (force) this.forcePlan = true;
    if (this.syncQueued || this.stopping) return Promise.resolve(this.deps.mapState.mapError === undefined);
    this.syncQueued = true;
    // Never rejects: hints come from the watcher and timers, where nobody could handle it.
    return this.deps.lane
      .run(async () => {
        this.syncQueued = false;
        const forced = this.forcePlan;
        this.forcePlan = false;
        return this.syncNow(forced);
      })
      .catch((err: unknown) => {
        if (!(err instanceof FsyncFailedError)) this.deps.mapState.writeFailed('sync', err);
        return false;
      });
  }

  /** Reads the map and applies the plan (unless it is jitd's own write, MapState.mustPlan); must run on the lane. */
  private async syncNow(force = true): Promise<boolean> {
    const read = await this.deps.mapState.read();
    if (!read.ok) return false;
    const { map } = read;
    this.deps.installs.unpark();
    if (!this.deps.mapState.mustPlan(read.sha256, force)) return true;
    const records = new Map(this.deps.store.all().map((r) => [r.id, r] as const));
    const plan = planSync(map.entries, this.index, records);
    await applyPlan(this.applyContext(), plan);
    if (plan.rollForward.length) this.deps.mapState.writeOk();
    for (const r of plan.generate) this.deps.pipeline.generate(r);
    return true;
  }

  /**
   * A hint that `<dirName>/<name>` appeared or vanished in the component tree. Only the entries
   * that name this file can plan differently, so with a usable map in hand only they are planned
   * (a file added to a large library costs a scan of the entries, not a read, hash and plan of
   * the whole map). A generated name (an install's roll-forward candidate) or an unusable map
   * takes the full sync, as before; a changed map brings its own hint and full sync.
   */
  onComponentHint(dirName: string, name: string, present: boolean): void {
    const had = this.index.filesIn(dirName)?.has(name) ?? false;
    if (present) this.index.add(dirName, name);
    else this.index.delete(dirName, name);
    // jitd's own write (an install publishing, a restore, an orphan moved away: whoever wrote it
    // accounts for it), noted before it was made: nothing to plan.
    if (this.deps.mapState.isOwnComponent(dirName, name, present)) return;
    const usable = this.deps.mapState.usable;
    // The index knew it already: nothing to plan.
    if (usable && had === present) return;
    if (isGeneratedName(name) || !usable) {
      void this.onMapHint(true);
      return;
    }
    const dirs = this.pendingComponents.get(name);
    if (dirs) dirs.add(dirName);
    else this.pendingComponents.set(name, new Set([dirName]));
    if (this.componentSyncQueued || this.stopping) return;
    this.componentSyncQueued = true;
    this.deps.lane.background('sync', async () => {
      this.componentSyncQueued = false;
      const pending = this.pendingComponents;
      this.pendingComponents = new Map();
      // A full sync waiting behind this one covers these files (the index is already updated).
      if (this.syncQueued) return;
      await this.syncComponents(pending);
    });
  }

  /** Plans and applies the map entries that name one of `pending` (file name → type dirs); on the lane. */
  private async syncComponents(pending: ReadonlyMap<string, ReadonlySet<string>>): Promise<void> {
    const map = this.deps.mapState.map;
    if (!map || !this.deps.mapState.usable) {
      await this.syncNow();
      return;
    }
    const entries: MapEntry[] = [];
    if (pending.size === 1) {
      // The usual case, one file: a plain string comparison per entry.
      const [[name, dirs]] = pending as unknown as [[string, ReadonlySet<string>]];
      for (const e of map.entries) if (e.filename === name && dirs.has(`${e.type}s`)) entries.push(e);
    } else {
      for (const e of map.entries) if (pending.get(e.filename)?.has(`${e.type}s`)) entries.push(e);
    }
    if (!entries.length) return;
    const records = new Map<string, Request>();
    for (const e of entries) {
      const r = this.deps.store.get(requestId(e.goal, e.type, e.filename));
      if (r) records.set(r.id, r);
    }
    // Every record passed belongs to one of these entries: nothing is withdrawn or forgotten here.
    const plan = planSync(entries, this.index, records);
    await applyPlan(this.applyContext(), plan);
    for (const r of plan.generate) this.deps.pipeline.generate(r);
  }

  /** A hint that a whole `<type>s` directory changed (added, removed, or events lost). */
  async onTypeDirHint(dirName: string): Promise<void> {
    const names = await listTypeDir(this.deps.fs, join(this.deps.config.componentsDir, dirName), { checkRoot: true });
    // The whole tree is gone, not this directory: nothing is known, nothing is asked for.
    if (!Array.isArray(names)) return this.onRootHint(false, names.rootUnavailable);
    if (this.index.rootUnavailable !== undefined) return; // the root's return rescans everything
    if (names.length) this.index.setDir(dirName, names);
    else this.index.dropDir(dirName);
    await this.onMapHint(true);
  }

  /**
   * A hint that the components root vanished (`present` false: moved away, removed) or came back.
   * While it is away the index is unavailable — not empty — so no entry is requested and no
   * install creates the root (they are held); when it is back, the tree is scanned afresh.
   */
  async onRootHint(present: boolean, why = `${this.deps.config.componentsDir} is missing`): Promise<void> {
    if (!present) {
      if (this.index.rootUnavailable === undefined)
        this.deps.log.warn({ components: this.deps.config.componentsDir, why }, 'components directory unavailable; waiting for it');
      this.index.markRootUnavailable(why);
      return;
    }
    await this.deps.lane.run(async () => {
      const scan = await scanComponents(this.deps.fs, this.deps.config.componentsDir);
      if (scan.rootUnavailable === undefined && this.index.rootUnavailable !== undefined)
        this.deps.log.info({ components: this.deps.config.componentsDir }, 'components directory is back; rescanned');
      this.index = scan.index;
    });
    await this.onMapHint(true);
  }
}
