/**
 * The request back-off, directly: the `nextAttemptAt` schedule of a failed request
 * (transitions.ts `backoffMs`, set by `fail`), recordFailure (jobs/record-failure.ts: durable
 * `failed`, an event, the timer re-armed) and the one retry timer (jobs/retry-timer.ts: armed for
 * the earliest due request, re-armed, cleared, stopped). Time is vitest's fake clock; the
 * request store is real, on a temp dir.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nodeFs } from '../../src/fsio/node-fs.js';
import type { EngineEvent } from '../../src/jobs/events.js';
import { recordFailure } from '../../src/jobs/record-failure.js';
import { RetryTimer } from '../../src/jobs/retry-timer.js';
import { newRequest, type Request } from '../../src/requests/request.js';
import { RequestStore } from '../../src/requests/request-store.js';
import { answer, backoffMs, fail } from '../../src/requests/transitions.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-01-01T00:00:00Z');

let dir: string;
let store: RequestStore;

beforeEach(async () => {
  // Only timers and the clock are faked: the store's file I/O runs for real.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
  dir = await mkdtemp(join(tmpdir(), 'jitd-backoff-'));
  store = new RequestStore(nodeFs, dir);
  await store.load();
});

afterEach(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

/** An answered request for `goal`, saved in the store. */
async function answered(goal: string): Promise<Request> {
  const r = answer(newRequest(goal, 'protocol', `${goal.toLowerCase()}.md`, T0), `write ${goal}`, T0);
  await store.save(r, { durable: true });
  return r;
}

/** A failed request whose automatic retry is due at `at` (epoch ms), saved in the store. */
async function failedDueAt(goal: string, at: number | undefined): Promise<Request> {
  const r = fail(await answered(goal), 'model down', at !== undefined, T0);
  if (at === undefined) delete r.nextAttemptAt;
  else r.nextAttemptAt = at;
  await store.save(r, { durable: true });
  return r;
}

describe('the nextAttemptAt schedule', () => {
  it('doubles from 30 s per failure and is capped at one hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(backoffMs)).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000]);
    expect(backoffMs(8)).toBe(HOUR);
    expect(backoffMs(50)).toBe(HOUR);
  });

  it('sets nextAttemptAt to the failure time plus the back-off of the failure count, growing with each retryable failure', () => {
    let r = answer(newRequest('G', 'protocol', 'g.md', T0), 'write it', T0);
    const waits: number[] = [];
    for (let i = 1; i <= 9; i++) {
      const now = new Date(T0.getTime() + i * 10 * HOUR);
      r = fail({ ...r, state: 'answered' }, 'timeout', true, now);
      expect(r.failures).toBe(i);
      waits.push(r.nextAttemptAt! - now.getTime());
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, HOUR, HOUR]);
  });

  it('gives a permanent failure no nextAttemptAt, dropping the back-off of an earlier retryable one', () => {
    const r = answer(newRequest('G', 'protocol', 'g.md', T0), 'write it', T0);
    const retryable = fail(r, 'timeout', true, T0);
    expect(retryable.nextAttemptAt).toBe(T0.getTime() + 30_000);
    const permanent = fail({ ...retryable, state: 'answered' }, 'bad key', false, T0);
    expect(permanent.state).toBe('failed');
    expect(permanent).not.toHaveProperty('nextAttemptAt');
    expect(permanent.lastError).toBe('bad key');
  });
});

describe('recordFailure', () => {
  function deps(onDue: () => void) {
    const events: EngineEvent[] = [];
    const retries = new RetryTimer(store, onDue);
    return { events, retries, d: { store, retries, log: pino({ level: 'silent' }), emit: (e: EngineEvent) => events.push(e) } };
  }

  it('records a retryable failure durably with its back-off, emits request.failed and arms the timer for it', async () => {
    const onDue = vi.fn();
    const { d, events } = deps(onDue);
    const r = await answered('RETRYABLE');
    await recordFailure(d, r.id, 'HTTP 503', true);

    const onDisk = JSON.parse(await readFile(join(store.dir, `${r.id}.json`), 'utf8')) as Request;
    expect(onDisk).toMatchObject({ state: 'failed', lastError: 'HTTP 503', failures: 1, description: 'write RETRYABLE', nextAttemptAt: T0.getTime() + 30_000 });
    expect(events.map((e) => e.type)).toEqual(['request.failed']);

    vi.advanceTimersByTime(29_999);
    expect(onDue).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onDue).toHaveBeenCalledTimes(1);
  });

  it('records a permanent failure without nextAttemptAt, keeping the description, and arms no timer', async () => {
    const onDue = vi.fn();
    const { d } = deps(onDue);
    const r = await answered('PERMANENT');
    await recordFailure(d, r.id, 'HTTP 401', false);

    const onDisk = JSON.parse(await readFile(join(store.dir, `${r.id}.json`), 'utf8')) as Request;
    expect(onDisk.state).toBe('failed');
    expect(onDisk.description).toBe('write PERMANENT');
    expect(onDisk).not.toHaveProperty('nextAttemptAt');
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10 * HOUR);
    expect(onDue).not.toHaveBeenCalled();
  });

  it('does nothing for an unknown request id', async () => {
    const onDue = vi.fn();
    const { d, events } = deps(onDue);
    await recordFailure(d, 'ffffffffffff', 'gone', true);
    expect(events).toEqual([]);
    expect(store.all()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('RetryTimer', () => {
  it('fires once, at the earliest nextAttemptAt among the failed requests', async () => {
    await failedDueAt('LATE', T0.getTime() + 120_000);
    await failedDueAt('EARLY', T0.getTime() + 45_000);
    await failedDueAt('MIDDLE', T0.getTime() + 90_000);
    const onDue = vi.fn();
    new RetryTimer(store, onDue).schedule();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(44_999);
    expect(onDue).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onDue).toHaveBeenCalledTimes(1);
    // One shot: the caller re-arms after it has looked again.
    vi.advanceTimersByTime(HOUR);
    expect(onDue).toHaveBeenCalledTimes(1);
  });

  it('ignores failed requests without nextAttemptAt and requests in other states', async () => {
    await failedDueAt('PERMANENT', undefined);
    const other = await answered('ANSWERED');
    await store.save({ ...other, nextAttemptAt: T0.getTime() + 1_000 }, { durable: false });
    const onDue = vi.fn();
    new RetryTimer(store, onDue).schedule();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10 * HOUR);
    expect(onDue).not.toHaveBeenCalled();
  });

  it('fires at once for a request already overdue', async () => {
    await failedDueAt('OVERDUE', T0.getTime() - 5_000);
    const onDue = vi.fn();
    new RetryTimer(store, onDue).schedule();
    vi.advanceTimersByTime(0);
    expect(onDue).toHaveBeenCalledTimes(1);
  });

  it('re-arming replaces the old timer: one timer, for the new earliest request', async () => {
    await failedDueAt('FIRST', T0.getTime() + 60_000);
    const onDue = vi.fn();
    const timer = new RetryTimer(store, onDue);
    timer.schedule();
    await failedDueAt('SOONER', T0.getTime() + 10_000);
    timer.schedule();
    timer.schedule();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(onDue).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(HOUR);
    expect(onDue).toHaveBeenCalledTimes(1);
  });

  it('re-arming after the due requests are gone clears the timer', async () => {
    const r = await failedDueAt('RETRIED', T0.getTime() + 30_000);
    const onDue = vi.fn();
    const timer = new RetryTimer(store, onDue);
    timer.schedule();
    expect(vi.getTimerCount()).toBe(1);
    await store.save({ ...r, state: 'answered', nextAttemptAt: undefined } as Request, { durable: false });
    timer.schedule();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(HOUR);
    expect(onDue).not.toHaveBeenCalled();
  });

  it('caps a wait beyond setTimeout range at 2^31-1 ms instead of firing at once', async () => {
    await failedDueAt('FAR', T0.getTime() + 40 * 24 * HOUR);
    const onDue = vi.fn();
    new RetryTimer(store, onDue).schedule();
    vi.advanceTimersByTime(2 ** 31 - 2);
    expect(onDue).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onDue).toHaveBeenCalledTimes(1);
  });

  it('after stop() the armed timer never fires and schedule() arms nothing', async () => {
    await failedDueAt('STOPPED', T0.getTime() + 30_000);
    const onDue = vi.fn();
    const timer = new RetryTimer(store, onDue);
    timer.schedule();
    timer.stop();
    timer.schedule();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(HOUR);
    expect(onDue).not.toHaveBeenCalled();
  });
});
