/**
 * Every transition of a request against every state, and the field rules each keeps (a
 * description, once given, is never dropped; `lastError` and `nextAttemptAt` belong to a request
 * still owed its component). Table-driven, pure. Found by mutation testing
 * (docs/mutation-testing.md): most of these mutants had no test in-process.
 */
import { describe, expect, it } from 'vitest';
import { MAX_DESCRIPTION_LENGTH, newRequest, REQUEST_STATES, type Request, type RequestState } from '../../src/requests/request.js';
import {
  answer,
  approve,
  draft,
  draftCandidate,
  fail,
  finish,
  needsApproval,
  normaliseDescription,
  regenerationFailed,
  reject,
  reopen,
  replaced,
  replaceWith,
  retry,
  startRegeneration,
} from '../../src/requests/transitions.js';

const NOW = new Date('2026-12-02T20:00:00.000Z');
const at = (state: RequestState, patch: Partial<Request> = {}): Request => ({
  ...newRequest('G', 'persona', 'p.txt'),
  state,
  description: 'd',
  lastError: 'boom',
  nextAttemptAt: 1,
  ...patch,
});
const applies = (fn: (r: Request) => unknown, patch: Partial<Request> = {}) =>
  REQUEST_STATES.filter((s) => {
    try {
      fn(at(s, patch));
      return true;
    } catch (err) {
      expect(err).toMatchObject({ code: 'ESTATE', message: expect.stringContaining(`is ${s}`) });
      return false;
    }
  });

describe('which states each transition applies to (any other is ESTATE, naming the state)', () => {
  it.each([
    ['answer', (r: Request) => answer({ ...r, description: undefined }, 'x', NOW), ['waiting']],
    ['draft', (r: Request) => draft(r, 1), ['answered', 'generating', 'draft']],
    ['approve', (r: Request) => approve(r, 1), ['draft']],
    ['reject', (r: Request) => reject(r), ['waiting', 'draft', 'failed']],
    ['draftCandidate', (r: Request) => draftCandidate(r, 1), ['done', 'draft']],
    ['retry', (r: Request) => retry(r), ['failed']],
  ] as const)('%s', (_name, fn, states) => {
    expect(applies(fn).sort()).toEqual([...states].sort());
  });

  it('startRegeneration: a draft, or a done request jitd generated or adopted (not one a person resolved)', () => {
    expect(applies((r) => startRegeneration(r, 1), { resolution: 'generated' }).sort()).toEqual(['done', 'draft']);
    expect(applies((r) => startRegeneration(r, 1), { resolution: 'adopted' }).sort()).toEqual(['done', 'draft']);
    expect(applies((r) => startRegeneration(r, 1), { resolution: 'person' })).toEqual(['draft']);
    expect(() => startRegeneration(at('done', { resolution: 'person' }), 1)).toThrow(/is done \(person\); only a draft or a generated component/);
  });

  it('replaceWith: a done request, or a draft of one; not a fresh draft', () => {
    expect(applies((r) => replaceWith(r, 1), { resolution: 'generated' }).sort()).toEqual(['done', 'draft']);
    expect(applies((r) => replaceWith(r, 1))).toEqual(['done']);
  });
});

describe('the field rules of each transition', () => {
  it('a description is one trimmed line; empty or over the limit is refused, exactly the limit is not', () => {
    expect(normaliseDescription('  a\n\tb  ')).toBe('a b');
    expect(() => normaliseDescription(' \n ')).toThrow(expect.objectContaining({ code: 'EEMPTY', message: 'the description is empty' }));
    expect(normaliseDescription('x'.repeat(MAX_DESCRIPTION_LENGTH))).toHaveLength(MAX_DESCRIPTION_LENGTH);
    expect(() => normaliseDescription('x'.repeat(MAX_DESCRIPTION_LENGTH + 1))).toThrow(
      expect.objectContaining({ code: 'ETOOLONG', message: `the description is over ${MAX_DESCRIPTION_LENGTH} characters` }),
    );
  });

  it('answer records the text and the time, starts the counters afresh, and holds for review only when asked', () => {
    const r = { ...at('waiting', { attempts: 3, failures: 2 }), description: undefined };
    const a = answer(r, ' the  text ', NOW);
    expect(a).toMatchObject({ state: 'answered', description: 'the text', answeredAt: NOW.toISOString(), attempts: 0, failures: 0 });
    expect('review' in a).toBe(false);
    expect(answer(r, 'x', NOW, { review: true }).review).toBe(true);
  });

  it('needsApproval: review required or asked for, and not yet approved', () => {
    const table = (['auto', 'required'] as const).flatMap((review) =>
      [undefined, true].flatMap((asked) =>
        [undefined, 1].map((approved) => needsApproval(at('answered', { ...(asked ? { review: true } : {}), ...(approved ? { approved } : {}) }), review)),
      ),
    );
    expect(table).toEqual([false, false, true, false, true, false, true, false]);
  });

  it('draft and approve: the candidate shown, then approved; a draft drops the error and the back-off', () => {
    const d = draft(at('answered'), 2);
    expect(d).toMatchObject({ state: 'draft', candidate: 2, description: 'd' });
    expect(['lastError' in d, 'nextAttemptAt' in d]).toEqual([false, false]);
    expect(approve(d, 3)).toMatchObject({ state: 'answered', candidate: 3, approved: 3 });
  });

  it('reject: rejected without back-off or regeneration; a draft of a done request is done again instead, its candidate dropped', () => {
    const r = reject(at('failed', { regenerating: { after: 1 } }));
    expect(r.state).toBe('rejected');
    expect(['nextAttemptAt' in r, 'regenerating' in r]).toEqual([false, false]);
    const d = reject(at('draft', { resolution: 'generated', candidate: 2 }));
    expect(d).toMatchObject({ state: 'done', resolution: 'generated' });
    expect('candidate' in d).toBe(false);
    expect(reject(at('draft', { candidate: 2 }))).toMatchObject({ state: 'rejected', candidate: 2 });
  });

  it('startRegeneration records its intent (feedback one line, review if asked), drops the error, and refuses a second one', () => {
    const g = startRegeneration(at('done', { resolution: 'generated' }), 4, { feedback: ' shorter\n please ', review: true });
    expect(g.regenerating).toEqual({ after: 4, feedback: 'shorter please', review: true });
    expect('lastError' in g).toBe(false);
    expect(startRegeneration(at('draft'), 1, { feedback: '  ' }).regenerating).toEqual({ after: 1 });
    expect(() => startRegeneration(g, 5)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(() => startRegeneration(at('draft'), 1, { feedback: 'x'.repeat(MAX_DESCRIPTION_LENGTH + 1) })).toThrow(
      expect.objectContaining({ code: 'ETOOLONG' }),
    );
    expect(startRegeneration(at('draft'), 1, { feedback: 'x'.repeat(MAX_DESCRIPTION_LENGTH) }).regenerating?.feedback).toHaveLength(MAX_DESCRIPTION_LENGTH);
  });

  it('draftCandidate, replaceWith, replaced, regenerationFailed: which fields each keeps and drops', () => {
    const busy = at('done', { resolution: 'generated', regenerating: { after: 1 }, replacing: 1 });
    const c = draftCandidate(busy, 2, 'a'.repeat(64));
    expect(c).toMatchObject({ state: 'draft', candidate: 2, resolution: 'generated', componentSha256: 'a'.repeat(64) });
    expect(['regenerating' in c, 'replacing' in c, 'lastError' in c]).toEqual([false, false, false]);
    expect('componentSha256' in draftCandidate(at('draft'), 2)).toBe(false);
    const w = replaceWith(busy, 3);
    expect(w).toMatchObject({ state: 'done', candidate: 3, approved: 3, replacing: 3 });
    expect(['regenerating' in w, 'lastError' in w]).toEqual([false, false]);
    const p = replaced(w, 3, 'b'.repeat(64));
    expect(p).toMatchObject({ state: 'done', candidate: 3, componentSha256: 'b'.repeat(64) });
    expect(['replacing' in p, 'regenerating' in p, 'lastError' in p]).toEqual([false, false, false]);
    const f = regenerationFailed(busy, 'model down');
    expect(f).toMatchObject({ state: 'done', lastError: 'model down' });
    expect('regenerating' in f).toBe(false);
  });

  it('retry drops the back-off and the failure count but keeps the last error; fail counts, backs off only when retryable', () => {
    const r = retry(at('failed', { failures: 3 }));
    expect(r).toMatchObject({ state: 'answered', failures: 0, lastError: 'boom' });
    expect('nextAttemptAt' in r).toBe(false);
    const once = fail(at('answered', { failures: 0, attempts: 1 }), 'e', true, NOW);
    expect(once).toMatchObject({ state: 'failed', failures: 1, attempts: 2, lastError: 'e', nextAttemptAt: NOW.getTime() + 30_000, description: 'd' });
    const permanent = fail(at('answered'), 'e', false, NOW);
    expect('nextAttemptAt' in permanent).toBe(false);
  });

  it('finish and reopen settle the request: no error, no back-off; a reopened one keeps its answer, or waits without one', () => {
    const done = finish(at('installing', { regenerating: { after: 1 } }), 'generated');
    expect(done).toMatchObject({ state: 'done', resolution: 'generated', description: 'd' });
    expect(['lastError' in done, 'nextAttemptAt' in done]).toEqual([false, false]);
    const again = reopen({ ...done, replacing: 2, attempts: 4 });
    expect(again).toMatchObject({ state: 'answered', description: 'd', attempts: 0 });
    expect(['resolution' in again, 'regenerating' in again, 'replacing' in again, 'lastError' in again]).toEqual([false, false, false, false]);
    expect(reopen({ ...done, description: undefined }).state).toBe('waiting');
  });
});
