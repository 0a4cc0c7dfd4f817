/**
 * Recording a failed generation or install: the request moves to `failed` durably (transitions.ts
 * `fail`), keeping its description, so nobody is asked again (invariant 3), and the retry timer
 * is re-armed. Shared by the pipeline (a model failure) and the install queue (an install error),
 * so neither calls into the other. Runs on the lane.
 */
import type { Logger } from 'pino';
import { publicView } from '../requests/request.js';
import type { RequestStore } from '../requests/request-store.js';
import { fail } from '../requests/transitions.js';
import type { EngineEvent } from './events.js';
import type { RetryTimer } from './retry-timer.js';

export interface FailureDeps {
  store: RequestStore;
  retries: RetryTimer;
  log: Logger;
  emit(e: EngineEvent): void;
}

/** Moves request `id` to `failed` durably; a retryable failure gets its back-off. */
export async function recordFailure(d: FailureDeps, id: string, error: string, retryable: boolean): Promise<void> {
  const r = d.store.get(id);
  if (!r) return;
  const failed = fail(r, error, retryable, new Date());
  await d.store.save(failed, { durable: true });
  d.log.warn({ request: r.id, error, retryable, nextAttemptAt: failed.nextAttemptAt }, 'generation failed');
  d.emit({ type: 'request.failed', request: publicView(failed), error });
  d.retries.schedule();
}
