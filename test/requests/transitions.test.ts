import { describe, expect, test } from 'vitest';
import { newRequest, type Request } from '../../src/requests/request.js';
import { answer, backoffMs, entryGone, fail, finish, installFailed, reject, reopen, RequestError, retry } from '../../src/requests/transitions.js';

const now = new Date('2026-01-01T00:00:00Z');
const waiting = () => newRequest('g', 'persona', 'p.txt', now);
const answered = () => answer(waiting(), '  a   helpful\nreviewer ', now);

describe('request transitions', () => {
  test('an answer is stored on one line and resets the counters; only a waiting request takes one', () => {
    const a = answer({ ...waiting(), attempts: 3, failures: 2 }, ' a  b\n c ', now);
    expect(a).toMatchObject({ state: 'answered', description: 'a b c', answeredAt: now.toISOString(), attempts: 0, failures: 0 });
    expect(() => answer(a, 'again', now)).toThrow(RequestError);
    expect(() => answer(waiting(), '  \n ', now)).toThrow(expect.objectContaining({ code: 'EEMPTY' }));
    expect(() => answer(waiting(), 'x'.repeat(4001), now)).toThrow(expect.objectContaining({ code: 'ETOOLONG' }));
  });

  test('a retryable failure keeps the description and backs off from now; a permanent one has no timer', () => {
    const f1 = fail(answered(), 'boom', true, now);
    expect(f1).toMatchObject({
      state: 'failed',
      description: 'a helpful reviewer',
      lastError: 'boom',
      failures: 1,
      attempts: 1,
      nextAttemptAt: now.getTime() + 30_000,
    });
    const f2 = fail(f1, 'boom', true, now);
    expect(f2.nextAttemptAt).toBe(now.getTime() + backoffMs(2));
    expect(backoffMs(2)).toBe(60_000);
    expect(backoffMs(99)).toBe(3_600_000);
    expect(fail(f1, 'unsafe', false, now).nextAttemptAt).toBeUndefined();
  });

  test('retry drops the back-off but keeps the last error; only failed requests can be retried', () => {
    const r = retry(fail(answered(), 'boom', true, now));
    expect(r).toMatchObject({ state: 'answered', failures: 0, lastError: 'boom' });
    expect(r.nextAttemptAt).toBeUndefined();
    expect(() => retry(answered())).toThrow(expect.objectContaining({ code: 'ESTATE' }));
  });

  test('every way to done drops lastError and nextAttemptAt (the paths used to disagree)', () => {
    const failed = fail(answered(), 'boom', true, now);
    for (const how of ['generated', 'adopted', 'person'] as const) {
      const d = finish(failed, how);
      expect(d).toMatchObject({ state: 'done', resolution: how, description: 'a helpful reviewer' });
      expect('lastError' in d || 'nextAttemptAt' in d).toBe(false);
    }
  });

  test('reject: waiting or failed only, and the back-off goes', () => {
    const r = reject(fail(answered(), 'boom', true, now));
    expect(r.state).toBe('rejected');
    expect(r.nextAttemptAt).toBeUndefined();
    expect(() => reject(answered())).toThrow(expect.objectContaining({ code: 'ESTATE' }));
  });

  test('a reopened request keeps its answer (answered) or waits again if it never had one', () => {
    const done: Request = { ...finish(answered(), 'generated'), attempts: 2 };
    const r = reopen({ ...done, lastError: 'x' });
    expect(r).toMatchObject({ state: 'answered', description: 'a helpful reviewer', attempts: 0 });
    expect(r.resolution).toBeUndefined();
    expect(r.lastError).toBeUndefined();
    expect(reopen(finish(waiting(), 'person')).state).toBe('waiting');
  });

  test('a failed map write and a vanished entry keep the answer', () => {
    expect(installFailed(answered(), 'ENOSPC')).toMatchObject({ state: 'answered', lastError: 'ENOSPC', description: 'a helpful reviewer' });
    expect(entryGone(answered())).toMatchObject({ state: 'answered', description: 'a helpful reviewer' });
  });
});
