/**
 * The guards of a batch install (contract §1, §2, §4, §5) that mutation testing found no test
 * failing without (docs/mutation-testing.md): a failed fsync while publishing a component is
 * fatal, a file jitd adopted rather than created is never deleted, and an entry a person changed
 * before the install gets nothing written at all.
 */
import { describe, expect, it } from 'vitest';
import { FsyncFailedError } from '../../src/fsio/errors.js';
import { installBatch } from '../../src/install/install-batch.js';
import { newRequest, type Request } from '../../src/requests/request.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const COMP = '/lib/components';
const STATE = '/lib/.jitd';
const classify = libraryClassifier({ mapFile: MAP, componentsDir: COMP, stateDir: STATE });
const BASE = { A: { persona: 'a.txt' }, B: { persona: 'b.txt' } };
const text = (m: unknown) => `${JSON.stringify(m, null, 2)}\n`;

function lib(): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, text(BASE));
  fs.mkdirpSync(`${COMP}/personas`);
  fs.mkdirpSync(`${STATE}/requests`);
  fs.checkpoint();
  return fs;
}
const answered = (goal: string, file: string): Request => ({ ...newRequest(goal, 'persona', file), state: 'answered', description: `d ${goal}` });

describe('installBatch guards', () => {
  it('a failed fsync while publishing a component is fatal for the batch (FsyncFailedError), never a per-item error; the map is untouched', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, faults: [{ at: 'fsync:component#1', fault: { error: 'EIO' } }] });
    await expect(
      installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [
        { request: answered('A', 'a.txt'), content: 'A\n' },
        { request: answered('B', 'b.txt'), content: 'B\n' },
      ]),
    ).rejects.toBeInstanceOf(FsyncFailedError);
    expect(JSON.parse(mem.read(MAP) as string)).toEqual(BASE);
    expect(fs.steps.some((s) => s.startsWith('open:map'))).toBe(false);
  });

  it('a generated file jitd adopted (it was already there) is never deleted when a person changes the entry meanwhile', async () => {
    const mem = lib();
    const a = answered('A', 'a.txt');
    mem.writeFile(`${COMP}/personas/${a.generatedName}`, 'already here\n');
    mem.checkpoint();
    const personsMap = { ...BASE, A: { persona: 'their_choice.txt' } };
    const fs = faultFs(mem, { classify, hooks: { 'after:fsyncdir:component#1': () => mem.writeFile(MAP, text(personsMap)) } });
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: a, content: 'A\n' }]);
    expect(out).toEqual([{ id: a.id, result: 'entry-gone' }]);
    expect(mem.read(`${COMP}/personas/${a.generatedName}`)).toBe('already here\n');
    expect(JSON.parse(mem.read(MAP) as string)).toEqual(personsMap);
  });

  it('a file jitd created and took back is unlinked and its directory fsynced before the batch answers', async () => {
    const mem = lib();
    const a = answered('A', 'a.txt');
    const personsMap = { ...BASE, A: { persona: 'their_choice.txt' } };
    const fs = faultFs(mem, { classify, hooks: { 'after:fsyncdir:component#1': () => mem.writeFile(MAP, text(personsMap)) } });
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: a, content: 'A\n' }]);
    expect(out).toEqual([{ id: a.id, result: 'entry-gone' }]);
    expect(mem.exists(`${COMP}/personas/${a.generatedName}`)).toBe(false);
    const unlink = fs.steps.lastIndexOf(fs.steps.filter((s) => s.startsWith('unlink:component')).at(-1) as string);
    expect(fs.steps.slice(unlink + 1).filter((s) => s.startsWith('fsyncdir:component'))).toHaveLength(1);
  });

  it('an entry the person changed before the install gets nothing written: no component published, no map write', async () => {
    const mem = lib();
    mem.writeFile(MAP, text({ ...BASE, A: { persona: 'other.txt' } }));
    mem.checkpoint();
    const fs = faultFs(mem, { classify });
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: answered('A', 'a.txt'), content: 'A\n' }]);
    expect(out.map((o) => o.result)).toEqual(['entry-gone']);
    expect(fs.steps.filter((s) => /^(open|link|rename|unlink|fsyncdir):/.test(s))).toEqual([]);
  });

  it('an entry whose goal is no longer an object is entry-gone, nothing written', async () => {
    const mem = lib();
    mem.writeFile(MAP, text({ ...BASE, A: null }));
    mem.checkpoint();
    const fs = faultFs(mem, { classify });
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: answered('A', 'a.txt'), content: 'A\n' }]);
    expect(out.map((o) => o.result)).toEqual(['entry-gone']);
    expect(fs.steps.filter((s) => /^(open|link|rename|unlink):/.test(s))).toEqual([]);
  });
});
