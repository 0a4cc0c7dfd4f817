/**
 * Installing generated components (invariants 1 and 4): the component is durable before the map
 * names it; a person who wrote the file, or changed the entry, meanwhile wins.
 */
import { describe, expect, it } from 'vitest';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { installBatch } from '../../src/install/install-batch.js';
import { newRequest, type Request } from '../../src/requests/request.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const COMP = '/lib/components';
const STATE = '/lib/.jitd';
const classify = libraryClassifier({ mapFile: MAP, componentsDir: COMP, stateDir: STATE });
const BASE = { A: { persona: 'a.txt' }, B: { persona: 'b.txt' }, KEEP: { protocol: 'keep.txt' } };

function lib(): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, `${JSON.stringify(BASE, null, 2)}\n`);
  fs.writeFile(`${COMP}/protocols/keep.txt`, 'k\n');
  fs.mkdirpSync(`${STATE}/requests`);
  fs.checkpoint();
  return fs;
}
const answered = (goal: string, file: string): Request => ({ ...newRequest(goal, 'persona', file), state: 'answered', description: `d ${goal}` });

describe('installBatch', () => {
  it('publishes each component durably (its directory fsynced) before the one map write that repoints them all', async () => {
    const fs = lib();
    const a = answered('A', 'a.txt');
    const b = answered('B', 'b.txt');
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [
      { request: a, content: 'A\n' },
      { request: b, content: 'B\n' },
    ]);
    expect(out.map((o) => o.result)).toEqual(['installed', 'installed']);
    const firstMapOp = fs.log.findIndex((o) => o.path.startsWith('/lib/config/'));
    const lastPersonaSync = fs.log.map((o) => o.t === 'syncdir' && o.path === `${COMP}/personas`).lastIndexOf(true);
    const lastLink = fs.log.map((o) => o.t === 'link').lastIndexOf(true);
    expect(lastPersonaSync).toBeGreaterThan(lastLink);
    expect(firstMapOp).toBeGreaterThan(lastPersonaSync);
    expect(fs.log.filter((o) => o.t === 'exchange' && o.path === MAP)).toHaveLength(1);
    expect(JSON.parse(fs.read(MAP) as string)).toEqual({ A: { persona: a.generatedName }, B: { persona: b.generatedName }, KEEP: { protocol: 'keep.txt' } });
    expect(fs.read(`${COMP}/personas/${a.generatedName}`)).toBe('A\n');
  });

  it('a file the person wrote meanwhile resolves the request without installing anything', async () => {
    const fs = lib();
    fs.writeFile(`${COMP}/personas/a.txt`, 'mine\n');
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: answered('A', 'a.txt'), content: 'A\n' }]);
    expect(out[0]?.result).toBe('resolved-by-person');
    expect(JSON.parse(fs.read(MAP) as string)).toEqual(BASE);
    expect(fs.walk(`${COMP}/personas`)).toEqual([`${COMP}/personas/a.txt`]);
  });

  it('an entry the person changed before the install is left alone (entry-gone), nothing published', async () => {
    const fs = lib();
    fs.writeFile(MAP, `${JSON.stringify({ ...BASE, A: { persona: 'other.txt' } }, null, 2)}\n`);
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: answered('A', 'a.txt'), content: 'A\n' }]);
    expect(out[0]?.result).toBe('entry-gone');
    expect(fs.walk(`${COMP}`)).toEqual([`${COMP}/protocols/keep.txt`]);
  });

  it('an entry the person changes while the component is being published wins, and the published file is taken back (no orphan)', async () => {
    const mem = lib();
    const personsMap = { ...BASE, A: { persona: 'their_choice.txt' } };
    const fs = faultFs(mem, { classify, hooks: { 'after:fsyncdir:component#1': () => mem.writeFile(MAP, `${JSON.stringify(personsMap, null, 2)}\n`) } });
    const a = answered('A', 'a.txt');
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: a, content: 'A\n' }]);
    expect(out[0]?.result).toBe('entry-gone');
    expect(JSON.parse(mem.read(MAP) as string)).toEqual(personsMap);
    expect(mem.exists(`${COMP}/personas/${a.generatedName}`)).toBe(false);
  });

  it('adopts a generated file already in place (an earlier crashed attempt) instead of clobbering it', async () => {
    const fs = lib();
    const a = answered('A', 'a.txt');
    fs.writeFile(`${COMP}/personas/${a.generatedName}`, 'from the earlier attempt\n');
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [{ request: a, content: 'A\n' }]);
    expect(out[0]).toMatchObject({ result: 'installed', adoptedExisting: true });
    expect(fs.read(`${COMP}/personas/${a.generatedName}`)).toBe('from the earlier attempt\n');
    expect(JSON.parse(fs.read(MAP) as string).A.persona).toBe(a.generatedName);
  });

  it('a disk error publishing one component fails only that one; the map is not pointed at it', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, faults: [{ at: 'write:component#1', fault: { error: 'ENOSPC' } }] });
    const a = answered('A', 'a.txt');
    const b = answered('B', 'b.txt');
    const out = await installBatch({ fs, mapFile: MAP, componentsDir: COMP }, [
      { request: a, content: 'A\n' },
      { request: b, content: 'B\n' },
    ]);
    expect(out.map((o) => o.result).sort()).toEqual(['error', 'installed']);
    const map = JSON.parse(mem.read(MAP) as string);
    expect(map.A.persona).toBe('a.txt');
    expect(map.B.persona).toBe(b.generatedName);
    expect(mem.walk(`${COMP}/personas`)).toEqual([`${COMP}/personas/${b.generatedName}`]);
  });
});
