/** The impaired-watcher fallback's timer: ticks until the check is done, never two at once. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { repeatUntilDone } from '../../src/daemon/repeat.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('repeatUntilDone', () => {
  it('ticks every interval until the tick answers false, then stops by itself', async () => {
    vi.useFakeTimers();
    let left = 3;
    const tick = vi.fn(async () => --left > 0);
    const r = repeatUntilDone(1000, tick, () => undefined);
    r.start();
    r.start(); // a second start while running adds nothing
    await vi.advanceTimersByTimeAsync(5000);
    expect(tick).toHaveBeenCalledTimes(3);
    expect(r.running).toBe(false);
  });

  it('treats a tick that throws as not done, reports it, and keeps ticking until stopped', async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    const tick = vi.fn(async () => {
      throw new Error('EMFILE');
    });
    const r = repeatUntilDone(1000, tick, (e) => errors.push(e));
    r.start();
    await vi.advanceTimersByTimeAsync(3500);
    expect(tick).toHaveBeenCalledTimes(3);
    expect(errors).toHaveLength(3);
    r.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(tick).toHaveBeenCalledTimes(3);
  });
});
