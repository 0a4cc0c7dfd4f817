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
import type { OutputProvenance, Peer } from './provenance.js';
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

/**
 * waiting → answered: the description is recorded and the attempt counters start afresh.
 * `by`: who answered, as the kernel says (absent: not known; an earlier answerer is not kept).
 */
export function answer(r: Request, text: string, now: Date, opts: { review?: boolean; by?: Peer } = {}): Request {
  const description = normaliseDescription(text);
  if (r.state !== 'waiting') throw new RequestError('ESTATE', `request ${r.id} is ${r.state}, not waiting for a description`);
  const { answeredBy: _b, installed: _i, ...rest } = r;
  const answered: Request = { ...rest, state: 'answered', description, answeredAt: now.toISOString(), attempts: 0, failures: 0 };
  if (opts.review) answered.review = true;
  if (opts.by) answered.answeredBy = opts.by;
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

/**
 * waiting | failed | draft → rejected: not asked again until its map entry changes. A draft of a
 * done request (a regeneration or an edit) is dropped instead: the request is done again, its
 * installed component untouched.
 */
export function reject(r: Request): Request {
  if (r.state !== 'waiting' && r.state !== 'failed' && r.state !== 'draft')
    throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only waiting, failed or draft requests can be rejected`);
  const { nextAttemptAt: _n, regenerating: _g, ...rest } = r;
  if (isDraftOfDone(r)) {
    const { candidate: _c, ...done } = rest;
    return { ...done, state: 'done' };
  }
  return { ...rest, state: 'rejected' };
}

/** True for a component jitd generated and installed (done, generated or adopted): it can be regenerated or edited. */
export function isInstalledGenerated(r: Request): boolean {
  return r.state === 'done' && (r.resolution === 'generated' || r.resolution === 'adopted');
}

/** True for a draft of a done request: approving it replaces the installed component. */
export function isDraftOfDone(r: Request): boolean {
  return r.state === 'draft' && r.resolution !== undefined;
}

/**
 * draft | done (generated) → the same state with a regeneration recorded, durable before the
 * model is called: candidates numbered above `after` are its output (a restart reuses one).
 */
export function startRegeneration(r: Request, after: number, opts: { feedback?: string; review?: boolean } = {}): Request {
  if (r.state !== 'draft' && !isInstalledGenerated(r))
    throw new RequestError(
      'ESTATE',
      `request ${r.id} is ${r.state}${r.resolution ? ` (${r.resolution})` : ''}; only a draft or a generated component can be regenerated`,
    );
  if (r.regenerating) throw new RequestError('EBUSY', `request ${r.id} is being regenerated already`);
  const { lastError: _e, ...rest } = r;
  const feedback = opts.feedback?.replace(/\s+/g, ' ').trim();
  if (feedback && feedback.length > MAX_DESCRIPTION_LENGTH) throw new RequestError('ETOOLONG', `the feedback is over ${MAX_DESCRIPTION_LENGTH} characters`);
  return { ...rest, regenerating: { after, ...(feedback ? { feedback } : {}), ...(opts.review ? { review: true } : {}) } };
}

/**
 * draft | done → draft showing candidate `n` (a regeneration's output, or a person's edit). A
 * done request stays done underneath (its resolution kept): approving replaces its component.
 * `seenSha256`: the installed text jitd has now seen and kept as a candidate (a person's edit).
 */
export function draftCandidate(r: Request, n: number, seenSha256?: string): Request {
  if (r.state !== 'draft' && r.state !== 'done')
    throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only a draft or a done request takes a new candidate`);
  const { regenerating: _g, replacing: _p, lastError: _e, ...rest } = r;
  return { ...rest, state: 'draft', candidate: n, ...(seenSha256 ? { componentSha256: seenSha256 } : {}) };
}

/**
 * A draft of a done request approved (`by`: who), or a done request regenerated without review:
 * candidate `n` is to replace the component.
 */
export function replaceWith(r: Request, n: number, by?: Peer): Request {
  if (!isDraftOfDone(r) && r.state !== 'done')
    throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only a done request's component can be replaced`);
  const { regenerating: _g, lastError: _e, approvedBy: _b, ...rest } = r;
  return { ...rest, state: 'done', candidate: n, approved: n, replacing: n, ...(by ? { approvedBy: by } : {}) };
}

/** The replacement is published: the component is candidate `n`, whose text hashes to `sha256`, written as `installed` says. */
export function replaced(r: Request, n: number, sha256: string, installed?: OutputProvenance): Request {
  const { replacing: _p, regenerating: _g, lastError: _e, installed: _i, approvedBy: _b, ...rest } = r;
  return { ...rest, state: 'done', candidate: n, componentSha256: sha256, ...(installed ? { installed } : {}) };
}

/** A regeneration failed: its intent is dropped, the request keeps its state, the error is shown. */
export function regenerationFailed(r: Request, error: string): Request {
  const { regenerating: _g, ...rest } = r;
  return { ...rest, lastError: error };
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

/**
 * → done with how it was resolved (installed by jitd, adopted by a roll-forward, or by a
 * person); `installed`: what wrote the component jitd installed (a person's file has none).
 */
export function finish(r: Request, resolution: Resolution, installed?: OutputProvenance): Request {
  const { installed: _i, ...rest } = settled(r);
  return { ...rest, state: 'done', resolution, ...(installed && resolution !== 'person' ? { installed } : {}) };
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
  const { resolution: _r, regenerating: _g, replacing: _p, installed: _i, ...rest } = settled(r);
  return { ...rest, state: r.description !== undefined ? 'answered' : 'waiting', attempts: 0 };
}
