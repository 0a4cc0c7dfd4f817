/**
 * The engine: jitd's single source of truth at run time. It owns the request store, the
 * component index and the map state (install/map-state.ts: the map as last read, the map and
 * write errors, jitd's own writes), and runs every change to them on one serial lane
 * (lane.ts): syncs after watcher hints, reconciles, and — through its parts — a person's
 * commands (request-commands.ts) and installs (install-queue.ts). Model calls run beside it in
 * the generation pool (generation-pool.ts); pipeline.ts routes their outcomes (output staged and
 * installed in batches, failures recorded). Every state change is requests/transitions.ts.
 *
 * It never waits on a person: waiting requests live in the store, and an answer enqueues work.
 */
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { FsLayer } from '../fsio/fs-layer.js';
import { FsyncFailedError } from '../fsio/errors.js';
import type { Config } from '../library/config.js';
import type { MapEntry } from '../library/goal-map.js';
import { isGeneratedName } from '../library/names.js';
import { InPlaceSaves } from '../install/in-place-saves.js';
import { MapState } from '../install/map-state.js';
import { applyPlan, type ApplyContext } from '../reconcile/apply-plan.js';
import { GitActivity } from '../reconcile/git-activity.js';
import { planSync } from '../reconcile/plan-sync.js';
import { reconcile, type ReconcileReport } from '../reconcile/reconcile.js';
import { ComponentIndex, listTypeDir, scanComponents } from '../library/component-index.js';
import { publicView, requestId, type Request, type RequestState } from '../requests/request.js';
import { RequestStore } from '../requests/request-store.js';
import { StagedOutputs } from '../requests/staged-output.js';
import { Candidates } from '../requests/candidates.js';
import type { Peer } from '../requests/provenance.js';
import type { Provider } from '../generation/provider.js';
import { gatherContext, type GenerationContext } from '../generation/context.js';
import type { EngineEvent } from './events.js';
import { GenerationPool } from './generation-pool.js';
import { InstallQueue } from './install-queue.js';
import { Lane } from './lane.js';
import { Pipeline } from './pipeline.js';
import type { FailureDeps } from './record-failure.js';
import { RequestCommands, RequestError } from './request-commands.js';
import { Regenerations, type EditableText } from './regeneration.js';
import { isDraftOfDone } from '../requests/transitions.js';
import { RetryTimer } from './retry-timer.js';

export interface EngineOptions {
  fs: FsLayer;
  config: Config;
  provider: Provider;
  log: Logger;
  /** A fatal error outside any caller's promise (a failed fsync in a background install). */
  onFatal?: (err: unknown) => void;
}

export class Engine extends EventEmitter<{ event: [EngineEvent] }> {
  readonly store: RequestStore;
  /** Model output made durable before it is installed (see staged-output.ts). */
  readonly staged: StagedOutputs;
  /** Candidates of requests held for review (candidates.ts). */
  readonly candidates: Candidates;
  index = new ComponentIndex();
  /**
   * The map as last read, its errors and the last failure to write the library (ENOSPC, EIO...
   * on the map or a component: jitd keeps serving and retries on the next hint or rescan).
   */
  readonly mapState: MapState;
  lastReconcile: ReconcileReport | undefined;
  readonly startedAt = Date.now();
  /** Watches the map versions jitd replaced, for saves through an earlier descriptor. */
  readonly inPlaceSaves: InPlaceSaves;
  /** The library's git repository, whose activity holds library writes (undefined: `git.hold` off). */
  readonly git: GitActivity | undefined;
  private loggedHold: string | undefined;

  private readonly lane: Lane;
  private readonly pool: GenerationPool;
  private readonly installs: InstallQueue;
  private readonly commands: RequestCommands;
  private readonly regenerations: Regenerations;
  private readonly pipeline: Pipeline;
  private readonly retries: RetryTimer;
  private syncQueued = false;
  private forcePlan = false;
  /** Component hints waiting for the lane: file name → type directories. */
  private pendingComponents = new Map<string, Set<string>>();
  private componentSyncQueued = false;
  private stopping = false;

  constructor(private readonly opts: EngineOptions) {
    super();
    this.store = new RequestStore(opts.fs, opts.config.stateDir);
    this.staged = new StagedOutputs(opts.fs, opts.config.stateDir);
    this.candidates = new Candidates(opts.fs, opts.config.stateDir);
    this.mapState = new MapState(opts.fs, opts.config.mapFile, {
      mapError: (message) => {
        opts.log.warn({ mapFile: opts.config.mapFile, error: message }, 'map unusable; keeping the last good map');
        this.emitEvent({ type: 'map.error', message });
      },
      mapOk: (goals) => this.emitEvent({ type: 'map.ok', goals }),
      problems: (problems) => opts.log.warn({ problems: problems.slice(0, 20), count: problems.length }, 'map entries skipped'),
      writeError: (what, err, message) => {
        opts.log.error({ err, what }, `${what} failed; will retry on the next change or rescan`);
        this.emitEvent({ type: 'write.error', message });
      },
    });
    const gitCfg = opts.config.git;
    if (gitCfg.hold) {
      this.git = new GitActivity(dirname(opts.config.mapFile), { settleMs: gitCfg.settleMs, stashHoldMs: gitCfg.stashHoldMs });
      this.git.onRelease((previous) => {
        this.opts.log.info({ was: previous }, 'git is quiet again: library writes resume');
        this.loggedHold = undefined;
        // Forced: the plan made while git held the writes may have left its work undone.
        void this.onMapHint(true);
      });
    }
    this.lane = new Lane({ ...(opts.onFatal ? { onFatal: opts.onFatal } : {}), onBackgroundError: (what, err) => this.mapState.writeFailed(what, err) });
    this.pool = new GenerationPool({
      provider: opts.provider,
      config: opts.config.provider,
      concurrency: opts.config.generation.concurrency,
      context: (r) => this.generationContext(r),
      log: opts.log,
      onStart: (r) => {
        // A regeneration keeps its state (draft, done): `generating` would be written as answered.
        if (r.regenerating) return;
        this.store.setTransient(r.id, 'generating');
        this.emitRequest('request.generating', r);
      },
    });
    this.retries = new RetryTimer(this.store, () => void this.onMapHint(true));
    const failures: FailureDeps = { store: this.store, retries: this.retries, log: opts.log, emit: (e) => this.emitEvent(e) };
    this.installs = new InstallQueue({
      fs: opts.fs,
      config: opts.config,
      store: this.store,
      staged: this.staged,
      lane: this.lane,
      log: opts.log,
      emit: (e) => this.emitEvent(e),
      index: () => this.index,
      mapState: this.mapState,
      failures,
      hold: this.gitHold,
      ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
    });
    this.inPlaceSaves = new InPlaceSaves({
      fs: opts.fs,
      mapFile: opts.config.mapFile,
      componentsDir: opts.config.componentsDir,
      stateDir: opts.config.stateDir,
      schedule: (what, job) => this.lane.background(what, job),
      onRecovered: (o) => {
        if (o.outcome === 'reapplied')
          opts.log.warn(
            { mapFile: opts.config.mapFile, bytes: o.bytes, repoints: o.repoints },
            "a save through a descriptor opened before jitd's map write was re-applied, with jitd's change on top",
          );
        else
          opts.log.error(
            { mapFile: opts.config.mapFile, keptAt: o.path, reason: o.reason },
            'a save through an earlier descriptor could not be re-applied; its text is kept aside',
          );
      },
      onError: (err) => opts.log.warn({ err }, 'watching a replaced map version failed'),
    });
    this.pipeline = new Pipeline({
      pool: this.pool,
      installs: this.installs,
      lane: this.lane,
      log: opts.log,
      failures,
      store: this.store,
      staged: this.staged,
      candidates: this.candidates,
      review: opts.config.generation.review,
      providerName: opts.provider.name,
      emit: (e) => this.emitEvent(e),
    });
    this.commands = new RequestCommands({
      store: this.store,
      staged: this.staged,
      pipeline: this.pipeline,
      candidates: this.candidates,
      lane: this.lane,
      log: opts.log,
      emit: (e) => this.emitEvent(e),
    });
    this.regenerations = new Regenerations({
      fs: opts.fs,
      config: opts.config,
      store: this.store,
      staged: this.staged,
      candidates: this.candidates,
      pool: this.pool,
      lane: this.lane,
      log: opts.log,
      providerName: opts.provider.name,
      emit: (e) => this.emitEvent(e),
      find: (id) => this.find(id),
    });
  }

  private find(idOrPrefix: string): Request {
    const r = this.store.resolve(idOrPrefix);
    if (r === 'ambiguous') throw new RequestError('EAMBIGUOUS', `request id prefix ${idOrPrefix} matches more than one request`);
    if (!r) throw new RequestError('ENOREQUEST', `no request ${idOrPrefix}`);
    return r;
  }

  get provider(): Provider {
    return this.opts.provider;
  }

  private emitEvent(e: EngineEvent): void {
    this.emit('event', e);
  }
  private emitRequest(
    type: 'request.added' | 'request.answered' | 'request.generating' | 'request.withdrawn' | 'request.rejected' | 'request.reopened',
    r: Request,
  ): void {
    this.emitEvent({ type, request: publicView(r) });
  }

  /** Why library writes must wait for git right now (git-activity.ts); logged once per hold. */
  private readonly gitHold = (): string | undefined => {
    const reason = this.git?.check();
    if (reason && reason !== this.loggedHold) this.opts.log.info({ reason }, 'library writes held while git is busy');
    this.loggedHold = reason;
    return reason;
  };

  private applyContext(): ApplyContext {
    return {
      fs: this.opts.fs,
      mapFile: this.opts.config.mapFile,
      componentsDir: this.opts.config.componentsDir,
      stateDir: this.opts.config.stateDir,
      store: this.store,
      staged: this.staged,
      hold: this.gitHold,
      index: this.index,
      onMapWrite: this.mapState.noteOwnWrite,
      onComponentWrite: this.mapState.noteComponent,
      onChange: (r, what) => {
        this.opts.log.info({ request: r.id, goal: r.goal, type: r.type, filename: r.filename, what }, `request ${what}`);
        if (what === 'created') this.emitRequest('request.added', r);
        else if (what === 'resolved' || what === 'adopted')
          this.emitEvent({ type: 'request.resolved', request: publicView(r), how: what === 'resolved' ? 'person' : 'adopted' });
        else if (what === 'withdrawn') this.emitRequest('request.withdrawn', r);
        else if (what === 'reopened') this.emitRequest('request.reopened', r);
      },
    };
  }

  /** Loads the requests and runs the start-up reconcile (with the lock already held). */
  async start(): Promise<ReconcileReport> {
    const loaded = await this.store.load();
    if (loaded.quarantined.length) this.opts.log.warn({ files: loaded.quarantined }, 'unreadable request records moved to quarantine');
    await this.staged.load();
    const report = await this.reconcileNow('startup', true);
    this.regenerations.resumeAll();
    return report;
  }

  /** A full reconcile on the lane: sweep, rescan, plan, roll forward, orphans. */
  reconcileNow(reason: string, retryAllFailed = false): Promise<ReconcileReport> {
    return this.lane.run(async () => {
      const { config } = this.opts;
      let result: Awaited<ReturnType<typeof reconcile>>;
      try {
        result = await reconcile({
          ...this.applyContext(),
          componentsDir: config.componentsDir,
          stateDir: config.stateDir,
          orphans: config.orphans,
          retryAllFailed,
          readMap: () => this.mapState.snapshot(),
        });
      } catch (err) {
        if (err instanceof FsyncFailedError) throw err;
        // A full disk must not turn into a crash loop under systemd: report, keep serving, and
        // let the next rescan try again. Nothing half-done is left (every write is a durable put).
        this.mapState.writeFailed('reconcile', err);
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
        this.mapState.writeOk();
        if (result.index) this.index = result.index;
        // Re-read rather than trust the pre-roll-forward snapshot: the reconcile may have written
        // (the map state parses again only if the bytes changed).
        await this.syncNow().catch((err: unknown) => {
          if (err instanceof FsyncFailedError) throw err;
          this.mapState.writeFailed('sync', err);
        });
      }
      await this.installs.pruneStaged();
      for (const r of report.toGenerate) this.pipeline.generate(r);
      this.retries.schedule();
      this.opts.log.info(
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
      this.emitEvent({ type: 'reconciled', summary: { reason, tempsRemoved: report.tempsRemoved.length, mapError: report.mapError } });
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
    if (this.syncQueued || this.stopping) return Promise.resolve(this.mapState.mapError === undefined);
    this.syncQueued = true;
    // Never rejects: hints come from the watcher and timers, where nobody could handle it.
    return this.lane
      .run(async () => {
        this.syncQueued = false;
        const forced = this.forcePlan;
        this.forcePlan = false;
        return this.syncNow(forced);
      })
      .catch((err: unknown) => {
        if (!(err instanceof FsyncFailedError)) this.mapState.writeFailed('sync', err);
        return false;
      });
  }

  /** Reads the map and applies the plan (unless it is jitd's own write, MapState.mustPlan); must run on the lane. */
  private async syncNow(force = true): Promise<boolean> {
    const read = await this.mapState.read();
    if (!read.ok) return false;
    const { map } = read;
    this.installs.unpark();
    if (!this.mapState.mustPlan(read.sha256, force)) return true;
    const records = new Map(this.store.all().map((r) => [r.id, r] as const));
    const plan = planSync(map.entries, this.index, records);
    await applyPlan(this.applyContext(), plan);
    if (plan.rollForward.length) this.mapState.writeOk();
    for (const r of plan.generate) this.pipeline.generate(r);
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
    if (this.mapState.isOwnComponent(dirName, name, present)) return;
    const usable = this.mapState.usable;
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
    this.lane.background('sync', async () => {
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
    const map = this.mapState.map;
    if (!map || !this.mapState.usable) {
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
      const r = this.store.get(requestId(e.goal, e.type, e.filename));
      if (r) records.set(r.id, r);
    }
    // Every record passed belongs to one of these entries: nothing is withdrawn or forgotten here.
    const plan = planSync(entries, this.index, records);
    await applyPlan(this.applyContext(), plan);
    for (const r of plan.generate) this.pipeline.generate(r);
  }

  /** A hint that a whole `<type>s` directory changed (added, removed, or events lost). */
  async onTypeDirHint(dirName: string): Promise<void> {
    const names = await listTypeDir(this.opts.fs, join(this.opts.config.componentsDir, dirName), { checkRoot: true });
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
  async onRootHint(present: boolean, why = `${this.opts.config.componentsDir} is missing`): Promise<void> {
    if (!present) {
      if (this.index.rootUnavailable === undefined)
        this.opts.log.warn({ components: this.opts.config.componentsDir, why }, 'components directory unavailable; waiting for it');
      this.index.markRootUnavailable(why);
      return;
    }
    await this.lane.run(async () => {
      const scan = await scanComponents(this.opts.fs, this.opts.config.componentsDir);
      if (scan.rootUnavailable === undefined && this.index.rootUnavailable !== undefined)
        this.opts.log.info({ components: this.opts.config.componentsDir }, 'components directory is back; rescanned');
      this.index = scan.index;
    });
    await this.onMapHint(true);
  }

  /**
   * The state directory was removed while jitd runs: makes `requests/` and `staged/` again (the
   * state directory with them, as its root policy allows) and writes back every request record
   * held in memory. Answers the directories made.
   */
  restoreState(): Promise<string[]> {
    return this.lane.run(async () => [...(await this.store.restoreDir()), ...(await this.staged.restoreDir())]);
  }

  /**
   * Records a person's answer durably, then starts generation. Resolves after the answer is on
   * disk. `opts.by`: who answered (the control socket's peer credentials), kept in the record.
   */
  answer(idOrPrefix: string, text: string, opts: { review?: boolean; by?: Peer } = {}): Promise<Request> {
    return this.commands.answer(idOrPrefix, text, opts);
  }

  /** Approves a draft (its current candidate, or an earlier one; `by`: who); the install follows. */
  approve(idOrPrefix: string, candidate?: number, by?: Peer): Promise<Request> {
    const r = this.store.resolve(idOrPrefix);
    // A draft of a done request replaces the installed component (regeneration.ts).
    if (typeof r === 'object' && isDraftOfDone(r)) return this.regenerations.approve(idOrPrefix, candidate, by);
    return this.commands.approve(idOrPrefix, candidate, by);
  }

  /** Asks for a new candidate of a draft or of a done generated component (docs/review.md). */
  regenerate(idOrPrefix: string, opts: { feedback?: string; review?: boolean } = {}): Promise<Request> {
    return this.regenerations.regenerate(idOrPrefix, opts);
  }

  /** The text `jitctl edit` opens: a draft's candidate, or a done component's installed text. */
  editableText(idOrPrefix: string): Promise<EditableText> {
    return this.regenerations.current(idOrPrefix);
  }

  /** A person's text (`by`: who) becomes the newest candidate and the draft. */
  edit(idOrPrefix: string, text: string, by?: Peer): Promise<{ request: Request; candidate: number }> {
    return this.regenerations.edit(idOrPrefix, text, by);
  }

  /** Declines a waiting or failed request: not asked again until its map entry changes. */
  reject(idOrPrefix: string): Promise<Request> {
    return this.commands.reject(idOrPrefix);
  }

  /** Retries a failed request now (from its staged output if it has one). */
  retry(idOrPrefix: string): Promise<Request> {
    return this.commands.retry(idOrPrefix);
  }

  /** What the model sees of the library for `r` (contract §8); `jitctl preview` shows the same. */
  generationContext(r: Pick<Request, 'goal' | 'type' | 'filename' | 'generatedName'>): Promise<GenerationContext> {
    const { config } = this.opts;
    const { contextBytes, promptsDir } = config.generation;
    return gatherContext({ fs: this.opts.fs, componentsDir: config.componentsDir, promptsDir, contextBytes, map: this.mapState.map, index: this.index }, r);
  }

  /** Counts for `jitctl status`. */
  counts() {
    const byState: Record<RequestState, number> = { waiting: 0, answered: 0, generating: 0, installing: 0, done: 0, failed: 0, rejected: 0, draft: 0 };
    for (const r of this.store.all()) byState[r.state]++;
    const map = this.mapState.map;
    const entries = map?.entries ?? [];
    let missing = 0;
    for (const e of entries) if (!this.index.has(e.type, e.filename)) missing++;
    return {
      goals: map?.goals ?? 0,
      entries: entries.length,
      components: this.index.size,
      missing,
      requests: byState,
      queue: { lane: this.lane.size, ...this.pool.stats(), ...this.installs.stats() },
      inPlaceSaves: this.inPlaceSaves.stats(),
      mapSyncs: this.mapState.stats(),
    };
  }

  /** Stops intake, aborts model calls in flight (their requests stay answered), drains the lane. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.git?.stop();
    this.retries.stop();
    await this.pool.stop();
    await this.lane.drain();
    await this.inPlaceSaves.stop();
    await this.lane.drain();
  }

  /** Resolves once the lane and the pool are both idle (tests, `status --sync`). */
  async idle(): Promise<void> {
    for (;;) {
      await this.lane.drain();
      await this.pool.onIdle();
      if (this.lane.isIdle && this.pool.busy() === 0) return;
    }
  }
}
