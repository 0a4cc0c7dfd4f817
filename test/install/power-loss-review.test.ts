/**
 * Power-loss simulation (mem-fs.ts) of review (docs/review.md): drafting a generated component
 * (staged output, candidate text and provenance, the draft record) and approving it (candidate
 * staged, approval record, install). After every single operation of each run, seeded crash
 * images are recovered by a restarted engine and must keep: a draft nobody approved is never
 * installed, a durable draft is never lost, a staged output is never paid for again, and the
 * map invariants hold (no dangling pointer, no leftovers).
 */
import { describe, expect, it } from 'vitest';
import { requestId } from '../../src/requests/request.js';
import {
  ANSWER,
  GENERATED_PATH,
  GOAL,
  MISSING,
  STATE,
  TYPE,
  countingProvider,
  engineOn,
  expectedContent,
  leftovers,
  makeMemLibrary,
  mapNamesGenerated,
  mapViolations,
  exploreCrashStates,
  type MemFs,
} from './mem-library.js';

const STATES_PER_POINT = 30;
const CONTENT = expectedContent(ANSWER);
const ID = requestId(GOAL, TYPE, MISSING);
const RECORD = `${STATE}/requests/${ID}.json`;
const STAGED = `${STATE}/staged/${ID}.txt`;
const CANDIDATE = `${STATE}/candidates/${ID}/1.txt`;

const recordOf = (fs: MemFs) => {
  const text = fs.read(RECORD);
  return text === undefined ? undefined : (JSON.parse(text) as { state: string; candidate?: number; approved?: number; description?: string });
};

/** Restarts jitd on `image` and lets it settle; answers the model calls it made. */
async function recover(image: MemFs): Promise<number> {
  const provider = countingProvider();
  const engine = engineOn(image, provider);
  await engine.start();
  await engine.idle();
  await engine.stop();
  return provider.calls;
}

const explore = (fs: MemFs, seed: number, check: (image: MemFs) => Promise<string[]>) => exploreCrashStates(fs, seed, STATES_PER_POINT, check);

/** A library whose one gap was answered with --review and drafted: candidate 1 waits. */
async function drafted(): Promise<MemFs> {
  const fs = makeMemLibrary();
  const engine = engineOn(fs, countingProvider());
  await engine.start();
  fs.checkpoint();
  await engine.answer(ID, ANSWER, { review: true });
  await engine.idle();
  await engine.stop();
  return fs;
}

describe('power loss while a generated component is drafted for review', () => {
  it('never installs the draft, never loses a durable draft, never pays the model again for a staged output', async () => {
    const fs = await drafted();
    expect(recordOf(fs)).toMatchObject({ state: 'draft', candidate: 1 });
    expect(fs.read(CANDIDATE)).toBe(CONTENT);
    expect(mapNamesGenerated(fs)).toBe(false);
    const { points, states, violations } = await explore(fs, 29, async (image) => {
      const v = mapViolations(image, CONTENT).map((m) => `image: ${m}`);
      const before = recordOf(image);
      const stagedBefore = image.read(STAGED) === CONTENT || image.read(CANDIDATE) === CONTENT;
      const calls = await recover(image);
      const after = recordOf(image);
      if (mapNamesGenerated(image) || image.read(GENERATED_PATH) !== undefined) v.push('a draft nobody approved was installed');
      if (before?.state === 'draft' && !(after?.state === 'draft' && after.candidate === before.candidate))
        v.push(`a durable draft was lost: ${JSON.stringify(after)}`);
      if (before?.description !== undefined) {
        // The answer was durable: the request ends as a draft whose candidate is the output.
        if (after?.state !== 'draft') v.push(`answered request did not end as a draft: ${after?.state}`);
        else if (image.read(`${STATE}/candidates/${ID}/${after.candidate}.txt`) !== CONTENT) v.push('the draft names no complete candidate');
        if (stagedBefore && calls) v.push(`the model was called ${calls} times for an output already on disk`);
      }
      v.push(...mapViolations(image, CONTENT), ...leftovers(image));
      return v;
    });
    console.log(`power-loss (drafting for review): ${points} points, ${states} states, ${violations.length} violations`);
    expect(violations.slice(0, 10)).toEqual([]);
  });
});

describe('power loss while a draft is approved', () => {
  it('every image is either still the same draft (nothing installed) or converges to installed, with no model call', async () => {
    const fs = await drafted();
    fs.checkpoint();
    const engine = engineOn(fs, countingProvider());
    await engine.start();
    await engine.approve(ID);
    await engine.idle();
    await engine.stop();
    expect(recordOf(fs)).toMatchObject({ state: 'done', approved: 1 });
    expect(mapNamesGenerated(fs)).toBe(true);
    const { points, states, violations } = await explore(fs, 31, async (image) => {
      const v = mapViolations(image, CONTENT).map((m) => `image: ${m}`);
      const before = recordOf(image);
      const calls = await recover(image);
      const after = recordOf(image);
      if (calls) v.push(`the model was called ${calls} times`);
      if (before?.approved !== undefined) {
        if (!(after?.state === 'done' && mapNamesGenerated(image) && image.read(GENERATED_PATH) === CONTENT))
          v.push(`an approved draft did not converge to installed: ${after?.state}`);
      } else if (after?.state !== 'draft' || mapNamesGenerated(image) || image.read(GENERATED_PATH) !== undefined) {
        v.push(`an unapproved draft changed or was installed: ${after?.state}`);
      }
      v.push(...mapViolations(image, CONTENT), ...leftovers(image));
      return v;
    });
    console.log(`power-loss (approving a draft): ${points} points, ${states} states, ${violations.length} violations`);
    expect(violations.slice(0, 10)).toEqual([]);
  });
});
