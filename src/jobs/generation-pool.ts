/**
 * The generation pool: model calls in flight, at most `generation.concurrency` at once and
 * optionally at most `provider.requestsPerMinute` started per minute (p-queue interval/intervalCap).
 * Each job carries its own AbortController, linked to shutdown; p-queue's own `timeout` and
 * `clear()` are not used — the first does not stop the task, the second leaves promises
 * unsettled. Jobs are de-duplicated by request id. The pool knows nothing of installs or
 * request records: each job answers a {@link GenerationOutcome}, which the caller routes
 * (pipeline.ts); a failure keeps the request's description (recorded as `failed` there).
 */
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { ProviderConfig } from '../library/config.js';
import { isAbortError } from '../generation/abort.js';
import type { GenerationContext } from '../generation/context.js';
import { GenerationError, normaliseResult, type GenerationInput, type Provider } from '../generation/provider.js';
import { generateWithRetry } from '../generation/retry.js';
import type { GenerationInfo } from '../requests/provenance.js';
import type { Request } from '../requests/request.js';

export interface PoolOptions {
  provider: Provider;
  config: ProviderConfig;
  concurrency: number;
  log: Logger;
  /** The library context for a request (generation/context.ts), built once per job, before the first attempt. */
  context?: (r: Request) => Promise<GenerationContext>;
  /** A job's model call is starting (the request is `generating` from here). */
  onStart: (r: Request) => void;
}

/**
 * How one generation job ended: the model's output (with what wrote it: provider, model, server,
 * usage), a failure, or stopped (shutdown or cancel: nothing to record).
 */
export type GenerationOutcome =
  | { kind: 'output'; request: Request; content: string; generation: GenerationInfo }
  | { kind: 'failure'; request: Request; error: string; retryable: boolean }
  | { kind: 'stopped'; request: Request };

export class GenerationPool {
  private readonly queue: PQueue;
  private readonly jobs = new Map<string, AbortController>();
  private readonly shutdown = new AbortController();

  constructor(private readonly opts: PoolOptions) {
    const rpm = opts.config.requestsPerMinute;
    this.queue = new PQueue({ concurrency: opts.concurrency, ...(rpm ? { interval: 60_000, intervalCap: rpm } : {}) });
  }

  /**
   * Starts generation for an answered request (or a regeneration, with the previous candidate and the feedback) unless it is already queued or running (then, or
   * with no description or after shutdown, answers undefined). The promise never rejects.
   */
  enqueue(r: Request, regeneration?: GenerationInput['regeneration']): Promise<GenerationOutcome> | undefined {
    if (this.jobs.has(r.id) || r.description === undefined || this.shutdown.signal.aborted) return undefined;
    const job = new AbortController();
    this.jobs.set(r.id, job);
    return (
      this.queue
        // With the job's signal, a job cancelled while still queued leaves the queue at once
        // instead of waiting its turn, and so uses up no start of a requestsPerMinute minute.
        .add(() => this.run(r, job, regeneration), { signal: job.signal })
        .catch((err: unknown): GenerationOutcome => {
          if (job.signal.aborted) return { kind: 'stopped', request: r };
          this.opts.log.error({ err, request: r.id }, 'generation job crashed');
          return { kind: 'stopped', request: r };
        })
        .finally(() => {
          if (this.jobs.get(r.id) === job) this.jobs.delete(r.id);
        })
    );
  }

  private async run(r: Request, job: AbortController, regeneration?: GenerationInput['regeneration']): Promise<GenerationOutcome> {
    const signal = AbortSignal.any([job.signal, this.shutdown.signal]);
    if (signal.aborted) return { kind: 'stopped', request: r };
    this.opts.onStart(r);
    const { log, provider, config } = this.opts;
    try {
      // Every attempt sends the same messages: the context is read once, as the job starts.
      const context = await this.opts.context?.(r);
      const answer = await generateWithRetry(
        provider,
        {
          goal: r.goal,
          type: r.type,
          filename: r.filename,
          description: r.description ?? '',
          signal,
          ...(context ? { context } : {}),
          ...(regeneration ? { regeneration } : {}),
        },
        {
          maxRetries: config.maxRetries,
          onRetry: (attempt, err, delayMs) =>
            log.warn({ request: r.id, attempt, delayMs, error: (err as Error).message }, 'generation attempt failed; retrying'),
        },
      );
      if (signal.aborted) return { kind: 'stopped', request: r };
      // The one place a provider's answer is read: a plain string is the text alone.
      const { text, info } = normaliseResult(provider.name, answer);
      return { kind: 'output', request: r, content: text, generation: info };
    } catch (err) {
      if (signal.aborted && isAbortError(err)) {
        log.info({ request: r.id }, 'generation stopped (shutdown or cancelled); the answer is kept');
        return { kind: 'stopped', request: r };
      }
      const retryable = err instanceof GenerationError ? err.retryable : true;
      return { kind: 'failure', request: r, error: (err as Error).message, retryable };
    }
  }

  /** Aborts one request's job (queued or running). */
  cancel(id: string): void {
    this.jobs.get(id)?.abort();
  }

  stats() {
    return { generating: this.queue.pending, waitingForModel: this.queue.size };
  }

  busy(): number {
    return this.queue.pending + this.queue.size;
  }

  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }

  /** Aborts every job and waits until all have settled. */
  async stop(): Promise<void> {
    this.shutdown.abort();
    await this.queue.onIdle();
  }
}
