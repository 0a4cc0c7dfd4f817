/**
 * The one place that routes an answered request to its component: from its staged output
 * straight to the install queue, or through the generation pool, whose outcome comes back here
 * (output → staged and installed; failure → recorded as `failed`; stopped → nothing, the answer
 * is kept). The pool and the install queue know nothing of each other or of request commands,
 * so `jobs/` has no run-time cycle: commands → pipeline → {pool, installs} → record-failure.
 */
import type { Logger } from 'pino';
import type { Request } from '../requests/request.js';
import type { GenerationOutcome, GenerationPool } from './generation-pool.js';
import type { InstallQueue } from './install-queue.js';
import type { Lane } from './lane.js';
import { recordFailure, type FailureDeps } from './record-failure.js';

export interface PipelineDeps {
  pool: GenerationPool;
  installs: InstallQueue;
  lane: Lane;
  log: Logger;
  failures: FailureDeps;
}

export class Pipeline {
  constructor(private readonly d: PipelineDeps) {}

  /** An answered request needs its component: installed from its staged output if there is one, else generated. */
  generate(r: Request): void {
    const staged = this.d.installs.installStaged(r);
    if (staged === 'none') {
      this.startModel(r);
      return;
    }
    if (staged === 'queued') return;
    this.d.lane.track(staged.then((queued) => (queued ? undefined : this.startModel(r))));
  }

  private startModel(r: Request): void {
    const outcome = this.d.pool.enqueue(r);
    // Tracked, so `idle()` also waits for the outcome's routing, not only for the model call.
    if (outcome) this.d.lane.track(outcome.then((o) => this.route(o)));
  }

  /** Where a finished model call goes. */
  private route(o: GenerationOutcome): void {
    switch (o.kind) {
      case 'output':
        this.d.installs.stageThenInstall(o.request, o.content);
        return;
      case 'failure':
        this.d.lane.background('recording a failure', () => recordFailure(this.d.failures, o.request.id, o.error, o.retryable));
        return;
      case 'stopped':
        return;
    }
  }

  /** Aborts one request's model call (queued or running). */
  cancel(id: string): void {
    this.d.pool.cancel(id);
  }
}
