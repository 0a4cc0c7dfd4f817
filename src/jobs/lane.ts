/**
 * The serial lane: every change to jitd's state (syncs, answers, installs, reconciles) runs
 * here, one at a time (p-queue, concurrency 1), so no two of them interleave their reads and
 * writes of the map, the index and the request store.
 *
 * It keeps one rule for errors: a failed fsync in any task is fatal for the daemon (after a
 * failed fsync the state on disk is unknown; only a restart's reconcile can tell what is
 * durable). Work beside the lane (staging a model's output) is tracked, so `idle()` waits for it.
 */
import PQueue from 'p-queue';
import { FsyncFailedError } from '../fsio/errors.js';

export interface LaneOptions {
  /** A failed fsync, from any task. */
  onFatal?: (err: unknown) => void;
  /** Any other error of a background task (nobody awaits it): reported, retried later. */
  onBackgroundError: (what: string, err: unknown) => void;
}

export class Lane {
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly beside = new Set<Promise<unknown>>();

  constructor(private readonly opts: LaneOptions) {}

  /** Runs `task` on the lane; the caller gets its result or its error (a failed fsync is also fatal). */
  run<T>(task: () => Promise<T>): Promise<T> {
    const p = this.queue.add(task);
    p.catch((err: unknown) => {
      if (err instanceof FsyncFailedError) this.opts.onFatal?.(err);
    });
    return p;
  }

  /** Runs `task` on the lane with nobody awaiting it: its errors end here (see LaneOptions). */
  background(what: string, task: () => Promise<unknown>): void {
    this.run(task).catch((err: unknown) => {
      if (!(err instanceof FsyncFailedError)) this.opts.onBackgroundError(what, err);
    });
  }

  /**
   * Tracks work running beside the lane, so that `idle()` waits for it too. Nobody awaits it, so
   * its errors end here as a background task's do: left unhandled, a failed put of a model's
   * output (a full disk) was an unhandled rejection, which stops the daemon.
   */
  track(work: Promise<unknown>, what = 'work beside the lane'): void {
    const p = work
      .catch((err: unknown) => {
        if (err instanceof FsyncFailedError) this.opts.onFatal?.(err);
        else this.opts.onBackgroundError(what, err);
      })
      .finally(() => this.beside.delete(p));
    this.beside.add(p);
  }

  /** Tasks queued or running on the lane. */
  get size(): number {
    return this.queue.size + this.queue.pending;
  }

  /** True when nothing is queued, running, or tracked beside. */
  get isIdle(): boolean {
    return this.size === 0 && this.beside.size === 0;
  }

  /** Resolves once the lane and the tracked work have drained (more may arrive meanwhile). */
  async drain(): Promise<void> {
    await Promise.all(this.beside);
    await this.queue.onIdle();
  }
}
