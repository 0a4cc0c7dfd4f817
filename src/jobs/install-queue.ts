/**
 * From a model's output to an installed component (invariants 1 and 3). The output is staged
 * durably the moment it arrives (staged-output.ts), then waits here until the lane is free;
 * outputs that are ready together are installed as one batch with one map write (group commit,
 * install-batch.ts). A map that is unusable right now parks the batch in memory — its outputs
 * are staged, so a restart meanwhile does not pay for them again — until a sync finds the map
 * usable. Afterwards each request is closed, or recorded as failed with its description kept
 * (record-failure.ts). It never starts a model call: pipeline.ts decides that.
 */
import type { Logger } from 'pino';
import { FsyncFailedError } from '../fsio/errors.js';
import { DirUnavailableError } from '../fsio/durable-dir.js';
import type { FsLayer } from '../fsio/fs-layer.js';
import type { Config } from '../library/config.js';
import { MapParseError } from '../library/goal-map.js';
import { UnsafePathError } from '../library/paths.js';
import { installBatch, mapLimit, type InstallItem, type InstallOutcome } from '../install/install-batch.js';
import { MapUnavailableError } from '../install/map-file.js';
import type { MapState } from '../install/map-state.js';
import type { ComponentIndex } from '../library/component-index.js';
import { sha256 } from '../install/replace-component.js';
import type { OutputProvenance } from '../requests/provenance.js';
import { publicView, type Request } from '../requests/request.js';
import { entryGone, finish, installFailed } from '../requests/transitions.js';
import type { RequestStore } from '../requests/request-store.js';
import type { StagedOutputs } from '../requests/staged-output.js';
import type { EngineEvent } from './events.js';
import type { Lane } from './lane.js';
import { recordFailure, type FailureDeps } from './record-failure.js';

export interface InstallQueueDeps {
  fs: FsLayer;
  config: Config;
  store: RequestStore;
  staged: StagedOutputs;
  lane: Lane;
  log: Logger;
  emit(e: EngineEvent): void;
  /** The engine's component index (an install adds to it). */
  index(): ComponentIndex;
  /**
   * The map as last read (an install parses only a changed map), where jitd notes its own map and
   * component writes, and where an unusable map or a failed write is recorded.
   */
  mapState: MapState;
  /** Where an install error is recorded as a failure. */
  failures: FailureDeps;
  /** Why library writes must wait right now (git activity), or undefined; its end brings a sync, which unparks. */
  hold?(): string | undefined;
  onFatal?(err: unknown): void;
}

/** An output waiting here, with what wrote it (recorded as the done request's `installed`). */
type QueuedItem = InstallItem & { provenance?: OutputProvenance | undefined };

export class InstallQueue {
  private ready: QueuedItem[] = [];
  /** Outputs waiting for the map to become usable again (deleted, or mid-save). */
  private parked: QueuedItem[] = [];
  private queued = false;

  constructor(private readonly d: InstallQueueDeps) {}

  /** Counts for `status`. */
  stats() {
    return { staged: this.d.staged.size, readyToInstall: this.ready.length, parked: this.parked.length };
  }

  /**
   * The model answered: make its output durable first (a crash from here on does not pay for
   * the call again), then queue the install. Staging runs beside the lane, which may be busy
   * for seconds with a reconcile. If staging fails (a full disk), the install still proceeds
   * from memory; only a failed fsync stops the daemon.
   */
  stageThenInstall(r: Request, content: string, provenance: OutputProvenance): void {
    this.d.lane.track(
      this.d.staged.put(r.id, content, provenance).then(
        () => this.queue({ request: r, content, stagedPath: this.d.staged.pathOf(r.id), provenance }),
        (err: unknown) => {
          if (err instanceof FsyncFailedError) return this.d.onFatal?.(err);
          this.d.log.warn({ err, request: r.id }, 'could not stage the model output; installing it from memory');
          this.queue({ request: r, content, provenance });
        },
      ),
    );
  }

  /**
   * Queues an answered request's install from its staged output: 'none' if it has none (the
   * caller generates it), 'queued' if it is already waiting here, else a promise answering
   * whether the staged output could be read and was queued (false: the caller generates it).
   */
  installStaged(r: Request): 'none' | 'queued' | Promise<boolean> {
    if (!this.d.staged.has(r.id)) return 'none';
    if (this.ready.some((x) => x.request.id === r.id) || this.parked.some((x) => x.request.id === r.id)) return 'queued';
    return this.d.staged.read(r.id).then(
      async (content) => {
        if (content === undefined) return false;
        const provenance = await this.d.staged.provenance(r.id, content).catch(() => undefined);
        this.queue({ request: r, content, stagedPath: this.d.staged.pathOf(r.id), provenance });
        return true;
      },
      (err: unknown) => {
        this.d.log.warn({ err, request: r.id }, 'could not read the staged output; generating again');
        return false;
      },
    );
  }

  /** The map is usable again: parked outputs go back in line. */
  unpark(): void {
    for (const item of this.parked.splice(0)) this.queue(item);
  }

  /**
   * Removes staged outputs no request needs: those owed to an install stay, those of done requests
   * stay as kept outputs (bounded, staged-output.ts), the rest go.
   */
  async pruneStaged(): Promise<void> {
    const owed = (id: string) => {
      const r = this.d.store.get(id);
      return (
        r !== undefined &&
        r.description !== undefined &&
        (r.state === 'answered' || r.state === 'generating' || r.state === 'installing' || r.state === 'failed')
      );
    };
    const keptSince = (id: string) => {
      const r = this.d.store.get(id);
      // A draft of a done request keeps the installed component's output too.
      return (r?.state === 'done' || (r?.state === 'draft' && r.resolution !== undefined)) && r.description !== undefined ? r.updatedAt : undefined;
    };
    const removed = await this.d.staged.prune(owed, keptSince);
    if (removed.length) this.d.log.info({ requests: removed }, 'staged outputs of closed requests removed');
  }

  private queue(item: QueuedItem): void {
    if (this.ready.some((x) => x.request.id === item.request.id)) return;
    this.ready.push(item);
    if (this.queued) return;
    this.queued = true;
    this.d.lane.background('install', async () => {
      this.queued = false;
      // A request can be handed over twice (a reconcile and its sync both plan it, each reading
      // its staged output); the second finds it closed by the first.
      const batch = this.ready.splice(0).filter((it) => {
        const now = this.d.store.get(it.request.id);
        return now !== undefined && now.state !== 'done' && now.state !== 'rejected';
      });
      if (!batch.length) return;
      // Held (git is busy): parked like behind an unusable map, installed once the hold ends.
      if (this.d.hold?.()) {
        this.parked.push(...batch);
        return;
      }
      await this.install(batch);
    });
  }

  private async install(batch: QueuedItem[]): Promise<void> {
    const { store, config } = this.d;
    for (const it of batch) store.setTransient(it.request.id, 'installing');
    try {
      const { mapState } = this.d;
      const lastParsed = mapState.known();
      const outcomes = await installBatch(
        {
          fs: this.d.fs,
          mapFile: config.mapFile,
          componentsDir: config.componentsDir,
          onMapWrite: mapState.noteOwnWrite,
          onComponentWrite: mapState.noteComponent,
          ...(lastParsed ? { lastParsed } : {}),
        },
        batch,
      );
      // Closing the requests: independent record files, so their fsyncs may overlap.
      const provenance = new Map(batch.map((it) => [it.request.id, it.provenance] as const));
      await mapLimit(outcomes, 4, (o) => this.close(o, provenance.get(o.id)));
      if (outcomes.some((o) => o.result === 'installed')) mapState.writeOk();
    } catch (err) {
      if (err instanceof DirUnavailableError) {
        // The components tree is away (moved, removed): held until it is back, never failed.
        this.parked.push(...batch);
        this.d.log.warn({ requests: batch.map((it) => it.request.id), error: err.message }, 'install held');
        return;
      }
      if (err instanceof MapParseError || err instanceof MapUnavailableError) {
        this.parked.push(...batch);
        this.d.mapState.unusable(err.message);
        return;
      }
      if (err instanceof FsyncFailedError) throw err;
      // The map could not be written: everything in the batch stays answered, and any
      // component already published is rolled forward by the next sync.
      this.d.mapState.writeFailed('install', err);
      for (const it of batch) {
        const r = store.get(it.request.id);
        if (r) await store.save(installFailed(r, (err as Error).message), { durable: false });
      }
    }
  }

  private async close(o: InstallOutcome, provenance: OutputProvenance | undefined): Promise<void> {
    const { store, log } = this.d;
    const r = store.get(o.id);
    // Closed meanwhile (a sync saw the map already naming its file, or it was rejected).
    if (!r || r.state === 'done' || r.state === 'rejected') return;
    switch (o.result) {
      case 'installed': {
        const done = finish(r, o.adoptedExisting ? 'adopted' : 'generated', provenance);
        // What jitd wrote, so a later replacement can tell a person's edit (regeneration.ts).
        if (!o.adoptedExisting && o.content !== undefined) done.componentSha256 = sha256(o.content);
        // The staged output stays as the request's kept output (staged-output.ts). Not durable:
        // if a power cut drops this record, the restart closes the request with the hash of the
        // staged output's sidecar (apply-plan.ts closeFromStaged), which was durable first.
        await store.save(done, { durable: false });
        this.d.index().add(`${r.type}s`, r.generatedName);
        log.info({ request: r.id, goal: r.goal, type: r.type, path: o.path, from: r.filename, to: r.generatedName }, 'installed');
        this.d.emit({ type: 'request.installed', request: publicView(done), path: o.path });
        return;
      }
      case 'resolved-by-person': {
        const done = finish(r, 'person');
        await store.save(done, { durable: false });
        this.d.index().add(`${r.type}s`, r.filename);
        this.d.emit({ type: 'request.resolved', request: publicView(done), how: 'person' });
        return;
      }
      case 'entry-gone':
        // The answer is kept (dormant): if the entry comes back, nobody is asked again.
        await store.save(entryGone(r), { durable: false });
        log.info({ request: r.id }, 'map entry changed while generating; answer kept, nothing installed');
        return;
      case 'error':
        // A path that resolves outside the library stays unsafe until a person fixes the tree:
        // retrying on a timer would only fail again. Anything else (a full disk) is retried.
        await recordFailure(this.d.failures, r.id, o.error.message, !(o.error instanceof UnsafePathError));
        return;
    }
  }
}
