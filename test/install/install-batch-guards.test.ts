/**
 * The guards of a batch install (contract §1, §2, §4, §5) that mutation testing found no test
 * failing without (docs/mutation-testing.md): a failed fsync while publishing a component is
 * fatal, a file jitd adopted rather than created is never deleted, and an entry a person changed
 * before the install gets nothing written at all.
 */
import { describe, expect, it } from 'vitest';
import { DirUnavailableError, setDirRoot } from '../../src/fsio/durable-dir.js';
import { FsyncFailedError } from '../../src/fsio/errors.js';
import { installBatch, mapLimit } from '../../src/install/install-batch.js';
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

  it('a components tree that is away fails the whole batch (DirUnavailableError), never a per-item error, and creates nothing', async () => {
    const mem = new MemFs();
    mem.writeFile(MAP, text(BASE));
    mem.checkpoint();
    setDirRoot(mem, COMP);
    await expect(installBatch({ fs: mem, mapFile: MAP, componentsDir: COMP }, [{ request: answered('A', 'a.txt'), content: 'A\n' }])).rejects.toBeInstanceOf(
      DirUnavailableError,
    );
    expect(mem.exists(COMP)).toBe(false);
    expect(JSON.parse(mem.read(MAP) as string)).toEqual(BASE);
  });

  it('a batch fsyncs each components directory once, after every component of it is published and before the map is written', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify });
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [
      { request: answered('A', 'a.txt'), content: 'A\n' },
      { request: answered('B', 'b.txt'), content: 'B\n' },
    ]);
    expect(out.map((o) => o.result)).toEqual(['installed', 'installed']);
    const compSyncs = fs.steps.flatMap((s, i) => (s.startsWith('fsyncdir:component#') ? [i] : []));
    expect(compSyncs).toHaveLength(1);
    expect(compSyncs[0]).toBeGreaterThan(fs.steps.lastIndexOf('link:component#2'));
    expect(compSyncs[0]).toBeLessThan(fs.steps.indexOf('open:map#1'));
  });

  it('a staged output is published as a hard link to the staged file: no second write of the content', async () => {
    const mem = lib();
    const staged = `${STATE}/staged/a.txt`;
    mem.writeFile(staged, 'A\n');
    mem.checkpoint();
    const fs = faultFs(mem, { classify });
    const a = answered('A', 'a.txt');
    await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: a, content: 'A\n', stagedPath: staged }]);
    const path = `${COMP}/personas/${a.generatedName}`;
    expect((await mem.lstat(path)).identity).toBe((await mem.lstat(staged)).identity);
    expect(fs.steps.filter((s) => s.startsWith('write:component'))).toEqual([]);
  });

  it("the map-state hooks hear of jitd's own writes: a component before it is published and before it is taken back, the map bytes before they are written", async () => {
    const mem = lib();
    const a = answered('A', 'a.txt');
    const b = answered('B', 'b.txt');
    const personsMap = { ...BASE, B: { persona: 'their_choice.txt' } };
    const fs = faultFs(mem, { classify, hooks: { 'after:fsyncdir:component#1': () => mem.writeFile(MAP, text(personsMap)) } });
    const heard: unknown[] = [];
    const onComponentWrite = (dir: string, name: string, present: boolean) => heard.push([dir, name, present, mem.exists(`${COMP}/${dir}/${name}`)]);
    const onMapWrite = (bytes: Buffer, parsed: { json: unknown }, base: Buffer) =>
      heard.push(['map', JSON.parse(bytes.toString()), parsed.json, base.toString()]);
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP, onComponentWrite, onMapWrite }, [
      { request: a, content: 'A\n' },
      { request: b, content: 'B\n' },
    ]);
    expect(out.map((o) => o.result)).toEqual(['installed', 'entry-gone']);
    const written = { ...personsMap, A: { persona: a.generatedName } };
    expect(heard).toEqual([
      ['personas', a.generatedName, true, false],
      ['personas', b.generatedName, true, false],
      ['map', written, written, text(personsMap)],
      ['personas', b.generatedName, false, true],
    ]);
  });

  for (const [code, fails] of [
    ['ENOENT', false],
    ['EIO', true],
  ] as const) {
    it(`taking back a published file: ${fails ? `${code} surfaces` : `${code} (already gone) is tolerated`}`, async () => {
      const mem = lib();
      const a = answered('A', 'a.txt');
      const personsMap = { ...BASE, A: { persona: 'their_choice.txt' } };
      const fs = faultFs(mem, {
        classify,
        hooks: { 'after:fsyncdir:component#1': () => mem.writeFile(MAP, text(personsMap)) },
        // unlink:component#1 removes the temp's name after the link; #2 takes the file back.
        faults: [{ at: 'unlink:component#2', fault: { error: code } }],
      });
      const run = installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: a, content: 'A\n' }]);
      if (fails) await expect(run).rejects.toMatchObject({ code });
      else expect(await run).toEqual([{ id: a.id, result: 'entry-gone' }]);
      expect(fs.steps).toContain('unlink:component#2');
    });
  }

  it('a batch with nothing to publish reads the map once and goes no further', async () => {
    const mem = lib();
    mem.writeFile(`${COMP}/personas/a.txt`, 'by hand\n');
    mem.checkpoint();
    const fs = faultFs(mem, { classify });
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: answered('A', 'a.txt'), content: 'A\n' }]);
    expect(out.map((o) => o.result)).toEqual(['resolved-by-person']);
    expect(fs.steps.filter((s) => s.includes(':map#'))).toEqual(['lstat:map#1', 'read:map#1']);
  });
});

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and answers in input order', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6, 7, 8, 9], 4, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n));
      inFlight--;
      return n * 10;
    });
    expect(most).toBe(4);
    expect(out).toEqual([50, 10, 40, 20, 30, 0, 60, 70, 80, 90]);
  });
});
