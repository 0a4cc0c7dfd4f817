/**
 * The request store (contract §3, invariant 3): one record per gap under a deterministic id, an
 * answer durable before it is acknowledged, in-flight states never on disk, and a record that
 * cannot be read quarantined and reported — never silently dropped.
 */
import { describe, expect, it } from 'vitest';
import { RequestStore } from '../../src/requests/request-store.js';
import { newRequest, requestId, type Request } from '../../src/requests/request.js';
import { MemFs } from '../support/mem-fs.js';

const STATE = '/lib/.jitd';
const DIR = `${STATE}/requests`;

function fresh(): MemFs {
  const fs = new MemFs();
  fs.mkdirpSync(DIR);
  fs.checkpoint();
  return fs;
}

describe('request ids', () => {
  it('are deterministic per (goal, type, filename) and distinct otherwise', () => {
    expect(requestId('G', 'protocol', 'a.txt')).toBe(requestId('G', 'protocol', 'a.txt'));
    expect(requestId('G', 'protocol', 'a.txt')).toMatch(/^[0-9a-f]{12}$/);
    const ids = new Set([
      requestId('G', 'protocol', 'a.txt'),
      requestId('G', 'persona', 'a.txt'),
      requestId('G', 'protocol', 'b.txt'),
      requestId('H', 'protocol', 'a.txt'),
      requestId('G p', 'rotocol', 'a.txt'),
    ]);
    expect(ids.size).toBe(5);
    expect(newRequest('G', 'protocol', 'a.txt').id).toBe(requestId('G', 'protocol', 'a.txt'));
  });
});

describe('RequestStore', () => {
  it('saves and loads records, one file per id', async () => {
    const fs = fresh();
    const store = new RequestStore(fs, STATE);
    await store.load();
    const r = newRequest('G', 'protocol', 'a.txt');
    await store.save(r, { durable: false });
    expect(fs.exists(`${DIR}/${r.id}.json`)).toBe(true);
    const again = new RequestStore(fs, STATE);
    expect(await again.load()).toEqual({ loaded: 1, quarantined: [] });
    expect(again.get(r.id)).toMatchObject({ goal: 'G', type: 'protocol', filename: 'a.txt', state: 'waiting' });
  });

  it('a durable save (an answer) fsyncs the directory before returning; a re-derivable one does not', async () => {
    const fs = fresh();
    const store = new RequestStore(fs, STATE);
    await store.load(); // makes the requests directory durable (one directory fsync of its own)
    const afterLoad = fs.log.length;
    const r = newRequest('G', 'protocol', 'a.txt');
    await store.save(r, { durable: false });
    expect(fs.log.slice(afterLoad).some((o) => o.t === 'syncdir')).toBe(false);
    await store.save({ ...r, state: 'answered', description: 'd' }, { durable: true });
    expect(fs.log.at(-1)).toMatchObject({ t: 'syncdir', path: DIR });
    for (const image of fs.crashStates(1, 30)) {
      const s = new RequestStore(image, STATE);
      await s.load();
      expect(s.get(r.id)).toMatchObject({ state: 'answered', description: 'd' });
    }
  });

  it('never writes the in-flight states generating/installing: on disk such a request is answered', async () => {
    const fs = fresh();
    const store = new RequestStore(fs, STATE);
    await store.load();
    const r: Request = { ...newRequest('G', 'protocol', 'a.txt'), state: 'answered', description: 'd' };
    await store.save({ ...r, state: 'generating' }, { durable: false });
    expect(store.get(r.id)?.state).toBe('generating');
    expect(JSON.parse(fs.read(`${DIR}/${r.id}.json`) as string).state).toBe('answered');
    store.setTransient(r.id, 'installing');
    expect(store.get(r.id)?.state).toBe('installing');
  });

  it('normalises an old in-flight state found on disk to answered', async () => {
    const fs = fresh();
    const r: Request = { ...newRequest('G', 'protocol', 'a.txt'), state: 'installing', description: 'd' };
    fs.writeFile(`${DIR}/${r.id}.json`, JSON.stringify(r));
    const store = new RequestStore(fs, STATE);
    await store.load();
    expect(store.get(r.id)?.state).toBe('answered');
  });

  it.each([
    ['torn JSON', (r: Request) => JSON.stringify(r).slice(0, 20)],
    ['garbage bytes', () => '\u0000\u00ff\u0013garbage'],
    ['a schema violation', (r: Request) => JSON.stringify({ ...r, state: 'bogus' })],
    ["a record under another id's name", (r: Request) => JSON.stringify({ ...r, id: 'aaaaaaaaaaaa' })],
  ])('quarantines a record that is %s, reports it, and loads the others', async (_what, make) => {
    const fs = fresh();
    const good = newRequest('G', 'protocol', 'good.txt');
    const bad = newRequest('G', 'protocol', 'bad.txt');
    fs.writeFile(`${DIR}/${good.id}.json`, JSON.stringify(good));
    fs.writeFile(`${DIR}/${bad.id}.json`, make(bad));
    const store = new RequestStore(fs, STATE);
    const report = await store.load();
    expect(report).toEqual({ loaded: 1, quarantined: [`${DIR}/${bad.id}.json`] });
    expect(store.get(good.id)).toBeDefined();
    expect(fs.exists(`${DIR}/${bad.id}.json`)).toBe(false);
    const kept = fs.walk(`${STATE}/quarantine/requests`);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(new RegExp(`/${bad.id}\\.json\\.\\d+$`));
    expect(fs.read(kept[0] as string)).toBe(make(bad));
  });

  it('ignores temp files and other names in the requests directory', async () => {
    const fs = fresh();
    fs.writeFile(`${DIR}/.jitd-tmp.abc.json.0123456789ab`, '{"half":');
    fs.writeFile(`${DIR}/README`, 'not a record');
    const report = await new RequestStore(fs, STATE).load();
    expect(report).toEqual({ loaded: 0, quarantined: [] });
    expect(fs.exists(`${DIR}/README`)).toBe(true);
  });

  it('resolves an id by a unique prefix of 4+ characters and reports an ambiguous one', async () => {
    const fs = fresh();
    for (const id of ['abcd00000001', 'abcd00000002', 'abce00000003']) {
      fs.writeFile(`${DIR}/${id}.json`, JSON.stringify({ ...newRequest('G', 'protocol', `${id}.txt`), id }));
    }
    const store = new RequestStore(fs, STATE);
    expect((await store.load()).loaded).toBe(3);
    expect(store.resolve('abcd00000001')).toMatchObject({ id: 'abcd00000001' });
    expect(store.resolve('abce')).toMatchObject({ id: 'abce00000003' });
    expect(store.resolve('abcd')).toBe('ambiguous');
    expect(store.resolve('abcd0000000')).toBe('ambiguous');
    expect(store.resolve('abcd000000012')).toBeUndefined();
    expect(store.resolve('abc')).toBeUndefined();
    expect(store.resolve('ffff')).toBeUndefined();
  });

  it('removes a record', async () => {
    const fs = fresh();
    const store = new RequestStore(fs, STATE);
    await store.load();
    const r = newRequest('G', 'protocol', 'a.txt');
    await store.save(r, { durable: false });
    await store.remove(r.id);
    await store.remove(r.id);
    expect(store.get(r.id)).toBeUndefined();
    expect(fs.exists(`${DIR}/${r.id}.json`)).toBe(false);
  });
});
