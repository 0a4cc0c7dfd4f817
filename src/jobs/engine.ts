/**
 * The engine: jitd's single source of truth at run time. It owns the request store, the
 * component index and the last good map, and runs every change to them on one serial lane
 * (p-queue, concurrency 1): syncs after watcher hints, answers, installs, reconciles. Model
 * calls run beside it in the generation pool (generation-pool.ts) and hand their output back
 * to the lane, where installs that finish together are committed in one map write.
 *
 * It never waits on a person: waiting requests live in the store, and an answer enqueues work.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { FsLayer } from '../fsio/fs-layer.js';
import { FsyncFailedError, JitdError } from '../fsio/errors.js';
import type { Config } from '../library/config.js';
import { MapParseError, parseGoalMap, type MapEntry, type ParsedMap } from '../library/goal-map.js';
import { isGeneratedName } from '../library/names.js';
import { UnsafePathError } from '../library/paths.js';
import { installBatch, mapLimit, type InstallItem } from '../install/install-batch.js';
import { MapUnavailableError, readMapBytes } from '../install/map-file.js';
import { applyPlan, type ApplyContext } from '../reconcile/apply-plan.js';
import { planSync } from '../reconcile/plan-sync.js';
import { reconcile, type ReconcileReport } from '../reconcile/reconcile.js';
import { ComponentIndex, listTypeDir } from '../reconcile/scan-components.js';
import { MAX_DESCRIPTION_LENGTH, publicView, requestId, type Request, type RequestState } from '../requests/request.js';
import { RequestStore } from '../requests/request-store.js';
import { StagedOutputs } from '../requests/staged-output.js';
import type { Provider } from '../generation/provider.js';
import type { EngineEvent } from './events.js';
import { GenerationPool } from './generation-pool.js';
import { join } from 'node:path';

export class RequestError extends JitdError {}

export interface EngineOptions {
  fs: FsLayer;
  config: Config;
  provider: Provider;
  log: Logger;
  /** A fatal error outside any caller's promise (a failed fsync in a background install). */
  onFatal?: (err: unknown) => void;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class Engine extends EventEmitter<{ event: [EngineEvent] }> {
  readonly store: RequestStore;
  /** Model output made durable before it is installed (see staged-output.ts). */
  readonly staged: StagedOutputs;
  index = new ComponentIndex();
  map: ParsedMap | undefined;
  mapError: string | undefined;
  /**
   * The last failure to write the library (ENOSPC, EIO... on the map or a component), until a
   * later sync or install succeeds. jitd keeps serving and retries on the next hint or rescan.
   */
  writeError: string | undefined;
  lastReconcile: ReconcileReport | undefined;
  readonly startedAt = Date.now();

  private readonly lane = new PQueue({ concurrency: 1 });
  private readonly pool: GenerationPool;
  private mapHash: string | undefined;
  private syncQueued = false;
  /** Component hints waiting for the lane: file name → type directories. */
  private pendingComponents = new Map<string, Set<string>>();
  private componentSyncQueued = false;
  private readyToInstall: InstallItem[] = [];
  /** Generated output waiting for the map to become usable again (deleted, or mid-save). */
  private parked: InstallItem[] = [];
  private installQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Staging writes and staged reads in flight (outside the lane); `idle()` waits for them. */
  private readonly offLane = new Set<Promise<unknown>>();

  constructor(private readonly opts: EngineOptions) {
    super();
    this.store = new RequestStore(opts.fs, opts.config.stateDir);
    this.staged = new StagedOutputs(opts.fs, opts.config.stateDir);
    this.pool = new GenerationPool({
      provider: opts.provider,
      config: opts.config.provider,
      concurrency: opts.config.generation.concurrency,
      log: opts.log,
      onStart: (r) => {
        this.store.setTransient(r.id, 'generating');
        this.emitRequest('request.generating', r);
      },
      onOutput: (r, content) => this.stageThenInstall(r, content),
      onFailure: (r, error, retryable) => this.inBackground('recording a failure', () => this.recordFailure(r.id, error, retryable)),
    });
  }

  get provider(): Provider {
    return this.opts.provider;
  }

  private emitEvent(e: EngineEvent): void {
    this.emit('event', e);
  }
  private emitRequest(type: 'request.added' | 'request.answered' | 'request.generating' | 'request.withdrawn' | 'request.rejected' | 'request.reopened', r: Request): void {
    this.emitEvent({ type, request: publicView(r) });
  }

  /** Bytes jitd is about to write to the map: its own write must not set off work. */
  private readonly noteOwnMapWrite = (bytes: Buffer, parsed?: ParsedMap): void => {
    // Remember what we wrote: the watcher's event for it then reads identical bytes and stops.
    this.mapHash = sha(bytes);
    this.map = parsed ?? parseGoalMap(bytes.toString('utf8'));
  };

  private applyContext(): ApplyContext {
    return {
      fs: this.opts.fs,
      mapFile: this.opts.config.mapFile,
      componentsDir: this.opts.config.componentsDir,
      store: this.store,
      onMapWrite: this.noteOwnMapWrite,
      onChange: (r, what) => {
        this.opts.log.info({ request: r.id, goal: r.goal, type: r.type, filename: r.filename, what }, `request ${what}`);
        if (what === 'created') this.emitRequest('request.added', r);
        else if (what === 'resolved' || what === 'adopted') this.emitEvent({ type: 'request.resolved', request: publicView(r), how: what === 'resolved' ? 'person' : 'adopted' });
        else if (what === 'withdrawn') this.emitRequest('request.withdrawn', r);
        else if (what === 'reopened') this.emitRequest('request.reopened', r);
      },
    };
  }

  /**
   * Adds a task to the serial lane. A failed fsync in any task is fatal for the daemon (the
   * caller still gets the rejection, so a client hears of it first): after a failed fsync the
   * state on disk is unknown, and only a restart's reconcile can tell what is durable.
   */
  private onLane<T>(task: () => Promise<T>): Promise<T> {
    const p = this.lane.add(task);
    p.catch((err: unknown) => {
      if (err instanceof FsyncFailedError) this.opts.onFatal?.(err);
    });
    return p;
  }

  /**
   * A background lane task (hints, timers, installs): nobody awaits it, so its errors end here.
   * A failed fsync is fatal; any other error (a full disk, EIO, EACCES) is reported in
   * `writeError` and the work is retried by the next hint or the periodic rescan.
   */
  private inBackground(what: string, task: () => Promise<unknown>): void {
    this.onLane(task).catch((err: unknown) => {
      if (err instanceof FsyncFailedError) return;
      this.noteWriteError(what, err);
    });
  }

  private noteWriteError(what: string, err: unknown): void {
    const message = (err as Error)?.message ?? String(err);
    this.opts.log.error({ err, what }, `${what} failed; will retry on the next change or rescan`);
    this.writeError = message;
    this.emitEvent({ type: 'write.error', message });
  }

  /** Loads the requests and runs the start-up reconcile (with the lock already held). */
  async start(): Promise<ReconcileReport> {
    const loaded = await this.store.load();
    if (loaded.quarantined.length) this.opts.log.warn({ files: loaded.quarantined }, 'unreadable request records moved to quarantine');
    await this.staged.load();
    return this.reconcileNow('startup', true);
  }

  /** Runs `task` outside the lane, tracked so that `idle()` and `stop()` wait for it. */
  private track(task: Promise<unknown>): void {
    const p = task.finally(() => this.offLane.delete(p));
    this.offLane.add(p);
  }

  /**
   * The model answered: make its output durable first (a crash from here on does not pay for
   * the call again), then hand it to the install lane. Staging runs beside the lane, which may
   * be busy for seconds with a reconcile. If staging fails (a full disk), the install still
   * proceeds from memory; only a failed fsync stops the daemon.
   */
  private stageThenInstall(r: Request, content: string): void {
    this.track(
      this.staged.put(r.id, content).then(
        () => this.queueInstall({ request: r, content }),
        (err: unknown) => {
          if (err instanceof FsyncFailedError) return this.opts.onFatal?.(err);
          this.opts.log.warn({ err, request: r.id }, 'could not stage the model output; installing it from memory');
          this.queueInstall({ request: r, content });
        },
      ),
    );
  }

  /**
   * An answered request needs its component: installed from its staged output if there is one,
   * else generated by the model.
   */
  private generate(r: Request): void {
    if (!this.staged.has(r.id)) {
      this.pool.enqueue(r);
      return;
    }
    if (this.readyToInstall.some((x) => x.request.id === r.id) || this.parked.some((x) => x.request.id === r.id)) return;
    this.track(
      this.staged.read(r.id).then(
        (content) => (content === undefined ? this.pool.enqueue(r) : this.queueInstall({ request: r, content })),
        (err: unknown) => {
          this.opts.log.warn({ err, request: r.id }, 'could not read the staged output; generating again');
          this.pool.enqueue(r);
        },
      ),
    );
  }

  /** Staged outputs are kept only for requests that still have an answer to install. */
  private async pruneStaged(): Promise<void> {
    const keep = (id: string) => {
      const r = this.store.get(id);
      return r !== undefined && r.description !== undefined && (r.state === 'answered' || r.state === 'generating' || r.state === 'installing' || r.state === 'failed');
    };
    const removed = await this.staged.prune(keep);
    if (removed.length) this.opts.log.info({ requests: removed }, 'staged outputs of closed requests removed');
  }

  /** A full reconcile on the lane: sweep, rescan, plan, roll forward, orphans. */
  reconcileNow(reason: string, retryAllFailed = false): Promise<ReconcileReport> {
    return this.onLane(async () => {
      const { config } = this.opts;
      const hashBefore = this.mapHash;
      let result: Awaited<ReturnType<typeof reconcile>>;
      try {
        result = await reconcile({
          ...this.applyContext(),
          componentsDir: config.componentsDir,
          stateDir: config.stateDir,
          orphans: config.orphans,
          retryAllFailed,
        });
      } catch (err) {
        if (err instanceof FsyncFailedError) throw err;
        // A full disk must not turn into a crash loop under systemd: report, keep serving, and
        // let the next rescan try again. Nothing half-done is left (every write is a durable put).
        this.noteWriteError('reconcile', err);
        const report: ReconcileReport = { at: new Date().toISOString(), tempsRemoved: [], refusedDirs: [], toGenerate: [], retryLater: [], error: (err as Error).message };
        this.lastReconcile = report;
        return report;
      }
      const { report } = result;
      this.lastReconcile = report;
      if (report.mapError) {
        this.setMapError(report.mapError);
      } else {
        if (result.index) this.index = result.index;
        // The reconcile parsed the map: if it did not write it (its own write is noted already),
        // hand the parse over, so the sync below re-reads the bytes but parses only if they changed.
        if (this.mapHash === hashBefore && result.map && result.mapBytes) {
          this.map = result.map;
          this.mapHash = sha(result.mapBytes);
        }
        // Re-read rather than trust the pre-roll-forward snapshot: the reconcile may have written.
        await this.syncNow().catch((err: unknown) => {
          if (err instanceof FsyncFailedError) throw err;
          this.noteWriteError('sync', err);
        });
      }
      await this.pruneStaged();
      for (const r of report.toGenerate) this.generate(r);
      this.scheduleRetries();
      this.opts.log.info(
        {
          reason,
          tempsRemoved: report.tempsRemoved.length,
          rolledForward: report.applied?.rolledForward.length ?? 0,
          created: report.applied?.created ?? 0,
          orphans: report.orphans,
          refusedDirs: report.refusedDirs,
          mapError: report.mapError,
        },
        'reconciled',
      );
      this.emitEvent({ type: 'reconciled', summary: { reason, tempsRemoved: report.tempsRemoved.length, mapError: report.mapError } });
      return report;
    });
  }

  private setMapError(message: string): void {
    if (this.mapError !== message) {
      this.opts.log.warn({ mapFile: this.opts.config.mapFile, error: message }, 'map unusable; keeping the last good map');
      this.emitEvent({ type: 'map.error', message });
    }
    this.mapError = message;
  }

  /**
   * A hint that the map may have changed: read it, and act at once if it parses. Hints are
   * coalesced: while one sync waits on the lane, more hints add nothing. Answers true if the
   * map parsed (or was unchanged), false if it was unusable — the caller retries after debounceMs.
   */
  onMapHint(): Promise<boolean> {
    if (this.syncQueued || this.stopping) return Promise.resolve(this.mapError === undefined);
    this.syncQueued = true;
    // Never rejects: hints come from the watcher and timers, where nobody could handle it.
    return this.onLane(async () => {
      this.syncQueued = false;
      return this.syncNow();
    }).catch((err: unknown) => {
      if (!(err instanceof FsyncFailedError)) this.noteWriteError('sync', err);
      return false;
    });
  }

  /** Reads the map and applies the plan; must run on the lane. */
  private async syncNow(): Promise<boolean> {
    let bytes: Buffer;
    try {
      bytes = await readMapBytes(this.opts.fs, this.opts.config.mapFile);
    } catch (err) {
      this.setMapError((err as Error).message);
      return false;
    }
    const hash = sha(bytes);
    let map = this.map;
    if (hash !== this.mapHash || !map) {
      try {
        map = parseGoalMap(bytes.toString('utf8'));
      } catch (err) {
        this.setMapError((err as Error).message);
        return false;
      }
      this.map = map;
      this.mapHash = hash;
      if (map.problems.length) this.opts.log.warn({ problems: map.problems.slice(0, 20), count: map.problems.length }, 'map entries skipped');
    }
    if (this.mapError !== undefined) {
      this.mapError = undefined;
      this.emitEvent({ type: 'map.ok', goals: map.goals });
    }
    for (const item of this.parked.splice(0)) this.queueInstall(item);
    const records = new Map(this.store.all().map((r) => [r.id, r] as const));
    const plan = planSync(map.entries, this.index, records);
    await applyPlan(this.applyContext(), plan);
    if (plan.rollForward.length) this.writeError = undefined;
    for (const r of plan.generate) this.generate(r);
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
    if (present) this.index.add(dirName, name);
    else this.index.delete(dirName, name);
    if (isGeneratedName(name) || !this.map || this.mapError !== undefined) {
      void this.onMapHint();
      return;
    }
    const dirs = this.pendingComponents.get(name);
    if (dirs) dirs.add(dirName);
    else this.pendingComponents.set(name, new Set([dirName]));
    if (this.componentSyncQueued || this.stopping) return;
    this.componentSyncQueued = true;
    this.inBackground('sync', async () => {
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
    const map = this.map;
    if (!map || this.mapError !== undefined) {
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
    for (const r of plan.generate) this.generate(r);
  }

  /** A hint that a whole `<type>s` directory changed (added, removed, or events lost). */
  async onTypeDirHint(dirName: string): Promise<void> {
    const names = await listTypeDir(this.opts.fs, join(this.opts.config.componentsDir, dirName));
    if (names.length) this.index.setDir(dirName, names);
    else this.index.dropDir(dirName);
    await this.onMapHint();
  }

  private queueInstall(item: InstallItem): void {
    if (this.readyToInstall.some((x) => x.request.id === item.request.id)) return;
    this.readyToInstall.push(item);
    if (this.installQueued) return;
    this.installQueued = true;
    this.inBackground('install', async () => {
      this.installQueued = false;
      // A request can be handed over twice (a reconcile and its sync both plan it, each reading
      // its staged output); the second finds it closed by the first.
      const batch = this.readyToInstall.splice(0).filter((it) => {
        const now = this.store.get(it.request.id);
        return now !== undefined && now.state !== 'done' && now.state !== 'rejected';
      });
      if (!batch.length) return;
      for (const it of batch) this.store.setTransient(it.request.id, 'installing');
      try {
        const outcomes = await installBatch(
          {
            fs: this.opts.fs,
            mapFile: this.opts.config.mapFile,
            componentsDir: this.opts.config.componentsDir,
            store: this.store,
            onMapWrite: this.noteOwnMapWrite,
            // Unless the map changed since the engine last read it, the install needs no parse.
            ...(this.map && this.mapHash ? { lastParsed: { sha256: this.mapHash, map: this.map } } : {}),
          },
          batch,
        );
        // Closing the requests: independent record files, so their fsyncs may overlap.
        await mapLimit(outcomes, 4, (o) => this.afterInstall(o));
        if (outcomes.some((o) => o.result === 'installed')) this.writeError = undefined;
      } catch (err) {
        if (err instanceof MapParseError || err instanceof MapUnavailableError) {
          // The map is unusable right now. Keep the model's output in memory and install it as
          // soon as a sync finds the map usable again: nothing is paid for twice.
          this.parked.push(...batch);
          this.setMapError(err.message);
          return;
        }
        if (err instanceof FsyncFailedError) throw err;
        // The map could not be written: everything in the batch stays answered, and any
        // component already published is rolled forward by the next sync.
        this.noteWriteError('install', err);
        for (const it of batch) {
          const r = this.store.get(it.request.id);
          if (r) await this.store.save({ ...r, state: 'answered', lastError: (err as Error).message }, { durable: false });
        }
      }
    });
  }

  private async afterInstall(o: Awaited<ReturnType<typeof installBatch>>[number]): Promise<void> {
    const r = this.store.get(o.id);
    // Closed meanwhile (a sync saw the map already naming its file, or it was rejected).
    if (!r || r.state === 'done' || r.state === 'rejected') return;
    const { log } = this.opts;
    switch (o.result) {
      case 'installed': {
        const { lastError: _e, nextAttemptAt: _n, ...rest } = r;
        const done: Request = { ...rest, state: 'done', resolution: o.adoptedExisting ? 'adopted' : 'generated' };
        await this.store.save(done, { durable: false });
        await this.staged.remove(r.id);
        this.index.add(`${r.type}s`, r.generatedName);
        log.info({ request: r.id, goal: r.goal, type: r.type, path: o.path, from: r.filename, to: r.generatedName }, 'installed');
        this.emitEvent({ type: 'request.installed', request: publicView(done), path: o.path });
        return;
      }
      case 'resolved-by-person': {
        const done: Request = { ...r, state: 'done', resolution: 'person' };
        await this.store.save(done, { durable: false });
        await this.staged.remove(r.id);
        this.index.add(`${r.type}s`, r.filename);
        this.emitEvent({ type: 'request.resolved', request: publicView(done), how: 'person' });
        return;
      }
      case 'entry-gone':
        // The answer is kept (dormant): if the entry comes back, nobody is asked again.
        await this.store.save({ ...r, state: 'answered' }, { durable: false });
        log.info({ request: r.id }, 'map entry changed while generating; answer kept, nothing installed');
        return;
      case 'error':
        // A path that resolves outside the library stays unsafe until a person fixes the tree:
        // retrying on a timer would only fail again. Anything else (a full disk) is retried.
        await this.recordFailure(r.id, o.error.message, !(o.error instanceof UnsafePathError));
        return;
    }
  }

  /** Moves a request to `failed` durably, keeping its description; schedules the back-off retry. */
  private async recordFailure(id: string, error: string, retryable: boolean): Promise<void> {
    const r = this.store.get(id);
    if (!r) return;
    const failures = r.failures + 1;
    // Back-off between automatic retries of a failed request: 30 s, 1 min, 2 min ... capped at 1 h.
    const delay = Math.min(3_600_000, 30_000 * 2 ** (failures - 1));
    const failed: Request = { ...r, state: 'failed', failures, lastError: error, attempts: r.attempts + 1 };
    if (retryable) failed.nextAttemptAt = Date.now() + delay;
    else delete failed.nextAttemptAt;
    await this.store.save(failed, { durable: true });
    this.opts.log.warn({ request: r.id, error, retryable, nextAttemptAt: failed.nextAttemptAt }, 'generation failed');
    this.emitEvent({ type: 'request.failed', request: publicView(failed), error });
    this.scheduleRetries();
  }

  private scheduleRetries(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.stopping) return;
    const due = this.store
      .all()
      .filter((r) => r.state === 'failed' && r.nextAttemptAt !== undefined)
      .map((r) => r.nextAttemptAt as number);
    if (!due.length) return;
    const wait = Math.max(0, Math.min(...due) - Date.now());
    this.retryTimer = setTimeout(() => void this.onMapHint(), Math.min(wait, 2 ** 31 - 1));
    this.retryTimer.unref();
  }

  private find(idOrPrefix: string): Request {
    const r = this.store.resolve(idOrPrefix);
    if (r === 'ambiguous') throw new RequestError('EAMBIGUOUS', `request id prefix ${idOrPrefix} matches more than one request`);
    if (!r) throw new RequestError('ENOREQUEST', `no request ${idOrPrefix}`);
    return r;
  }

  /** Records a person's answer durably, then starts generation. Resolves after the answer is on disk. */
  answer(idOrPrefix: string, text: string): Promise<Request> {
    return this.onLane(async () => {
      const description = text.replace(/\s+/g, ' ').trim();
      if (!description) throw new RequestError('EEMPTY', 'the description is empty');
      if (description.length > MAX_DESCRIPTION_LENGTH) throw new RequestError('ETOOLONG', `the description is over ${MAX_DESCRIPTION_LENGTH} characters`);
      const r = this.find(idOrPrefix);
      if (r.state !== 'waiting') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}, not waiting for a description`);
      const answered: Request = { ...r, state: 'answered', description, answeredAt: new Date().toISOString(), attempts: 0, failures: 0 };
      // An output staged for an earlier answer (the entry was reopened since) is not this one's.
      await this.staged.remove(r.id);
      await this.store.save(answered, { durable: true });
      this.opts.log.info({ request: r.id, goal: r.goal, type: r.type }, 'answered');
      this.emitRequest('request.answered', answered);
      this.generate(answered);
      return answered;
    });
  }

  reject(idOrPrefix: string): Promise<Request> {
    return this.onLane(async () => {
      const r = this.find(idOrPrefix);
      if (r.state !== 'waiting' && r.state !== 'failed') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only waiting or failed requests can be rejected`);
      this.pool.cancel(r.id);
      const rejected: Request = { ...r, state: 'rejected' };
      delete rejected.nextAttemptAt;
      await this.store.save(rejected, { durable: true });
      this.emitRequest('request.rejected', rejected);
      return rejected;
    });
  }

  retry(idOrPrefix: string): Promise<Request> {
    return this.onLane(async () => {
      const r = this.find(idOrPrefix);
      if (r.state !== 'failed') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only failed requests can be retried`);
      const again: Request = { ...r, state: 'answered', failures: 0 };
      delete again.nextAttemptAt;
      await this.store.save(again, { durable: true });
      this.generate(again);
      return again;
    });
  }

  /** Counts for `jitctl status`. */
  counts() {
    const byState: Record<RequestState, number> = { waiting: 0, answered: 0, generating: 0, installing: 0, done: 0, failed: 0, rejected: 0 };
    for (const r of this.store.all()) byState[r.state]++;
    const entries = this.map?.entries ?? [];
    let missing = 0;
    for (const e of entries) if (!this.index.has(e.type, e.filename)) missing++;
    return {
      goals: this.map?.goals ?? 0,
      entries: entries.length,
      components: this.index.size,
      missing,
      requests: byState,
      queue: { lane: this.lane.size + this.lane.pending, ...this.pool.stats(), staged: this.staged.size, readyToInstall: this.readyToInstall.length, parked: this.parked.length },
    };
  }

  /** Stops intake, aborts model calls in flight (their requests stay answered), drains the lane. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.pool.stop();
    await Promise.all(this.offLane);
    await this.lane.onIdle();
  }

  /** Resolves once the lane and the pool are both idle (tests, `status --sync`). */
  async idle(): Promise<void> {
    for (;;) {
      await this.lane.onIdle();
      await this.pool.onIdle();
      await Promise.all(this.offLane);
      if (this.lane.size === 0 && this.lane.pending === 0 && this.pool.busy() === 0 && this.offLane.size === 0 && !this.installQueued) return;
    }
  }
}
