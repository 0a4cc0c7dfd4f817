/**
 * The engine: jitd's single source of truth at run time. It owns the request store and the
 * map state (install/map-state.ts: the map as last read, the map and write errors, jitd's own
 * writes), builds its parts and runs every change on one serial lane (lane.ts): the watcher's
 * hints, syncs and reconciles, with the component index (library-sync.ts), a person's commands
 * (request-commands.ts, regeneration.ts) and installs (install-queue.ts). Model calls run beside it in
 * the generation pool (generation-pool.ts); pipeline.ts routes their outcomes (output staged and
 * installed in batches, failures recorded). Every state change is requests/transitions.ts.
 *
 * It never waits on a person: waiting requests live in the store, and an answer enqueues work.
 */
import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { FsLayer } from '../fsio/fs-layer.js';
import type { Config } from '../library/config.js';
import { InPlaceSaves } from '../install/in-place-saves.js';
import { MapState } from '../install/map-state.js';
import { GitActivity } from '../reconcile/git-activity.js';
import type { ReconcileReport } from '../reconcile/reconcile.js';
import type { ComponentIndex } from '../library/component-index.js';
import { publicView, type Request, type RequestState } from '../requests/request.js';
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
import { LibrarySync } from './library-sync.js';
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
  /** The component files on disk, by type directory (library-sync.ts keeps it current). */
  get index(): ComponentIndex {
    return this.sync.index;
  }
  /**
   * The map as last read, its errors and the last failure to write the library (ENOSPC, EIO...
   * on the map or a component: jitd keeps serving and retries on the next hint or rescan).
   */
  readonly mapState: MapState;
  get lastReconcile(): ReconcileReport | undefined {
    return this.sync.lastReconcile;
  }
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
  private readonly sync: LibrarySync;

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
    this.sync = new LibrarySync({
      fs: opts.fs,
      config: opts.config,
      log: opts.log,
      lane: this.lane,
      store: this.store,
      staged: this.staged,
      mapState: this.mapState,
      installs: this.installs,
      pipeline: this.pipeline,
      retries: this.retries,
      hold: this.gitHold,
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

  /** Loads the requests and runs the start-up reconcile (with the lock already held). */
  async start(): Promise<ReconcileReport> {
    const loaded = await this.store.load();
    if (loaded.quarantined.length) this.opts.log.warn({ files: loaded.quarantined }, 'unreadable request records moved to quarantine');
    await this.staged.load();
    const report = await this.reconcileNow('startup', true);
    this.regenerations.resumeAll();
    return report;
  }

  /** A full reconcile on the lane: sweep, rescan, plan, roll forward, orphans (library-sync.ts). */
  reconcileNow(reason: string, retryAllFailed = false): Promise<ReconcileReport> {
    return this.sync.reconcileNow(reason, retryAllFailed);
  }

  /**
   * A hint that the map may have changed (coalesced). Answers true if the map parsed (or was
   * unchanged), false if it was unusable: the caller retries after debounceMs. Never rejects.
   */
  onMapHint(force = false): Promise<boolean> {
    return this.sync.onMapHint(force);
  }

  /** A hint that `<dirName>/<name>` appeared or vanished in the component tree. */
  onComponentHint(dirName: string, name: string, present: boolean): void {
    this.sync.onComponentHint(dirName, name, present);
  }

  /** A hint that a whole `<type>s` directory changed (added, removed, or events lost). */
  onTypeDirHint(dirName: string): Promise<void> {
    return this.sync.onTypeDirHint(dirName);
  }

  /** A hint that the components root vanished (`present` false) or came back (rescanned). */
  onRootHint(present: boolean, why?: string): Promise<void> {
    return this.sync.onRootHint(present, why);
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
    this.sync.stop();
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
