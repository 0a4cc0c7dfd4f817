/**
 * jitd's own retry loop around one provider (the SDK's retries are off): full-jitter
 * exponential back-off, `retryAfterMs` honoured up to a cap, abortable sleeps, and only
 * retryable {@link GenerationError}s retried. Anything else (a permanent error, an abort, a bug)
 * is rethrown at once.
 */
import { abortableSleep, isAbortError, throwIfAborted } from './abort.js';
import { GenerationError, type GenerationInput, type GenerationResult, type Provider } from './provider.js';

export { AbortError, isAbortError } from './abort.js';

export interface RetryOptions {
  /** Attempts after the first (`provider.maxRetries`). 0 = one attempt only. */
  maxRetries: number;
  /** First back-off ceiling; doubles per attempt. Default 1 000 ms. */
  baseDelayMs?: number;
  /** Ceiling of the exponential back-off. Default 60 000 ms. */
  maxDelayMs?: number;
  /** A server's `retry-after` is honoured up to this. Default 60 000 ms. */
  retryAfterCapMs?: number;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Called before each back-off sleep; `attempt` is the 1-based number of the attempt that failed. */
  onRetry?(attempt: number, err: GenerationError, delayMs: number): void;
}

const DEFAULT_BASE_DELAY_MS = 1_000;
const DEFAULT_MAX_DELAY_MS = 60_000;
const DEFAULT_RETRY_AFTER_CAP_MS = 60_000;

/**
 * The delay before the attempt after `attempt` (1-based): the server's `retryAfterMs` capped at
 * `retryAfterCapMs` when given, else full jitter `random() * min(maxDelay, base * 2^(attempt-1))`.
 */
export function backoffDelayMs(attempt: number, err: GenerationError, opts: Omit<RetryOptions, 'maxRetries'> = {}): number {
  const cap = opts.retryAfterCapMs ?? DEFAULT_RETRY_AFTER_CAP_MS;
  if (err.retryAfterMs !== undefined && Number.isFinite(err.retryAfterMs) && err.retryAfterMs >= 0) {
    return Math.min(Math.round(err.retryAfterMs), cap);
  }
  const base = opts.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const max = opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
  const r = (opts.random ?? Math.random)();
  return Math.floor(Math.min(Math.max(r, 0), 1) * ceiling);
}

/**
 * Calls `provider.generate(input)` up to `1 + maxRetries` times. Resolves with the first
 * answer; rethrows the last GenerationError once attempts are spent, a non-retryable error at
 * once, and an AbortError as soon as `input.signal` fires (also during the back-off sleep).
 */
export async function generateWithRetry(provider: Provider, input: GenerationInput, opts: RetryOptions): Promise<string | GenerationResult> {
  const maxRetries = Math.max(0, Math.floor(opts.maxRetries));
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(input.signal);
    try {
      return await provider.generate(input);
    } catch (err) {
      if (isAbortError(err) || input.signal.aborted) {
        throwIfAborted(input.signal);
        throw err;
      }
      if (!(err instanceof GenerationError) || !err.retryable || attempt > maxRetries) throw err;
      const delayMs = backoffDelayMs(attempt, err, opts);
      opts.onRetry?.(attempt, err, delayMs);
      await abortableSleep(delayMs, input.signal);
    }
  }
}
