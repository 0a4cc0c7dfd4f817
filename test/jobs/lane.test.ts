/**
 * The serial lane (src/jobs/lane.ts), directly: tasks run one at a time in the order given, a
 * task's error reaches its caller and does not stop the next, a failed fsync is fatal, a
 * background task's other errors are reported, and `drain()` / `isIdle` cover tracked work.
 */
import { describe, expect, it, vi } from 'vitest';
import { FsyncFailedError } from '../../src/fsio/errors.js';
import { Lane } from '../../src/jobs/lane.js';

/** A promise with its resolve exposed, to hold a task open. */
function gate<T = void>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}

function lane() {
  const onFatal = vi.fn();
  const onBackgroundError = vi.fn();
  return { lane: new Lane({ onFatal, onBackgroundError }), onFatal, onBackgroundError };
}

describe('Lane', () => {
  it('runs tasks one at a time, in the order they were given, never interleaving', async () => {
    const { lane: l } = lane();
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const task = (name: string) => async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${name}`);
      await new Promise((r) => setImmediate(r));
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all(['a', 'b', 'c'].map((n) => l.run(task(n))));
    expect(results).toEqual(['a', 'b', 'c']);
    expect(maxRunning).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('does not start a queued task until the running one has settled', async () => {
    const { lane: l } = lane();
    const first = gate();
    const second = vi.fn(async () => 'second');
    const p1 = l.run(() => first.promise);
    const p2 = l.run(second);
    await new Promise((r) => setImmediate(r));
    expect(second).not.toHaveBeenCalled();
    expect(l.size).toBe(2);
    first.open();
    await p1;
    expect(await p2).toBe('second');
    expect(second).toHaveBeenCalledTimes(1);
  });

  it("gives a failing task's error to its caller and still runs the next task", async () => {
    const { lane: l, onFatal } = lane();
    const failing = l.run(async () => {
      throw new Error('boom');
    });
    const next = l.run(async () => 'next ran');
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('next ran');
    expect(onFatal).not.toHaveBeenCalled();
  });

  it('reports a failed fsync of an awaited task as fatal, and rejects the caller too', async () => {
    const { lane: l, onFatal, onBackgroundError } = lane();
    const err = new FsyncFailedError('/x', new Error('EIO'));
    await expect(l.run(async () => Promise.reject(err))).rejects.toBe(err);
    await new Promise((r) => setImmediate(r));
    expect(onFatal).toHaveBeenCalledWith(err);
    expect(onBackgroundError).not.toHaveBeenCalled();
  });

  it("reports a background task's ordinary error with its label and keeps running later tasks", async () => {
    const { lane: l, onFatal, onBackgroundError } = lane();
    const err = new Error('sync failed');
    l.background('sync', async () => Promise.reject(err));
    expect(await l.run(async () => 'after')).toBe('after');
    expect(onBackgroundError).toHaveBeenCalledWith('sync', err);
    expect(onFatal).not.toHaveBeenCalled();
  });

  it('reports a failed fsync of a background task as fatal only, not as a background error', async () => {
    const { lane: l, onFatal, onBackgroundError } = lane();
    const err = new FsyncFailedError('/y', new Error('EIO'));
    l.background('install', async () => Promise.reject(err));
    await l.drain();
    await new Promise((r) => setImmediate(r));
    expect(onFatal).toHaveBeenCalledWith(err);
    expect(onBackgroundError).not.toHaveBeenCalled();
  });

  it('is idle only when nothing is queued, running or tracked beside, and drain() waits for all of it', async () => {
    const { lane: l } = lane();
    expect(l.isIdle).toBe(true);
    const task = gate();
    const beside = gate();
    let taskDone = false;
    let besideDone = false;
    void l.run(() => task.promise.then(() => (taskDone = true)));
    l.track(beside.promise.then(() => (besideDone = true)));
    expect(l.isIdle).toBe(false);
    let drained = false;
    const draining = l.drain().then(() => (drained = true));
    task.open();
    await new Promise((r) => setImmediate(r));
    expect(taskDone).toBe(true);
    expect(drained).toBe(false);
    expect(l.isIdle).toBe(false);
    beside.open();
    await draining;
    expect(besideDone).toBe(true);
    expect(l.isIdle).toBe(true);
    expect(l.size).toBe(0);
  });

  it('a failure of tracked work is reported as a background error, never an unhandled rejection, and drain() still resolves', async () => {
    const { lane: l, onBackgroundError, onFatal } = lane();
    l.track(Promise.reject(new Error('ENOSPC: no space left on device')), 'staging model output');
    await l.drain();
    expect(onBackgroundError).toHaveBeenCalledWith('staging model output', expect.objectContaining({ message: expect.stringMatching(/ENOSPC/) }));
    expect(onFatal).not.toHaveBeenCalled();
    expect(l.isIdle).toBe(true);
  });

  it('a failed fsync in tracked work is fatal, and not also a background error', async () => {
    const { lane: l, onBackgroundError, onFatal } = lane();
    l.track(Promise.reject(new FsyncFailedError('/lib/protocols', new Error('EIO'))));
    await l.drain();
    expect(onFatal).toHaveBeenCalledTimes(1);
    expect(onBackgroundError).not.toHaveBeenCalled();
  });
});
