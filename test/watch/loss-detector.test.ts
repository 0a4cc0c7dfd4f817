/**
 * The lost-event detector on a real directory, driven look by look (`tick`): an idle directory
 * costs a stat and is never listed; a change is judged once, after it has settled for a whole
 * period; a settled change the watcher did not report is a loss, rescanned and counted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLossDetector, type LossDetector } from '../../src/watch/loss-detector.js';

let dir: string;
let detector: LossDetector | undefined;
let judged: string[];
let lost: string[];
/** What the fake watcher "was told": the consistency answer. */
let consistent: boolean;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jitd-loss-'));
  judged = [];
  lost = [];
  consistent = true;
  detector = startLossDetector({
    periodMs: 0,
    paths: function* () {
      yield ['protocols', dir] as const;
    },
    consistent: async (key) => {
      judged.push(key);
      return consistent;
    },
    onLoss: (key) => lost.push(key),
    onError: (err) => {
      throw err;
    },
  });
});
afterEach(async () => {
  detector?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A directory's mtime has coarse granularity: make sure a write lands on a new timestamp. */
const later = () => new Promise((r) => setTimeout(r, 20));

describe('lost-event detector', () => {
  it('never lists a directory that did not change', async () => {
    for (let i = 0; i < 5; i++) await detector!.tick();
    expect(judged).toEqual([]);
    expect(detector!.status().noticed).toBe(0);
  });

  it('judges a change once, only after it stayed unchanged for a whole period', async () => {
    await later();
    await writeFile(join(dir, 'a.txt'), 'a');
    await detector!.tick(); // changed since the last look: still settling
    expect(judged).toEqual([]);
    await later();
    await writeFile(join(dir, 'b.txt'), 'b');
    await detector!.tick(); // changed again
    expect(judged).toEqual([]);
    await detector!.tick(); // settled: judged
    expect(judged).toEqual(['protocols']);
    await detector!.tick(); // judged already: not again
    expect(judged).toEqual(['protocols']);
    expect(lost).toEqual([]);
  });

  it('counts a settled change that does not match what the watcher reported as a loss, and asks for a rescan', async () => {
    consistent = false;
    await later();
    await writeFile(join(dir, 'a.txt'), 'a');
    await detector!.tick();
    await detector!.tick();
    expect(lost).toEqual(['protocols']);
    const st = detector!.status();
    expect(st.noticed).toBe(1);
    expect(st.lastNoticed).toEqual(['protocols']);
    expect(st.lastNoticedAt).toMatch(/^\d{4}-/);
  });
});
