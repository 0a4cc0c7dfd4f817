/**
 * Cancellation helpers of the generation layer: the AbortError a provider or the retry loop
 * throws when the *caller's* signal fires (shutdown, cancellation, the job's deadline), its
 * test, and an abortable sleep. An abort is never a GenerationError, so the pipeline can tell
 * "we are stopping" from "the attempt failed".
 */
import { JitdError } from '../fsio/errors.js';

/** The caller's signal fired. `cause` is the signal's reason. `name` is `AbortError`. */
export class AbortError extends JitdError {
  constructor(message = 'generation aborted', options?: { cause?: unknown }) {
    super('EABORT', message, options);
  }
}

/**
 * True for any abort-shaped error: jitd's {@link AbortError}, a DOMException `AbortError`
 * (fetch, `AbortSignal.abort()`), or anything else named `AbortError`.
 */
export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/** Builds the AbortError for an aborted signal, carrying its reason as `cause`. */
export function abortErrorFor(signal: AbortSignal): AbortError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error && reason.message ? `: ${reason.message}` : '';
  return new AbortError(`generation aborted${why}`, { cause: reason });
}

/** Throws an {@link AbortError} if `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortErrorFor(signal);
}

/** Resolves after `ms`, or rejects with an {@link AbortError} as soon as `signal` fires. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortErrorFor(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortErrorFor(signal!));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
