/**
 * The coalescing of watcher-error reconciles: a burst of errors (ENOSPC/EMFILE on N type
 * directories) costs one run, and an error during a run still gets one run after it.
 */
import { describe, expect, it } from 'vitest';
import { coalesce } from '../../src/daemon/coalesce.js';

function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

describe('coalesce', () => {
  it('runs once for a burst of calls made while a run is queued and not yet started', async () => {
    let runs = 0;
    const run = coalesce(async () => ++runs);
    const all = await Promise.all(Array.from({ length: 50 }, () => run()));
    expect(runs).toBe(1);
    expect(new Set(all)).toEqual(new Set([1]));
  });

  it('queues exactly one more run for calls made while a run is going, started after it settles', async () => {
    const gates = [gate(), gate()];
    let runs = 0;
    let running = 0;
    let overlapped = false;
    const run = coalesce(async () => {
      const n = runs++;
      running++;
      if (running > 1) overlapped = true;
      await gates[n]?.opened;
      running--;
      return n;
    });
    const first = run();
    await new Promise((r) => setImmediate(r)); // the first run has started
    expect(runs).toBe(1);
    const during = Array.from({ length: 10 }, () => run());
    expect(runs).toBe(1);
    gates[0]!.open();
    expect(await first).toBe(0);
    gates[1]!.open();
    expect(new Set(await Promise.all(during))).toEqual(new Set([1]));
    expect(runs).toBe(2);
    expect(overlapped).toBe(false);
  });

  it('hands a failure to the callers of that run only, and runs again on the next call', async () => {
    let runs = 0;
    const run = coalesce(async () => {
      if (runs++ === 0) throw new Error('ENOSPC');
      return runs;
    });
    const failed = await Promise.allSettled([run(), run()]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await run()).toBe(2);
  });
});
