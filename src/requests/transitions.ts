/**
 * Every change of a request's state, as pure functions: each takes a record (and, where time
 * matters, `now`) and answers the new record, or throws a {@link RequestError} when the change
 * does not apply. Nothing here touches the disk; the callers (jobs/, reconcile/) save what they
 * are given. Keeping them in one place keeps one rule per field:
 *
 * - a description, once given, is never dropped (SPEC §3): only `answer` sets it, nothing clears it;
 * - `lastError` and `nextAttemptAt` belong to a request still owed its component: every move to
 *   `done`, `rejected` or a reopen drops them; `retry` drops the back-off but keeps the last error;
 * - `generating` and `installing` are in memory only (request-store.ts writes them as `answered`).
 */
import { JitdError } from '../fsio/errors.js';
import { MAX_DESCRIPTION_LENGTH, type Request } from './request.js';

/** A change that does not apply to the request (unknown id, wrong state, bad text). */
export class RequestError extends JitdError {}

/** How a done request was resolved. */
export type Resolution = NonNullable<Request['resolution']>;

/** Back-off between automatic retries of a failed request: 30 s, 1 min, 2 min ... capped at 1 h. */
export const backoffMs = (failures: number): number => Math.min(3_600_000, 30_000 * 2 ** (failures - 1));

/** The record without the fields of a request still owed its component. */
function settled(r: Request): Request {
  const { lastError: _e, nextAttemptAt: _n, ...rest } = r;
  return rest;
}

/** A person's text as jitd stores it: one line, trimmed; empty or over-long text is refused. */
export function normaliseDescription(text: string): string {
  const description = text.replace(/\s+/g, ' ').trim();
  if (!description) throw new RequestError('EEMPTY', 'the description is empty');
  if (description.length > MAX_DESCRIPTION_LENGTH) throw new RequestError('ETOOLONG', `the description is over ${MAX_DESCRIPTION_LENGTH} characters`);
  return description;
}

/** waiting → answered: the description is recorded and the attempt counters start afresh. */
export function answer(r: Request, text: string, now: Date, opts: { review?: boolean } = {}): Request {
  const description = normaliseDescription(text);
  if (r.state !== 'waiting') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}, not waiting for a description`);
  const answered: Request = { ...r, state: 'answered', description, answeredAt: now.toISOString(), attempts: 0, failures: 0 };
  if (opts.review) answered.review = true;
  return answered;
}

/** True if the request's output must wait for a person's approval before it is installed. */
export function needsApproval(r: Request, review: 'auto' | 'required'): boolean {
  return (review === 'required' || r.review === true) && r.approved === undefined;
}

/** answered | generating → draft: candidate `n` waits for a person (nothing installed). */
export function draft(r: Request, n: number): Request {
  if (r.state !== 'answered' && r.state !== 'generating' && r.state !== 'draft')
    throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only an answered request becomes a draft`);
  const { lastError: _e, nextAttemptAt: _n, ...rest } = r;
  return { ...rest, state: 'draft', candidate: n };
}

/** draft → answered with candidate `n` approved: the install proceeds from it. */
export function approve(r: Request, n: number): Request {
  if (r.state !== 'draft') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only a draft can be approved`);
  return { ...r, state: 'answered', candidate: n, approved: n };
}

/** waiting | failed → rejected: not asked again until its map entry changes. */
export function reject(r: Request): Request {
  if (r.state !== 'waiting' && r.state !== 'failed' && r.state !== 'draft')
    throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only waiting, failed or draft requests can be rejected`);
  const { nextAttemptAt: _n, ...rest } = r;
  return { ...rest, state: 'rejected' };
}

/** failed → answered, now: the back-off is dropped, the last error stays visible until the next outcome. */
export function retry(r: Request): Request {
  if (r.state !== 'failed') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only failed requests can be retried`);
  const { nextAttemptAt: _n, ...rest } = r;
  return { ...rest, state: 'answered', failures: 0 };
}

/** answered → generating (in memory): a model call has started. */
export function startGenerating(r: Request): Request {
  return { ...r, state: 'generating' };
}

/** → installing (in memory): the output is in an install batch. */
export function startInstalling(r: Request): Request {
  return { ...r, state: 'installing' };
}

/**
 * → failed, keeping the description. A retryable failure gets the next back-off step from
 * `now`; a permanent one waits for `jitctl retry`.
 */
export function fail(r: Request, error: string, retryable: boolean, now: Date): Request {
  const failures = r.failures + 1;
  const failed: Request = { ...r, state: 'failed', failures, lastError: error, attempts: r.attempts + 1 };
  if (retryable) failed.nextAttemptAt = now.getTime() + backoffMs(failures);
  else delete failed.nextAttemptAt;
  return failed;
}

/** → done with how it was resolved (installed by jitd, adopted by a roll-forward, or by a person). */
export function finish(r: Request, resolution: Resolution): Request {
  return { ...settled(r), state: 'done', resolution };
}

/** The map could not be written: the answer is kept (answered) with the write's error shown. */
export function installFailed(r: Request, error: string): Request {
  return { ...r, state: 'answered', lastError: error };
}

/** The map entry changed while generating: the answer is kept, dormant, nothing installed. */
export function entryGone(r: Request): Request {
  return { ...r, state: 'answered' };
}

/**
 * A done request's gap is back (SPEC §3): it keeps its answer and is filled again without
 * asking (answered), or, never answered, waits again.
 */
export function reopen(r: Request): Request {
  const { resolution: _r, ...rest } = settled(r);
  return { ...rest, state: r.description !== undefined ? 'answered' : 'waiting', attempts: 0 };
}
