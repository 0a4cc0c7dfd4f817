/**
 * Power-loss simulation (mem-fs.ts) of regenerating a done component without review: the
 * durable intent, the new candidate, the `replacing` record, the guarded replacement of the
 * installed file (map unchanged), the kept output and the done record. Every crash image,
 * restarted, must keep the map repointed with a complete component (old text or new, never a
 * torn or missing file), finish a replacement whose intent was durable, and never pay the
 * model again for a candidate already on disk.
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
  engineOn,
  expectedContent,
  exploreCrashStates,
  leftovers,
  makeMemLibrary,
  mapNamesGenerated,
  runToDone,
  countingProvider,
  type MemFs,
} from './mem-library.js';

const ID = requestId(GOAL, TYPE, MISSING);
const OLD = expectedContent(ANSWER);
const NEW = 'A regenerated persona.\n';
const RECORD = `${STATE}/requests/${ID}.json`;

const recordOf = (fs: MemFs) => {
  const t = fs.read(RECORD);
  return t === undefined ? undefined : (JSON.parse(t) as { state: string; regenerating?: unknown; replacing?: number });
};

describe('power loss while a done component is replaced by its regeneration', () => {
  it('the component is always whole (old or new), a durable intent always converges to the new text, a written candidate is never paid for again', async () => {
    const fs = makeMemLibrary();
    await runToDone(fs, countingProvider());
    expect(fs.read(GENERATED_PATH)).toBe(OLD);
    fs.checkpoint();
    const engine = engineOn(fs, countingProvider(NEW));
    await engine.start();
    await engine.regenerate(ID, { feedback: 'newer' });
    await engine.idle();
    await engine.stop();
    expect(fs.read(GENERATED_PATH)).toBe(NEW);
    expect(recordOf(fs)).toMatchObject({ state: 'done' });
    const { points, states, violations } = await exploreCrashStates(fs, 37, 30, async (image) => {
      const v: string[] = [];
      const text = image.read(GENERATED_PATH);
      if (text !== OLD && text !== NEW) v.push(`image: the component is torn or missing: ${JSON.stringify(text?.slice(0, 30))}`);
      if (!mapNamesGenerated(image)) v.push('image: the map changed');
      const before = recordOf(image);
      const intent = before?.regenerating !== undefined || before?.replacing !== undefined;
      const written = image.read(`${STATE}/candidates/${ID}/1.txt`) === NEW;
      const provider = countingProvider(NEW);
      const again = engineOn(image, provider);
      await again.start();
      await again.idle();
      await again.stop();
      const after = image.read(GENERATED_PATH);
      if (intent && after !== NEW) v.push(`a durable regeneration did not converge: ${JSON.stringify(after)}`);
      if (!intent && after !== OLD && text !== NEW) v.push('replaced without a durable intent');
      if (written && provider.calls) v.push(`the model was called ${provider.calls} times for a candidate on disk`);
      if (recordOf(image)?.state !== 'done') v.push(`request not done: ${recordOf(image)?.state}`);
      if (!mapNamesGenerated(image)) v.push('the map changed');
      v.push(...leftovers(image));
      return v;
    });
    console.log(`power-loss (replacing an installed component): ${points} points, ${states} states, ${violations.length} violations`);
    expect(violations.slice(0, 10)).toEqual([]);
  });
});

describe('power loss while a regeneration meets a person-edited component', () => {
  it("the person's file is never overwritten in any crash image; a durable intent converges to a draft, their version a candidate", async () => {
    const PERSONS = 'My own persona, saved in place over the generated one.\n';
    const fs = makeMemLibrary();
    await runToDone(fs, countingProvider());
    fs.writeFile(GENERATED_PATH, PERSONS);
    fs.checkpoint(); // the person's save is on disk before jitd is asked for anything
    const engine = engineOn(fs, countingProvider(NEW));
    await engine.start();
    await engine.regenerate(ID, { feedback: 'newer' });
    await engine.idle();
    await engine.stop();
    expect(fs.read(GENERATED_PATH)).toBe(PERSONS);
    expect(recordOf(fs)).toMatchObject({ state: 'draft' });
    const candidates = (image: MemFs) => [1, 2, 3].map((n) => image.read(`${STATE}/candidates/${ID}/${n}.txt`));
    const { points, states, violations } = await exploreCrashStates(fs, 41, 30, async (image) => {
      const v: string[] = [];
      if (image.read(GENERATED_PATH) !== PERSONS) v.push("image: the person's file was overwritten");
      const before = recordOf(image);
      const intent = before?.regenerating !== undefined || before?.replacing !== undefined || before?.state === 'draft';
      const written = candidates(image).includes(NEW);
      const provider = countingProvider(NEW);
      const again = engineOn(image, provider);
      await again.start();
      await again.idle();
      await again.stop();
      if (image.read(GENERATED_PATH) !== PERSONS) v.push("the person's file was overwritten after the restart");
      const after = recordOf(image);
      if (intent && after?.state !== 'draft') v.push(`a durable regeneration did not end as a draft: ${after?.state}`);
      if (intent && !(candidates(image).includes(NEW) && candidates(image).includes(PERSONS)))
        v.push(`the draft and the person's version are not both candidates: ${JSON.stringify(candidates(image))}`);
      if (!intent && after?.state !== 'done') v.push(`without an intent the request is ${after?.state}`);
      if (written && provider.calls) v.push(`the model was called ${provider.calls} times for a candidate on disk`);
      if (!mapNamesGenerated(image)) v.push('the map changed');
      v.push(...leftovers(image));
      return v;
    });
    console.log(`power-loss (regenerating a person-edited component): ${points} points, ${states} states, ${violations.length} violations`);
    expect(violations.slice(0, 10)).toEqual([]);
  });
});
