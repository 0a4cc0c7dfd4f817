/**
 * The request store's guards (invariant 3, an answer is never lost): what load skips, quarantines
 * (durably) or refuses, in-flight states kept off the disk on every path, and a `requests/`
 * removed while jitd runs made again with every record. Found by mutation testing
 * (docs/mutation-testing.md).
 */
import { describe, expect, it } from 'vitest';
import { RequestStore } from '../../src/requests/request-store.js';
import { newRequest, type Request } from '../../src/requests/request.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const STATE = '/lib/.jitd';
const DIR = `${STATE}/requests`;
const classify = libraryClassifier({ mapFile: '/lib/config/goal_map.json', componentsDir: '/lib/components', stateDir: STATE });
const rec = (goal: string, patch: Partial<Request> = {}): Request => ({ ...newRequest(goal, 'persona', 'p.txt'), ...patch });
const put = (mem: MemFs, r: Request) => mem.writeFile(`${DIR}/${r.id}.json`, `${JSON.stringify(r)}\n`);
const onDisk = (mem: MemFs, r: Request) => JSON.parse(mem.read(`${DIR}/${r.id}.json`) as string) as Request;

describe('RequestStore.load', () => {
  it('quarantines a torn record and one under another id, then fsyncs both directories; skips directories and temps', async () => {
    const mem = new MemFs();
    const good = rec('A');
    put(mem, good);
    mem.writeFile(`${DIR}/0123456789ab.json`, '{"v": 1, ');
    mem.writeFile(`${DIR}/aaaaaaaaaaaa.json`, `${JSON.stringify(rec('B'))}\n`);
    mem.mkdirpSync(`${DIR}/bbbbbbbbbbbb.json`);
    mem.writeFile(`${DIR}/.jitd-tmp.x.json`, 'half');
    mem.checkpoint();
    const fs = faultFs(mem, { classify });
    const report = await new RequestStore(fs, STATE).load();
    expect(report.loaded).toBe(1);
    expect([...report.quarantined].sort()).toEqual([`${DIR}/0123456789ab.json`, `${DIR}/aaaaaaaaaaaa.json`]);
    const lastRename = fs.steps.map((s) => s.startsWith('rename:')).lastIndexOf(true);
    const syncs = fs.steps.flatMap((s, i) => (i > lastRename && s.startsWith('fsyncdir:') ? [s.split('#')[0]] : []));
    expect(syncs).toEqual(['fsyncdir:request', 'fsyncdir:quarantine']);
    expect(mem.exists(`${DIR}/bbbbbbbbbbbb.json`)).toBe(true);
  });

  it('a clean load quarantines nothing and fsyncs nothing after reading', async () => {
    const mem = new MemFs();
    put(mem, rec('A'));
    mem.checkpoint();
    const fs = faultFs(mem, { classify });
    await new RequestStore(fs, STATE).load();
    const firstRead = fs.steps.findIndex((s) => s.startsWith('read:'));
    expect(fs.steps.slice(firstRead).filter((s) => s.startsWith('fsyncdir:'))).toEqual([]);
  });

  it('a record that vanished between the listing and the read is skipped; any other read error surfaces', async () => {
    for (const [code, fails] of [
      ['ENOENT', false],
      ['EIO', true],
    ] as const) {
      const mem = new MemFs();
      put(mem, rec('A'));
      const fs = faultFs(mem, { classify, faults: [{ at: 'read:request#1', fault: { error: code } }] });
      const load = new RequestStore(fs, STATE).load();
      if (fails) await expect(load).rejects.toMatchObject({ code });
      else expect(await load).toEqual({ loaded: 0, quarantined: [] });
    }
  });

  it('an in-flight state found on disk (an older jitd) is loaded as answered', async () => {
    for (const state of ['generating', 'installing'] as const) {
      const mem = new MemFs();
      const r = rec('A', { state, description: 'd' });
      put(mem, r);
      const store = new RequestStore(mem, STATE);
      await store.load();
      expect(store.get(r.id)?.state).toBe('answered');
    }
  });
});

describe('RequestStore: in-flight states and a removed directory', () => {
  it('a save of a generating or installing request writes it as answered and keeps the state in memory', async () => {
    for (const state of ['generating', 'installing'] as const) {
      const mem = new MemFs();
      const store = new RequestStore(mem, STATE);
      await store.load();
      const r = rec('A', { state, description: 'd' });
      await store.save(r, { durable: true });
      expect(onDisk(mem, r).state).toBe('answered');
      expect(store.get(r.id)?.state).toBe(state);
    }
  });

  it('setTransient changes only the memory, and only of a known record', async () => {
    const mem = new MemFs();
    const store = new RequestStore(mem, STATE);
    await store.load();
    const r = rec('A', { state: 'answered', description: 'd' });
    await store.save(r, { durable: true });
    store.setTransient(r.id, 'generating');
    expect(store.get(r.id)?.state).toBe('generating');
    store.setTransient(r.id, 'installing');
    expect(store.get(r.id)?.state).toBe('installing');
    store.setTransient('ffffffffffff', 'generating');
    expect(store.get('ffffffffffff')).toBeUndefined();
    expect(onDisk(mem, r).state).toBe('answered');
  });

  it('requests/ removed while jitd runs: the next save makes it again with every record, in-flight ones as answered', async () => {
    const mem = new MemFs();
    const store = new RequestStore(mem, STATE);
    await store.load();
    const a = rec('A', { state: 'answered', description: 'a' });
    const b = rec('B', { state: 'answered', description: 'b' });
    await store.save(a, { durable: true });
    await store.save(b, { durable: true });
    store.setTransient(b.id, 'installing');
    await mem.rename(DIR, `${STATE}/requests-moved-away`);
    const c = rec('C');
    await store.save(c, { durable: false });
    expect([onDisk(mem, a).description, onDisk(mem, b).state, onDisk(mem, c).state]).toEqual(['a', 'answered', 'waiting']);
  });

  it('restoreDir makes a removed requests/ again with every record (in-flight ones as answered), and does nothing when it is there', async () => {
    const mem = new MemFs();
    const store = new RequestStore(mem, STATE);
    await store.load();
    const a = rec('A', { state: 'answered', description: 'a' });
    const b = rec('B');
    await store.save(a, { durable: true });
    await store.save(b, { durable: true });
    store.setTransient(a.id, 'generating');
    expect(await store.restoreDir()).toEqual([]);
    await mem.rename(DIR, `${STATE}/requests-moved-away`);
    expect(await store.restoreDir()).toEqual([DIR]);
    expect([onDisk(mem, a).state, onDisk(mem, a).description, onDisk(mem, b).state]).toEqual(['answered', 'a', 'waiting']);
    // Written back as private as they were, no temp left beside them, and the store still lists both.
    expect((await mem.readdir(DIR)).map((e) => e.name).sort()).toEqual([`${a.id}.json`, `${b.id}.json`].sort());
    for (const r of [a, b]) expect((await mem.lstat(`${DIR}/${r.id}.json`)).mode & 0o777).toBe(0o600);
    expect(
      store
        .all()
        .map((r) => r.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
  });

  it('remove tolerates a record already gone, and surfaces any other error', async () => {
    const mem = new MemFs();
    const store = new RequestStore(mem, STATE);
    await store.load();
    await expect(store.remove('ffffffffffff')).resolves.toBeUndefined();
    const r = rec('A');
    await store.save(r, { durable: true });
    const fs = faultFs(mem, { classify, faults: [{ at: 'unlink:request#1', fault: { error: 'EIO' } }] });
    const faulty = new RequestStore(fs, STATE);
    await faulty.load();
    await expect(faulty.remove(r.id)).rejects.toMatchObject({ code: 'EIO' });
    expect(faulty.get(r.id)).toBeDefined();
  });
});
