/**
 * What a person (through jitctl) or a model failure does to a request, each on the serial lane:
 * answer, reject, retry, and recording a failure with its back-off. Invariant 3 lives here: an
 * answer resolves only after its record is durable, and a failed request keeps its description,
 * so nobody is asked again.
 */
import type { Logger } from 'pino';
import { JitdError } from '../fsio/errors.js';
import { MAX_DESCRIPTION_LENGTH, publicView, type Request } from '../requests/request.js';
import type { RequestStore } from '../requests/request-store.js';
import type { StagedOutputs } from '../requests/staged-output.js';
import type { EngineEvent } from './events.js';
import type { GenerationPool } from './generation-pool.js';
import type { InstallQueue } from './install-queue.js';
import type { Lane } from './lane.js';

/** A command that does not apply to the request (unknown id, wrong state, bad text). */
export class RequestError extends JitdError {}

export interface RequestCommandsDeps {
  store: RequestStore;
  staged: StagedOutputs;
  pool: GenerationPool;
  installs: InstallQueue;
  lane: Lane;
  log: Logger;
  emit(e: EngineEvent): void;
  /** A failed request's back-off has run out: look again (a sync retries what is due). */
  onRetryDue(): void;
}

/** Back-off between automatic retries of a failed request: 30 s, 1 min, 2 min ... capped at 1 h. */
const backoffMs = (failures: number) => Math.min(3_600_000, 30_000 * 2 ** (failures - 1));

export class RequestCommands {
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly d: RequestCommandsDeps) {}

  private find(idOrPrefix: string): Request {
    const r = this.d.store.resolve(idOrPrefix);
    if (r === 'ambiguous') throw new RequestError('EAMBIGUOUS', `request id prefix ${idOrPrefix} matches more than one request`);
    if (!r) throw new RequestError('ENOREQUEST', `no request ${idOrPrefix}`);
    return r;
  }

  answer(idOrPrefix: string, text: string): Promise<Request> {
    return this.d.lane.run(async () => {
      const description = text.replace(/\s+/g, ' ').trim();
      if (!description) throw new RequestError('EEMPTY', 'the description is empty');
      if (description.length > MAX_DESCRIPTION_LENGTH) throw new RequestError('ETOOLONG', `the description is over ${MAX_DESCRIPTION_LENGTH} characters`);
      const r = this.find(idOrPrefix);
      if (r.state !== 'waiting') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}, not waiting for a description`);
      const answered: Request = { ...r, state: 'answered', description, answeredAt: new Date().toISOString(), attempts: 0, failures: 0 };
      // An output staged for an earlier answer (the entry was reopened since) is not this one's.
      await this.d.staged.remove(r.id);
      await this.d.store.save(answered, { durable: true });
      this.d.log.info({ request: r.id, goal: r.goal, type: r.type }, 'answered');
      this.d.emit({ type: 'request.answered', request: publicView(answered) });
      this.d.installs.generate(answered);
      return answered;
    });
  }

  reject(idOrPrefix: string): Promise<Request> {
    return this.d.lane.run(async () => {
      const r = this.find(idOrPrefix);
      if (r.state !== 'waiting' && r.state !== 'failed') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only waiting or failed requests can be rejected`);
      this.d.pool.cancel(r.id);
      const rejected: Request = { ...r, state: 'rejected' };
      delete rejected.nextAttemptAt;
      await this.d.store.save(rejected, { durable: true });
      this.d.emit({ type: 'request.rejected', request: publicView(rejected) });
      return rejected;
    });
  }

  retry(idOrPrefix: string): Promise<Request> {
    return this.d.lane.run(async () => {
      const r = this.find(idOrPrefix);
      if (r.state !== 'failed') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only failed requests can be retried`);
      const again: Request = { ...r, state: 'answered', failures: 0 };
      delete again.nextAttemptAt;
      await this.d.store.save(again, { durable: true });
      this.d.installs.generate(again);
      return again;
    });
  }

  /** Moves a request to `failed` durably, keeping its description; schedules the back-off retry. Runs on the lane. */
  async recordFailure(id: string, error: string, retryable: boolean): Promise<void> {
    const r = this.d.store.get(id);
    if (!r) return;
    const failures = r.failures + 1;
    const failed: Request = { ...r, state: 'failed', failures, lastError: error, attempts: r.attempts + 1 };
    if (retryable) failed.nextAttemptAt = Date.now() + backoffMs(failures);
    else delete failed.nextAttemptAt;
    await this.d.store.save(failed, { durable: true });
    this.d.log.warn({ request: r.id, error, retryable, nextAttemptAt: failed.nextAttemptAt }, 'generation failed');
    this.d.emit({ type: 'request.failed', request: publicView(failed), error });
    this.scheduleRetries();
  }

  /** Arms one timer for the earliest failed request that is due for an automatic retry. */
  scheduleRetries(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.stopped) return;
    let next = Infinity;
    for (const r of this.d.store.all()) if (r.state === 'failed' && r.nextAttemptAt !== undefined && r.nextAttemptAt < next) next = r.nextAttemptAt;
    if (next === Infinity) return;
    const wait = Math.max(0, next - Date.now());
    this.retryTimer = setTimeout(() => this.d.onRetryDue(), Math.min(wait, 2 ** 31 - 1));
    this.retryTimer.unref();
  }

  /** No more automatic retries (shutdown). */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
