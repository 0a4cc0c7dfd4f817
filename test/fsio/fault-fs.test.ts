/**
 * The fault-injection layer itself: step names, counting, crash points, faults, hooks, the
 * environment interface and the trace file.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durablePut } from '../../src/fsio/durable-put.js';
import { faultFs, faultFsFromEnv, libraryClassifier, parseFaultRules, SimulatedCrash } from '../support/fault-fs.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { MemFs } from '../support/mem-fs.js';

const paths = { mapFile: '/lib/config/goal_map.json', componentsDir: '/lib/components', stateDir: '/lib/.jitd' };
const classify = libraryClassifier(paths);

/** The error, or one of its causes, is the simulated crash (durablePut wraps rename errors). */
function crashIn(err: unknown): boolean {
  for (let e = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof SimulatedCrash) return true;
  return false;
}

function lib(): MemFs {
  const fs = new MemFs();
  fs.writeFile(paths.mapFile, '{}\n');
  fs.mkdirpSync('/lib/components/protocols');
  fs.mkdirpSync('/lib/.jitd/requests');
  fs.checkpoint();
  return fs;
}

describe('libraryClassifier', () => {
  it('names the roles of library paths, temps by the file they stand in for and directories by their content', () => {
    expect(classify('/lib/config/goal_map.json')).toBe('map');
    expect(classify('/lib/config/.jitd-tmp.goal_map.json.0a1b2c3d4e5f')).toBe('map');
    expect(classify('/lib/config')).toBe('map');
    expect(classify('/lib/config/goal_map.json.tmp')).toBe('seed-temp');
    expect(classify('/lib/components')).toBe('components-root');
    expect(classify('/lib/components/protocols')).toBe('component');
    expect(classify('/lib/components/protocols/.jitd-tmp.autogen_protocol_for_a_very_long_goal_na.0a1b2c3d4e5f')).toBe('component');
    expect(classify('/lib/.jitd/requests/abc.json')).toBe('request');
    expect(classify('/lib/.jitd/requests/.jitd-tmp.abc.json.0a1b2c3d4e5f')).toBe('request');
    expect(classify('/lib/.jitd/quarantine/components/x.txt')).toBe('quarantine');
    expect(classify('/lib/.jitd')).toBe('state');
    expect(classify('/etc/passwd')).toBe('other');
  });
});

describe('faultFs', () => {
  it('names every operation <op>:<role>#<n>, counting each op:role separately', async () => {
    const fs = faultFs(lib(), { classify });
    await durablePut(fs, paths.mapFile, '{"a":{}}\n', { mode: 'replace' });
    await durablePut(fs, '/lib/.jitd/requests/abc.json', '{}\n', { mode: 'replace' });
    await durablePut(fs, paths.mapFile, '{"b":{}}\n', { mode: 'replace' });
    expect(fs.steps).toEqual([
      'open:map#1',
      'write:map#1',
      'fsync:map#1',
      'close:map#1',
      'rename:map#1',
      'fsyncdir:map#1',
      'open:request#1',
      'write:request#1',
      'fsync:request#1',
      'close:request#1',
      'rename:request#1',
      'fsyncdir:request#1',
      'open:map#2',
      'write:map#2',
      'fsync:map#2',
      'close:map#2',
      'rename:map#2',
      'fsyncdir:map#2',
    ]);
  });

  it('crashes before a step without doing it, and is dead afterwards', async () => {
    const mem = lib();
    const points: string[] = [];
    const fs = faultFs(mem, { classify, crashAt: 'before:rename:map#1', onCrash: (p) => points.push(p) });
    const err = await durablePut(fs, paths.mapFile, '{"a":{}}\n', { mode: 'replace' }).catch((e: unknown) => e);
    expect(crashIn(err)).toBe(true);
    expect(points).toEqual(['before:rename:map#1']);
    expect(fs.crashed).toBe(true);
    expect(mem.read(paths.mapFile)).toBe('{}\n');
    await expect(fs.readFile(paths.mapFile)).rejects.toBeInstanceOf(SimulatedCrash);
    // the cleanup durablePut attempted after the crash did not reach the disk: the temp is still there
    expect(mem.walk('/lib/config').some((p) => p.includes('.jitd-tmp.'))).toBe(true);
  });

  it('crashes after a step once it is done', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, crashAt: ['after:rename:map#1'] });
    expect(crashIn(await durablePut(fs, paths.mapFile, '{"a":{}}\n', { mode: 'replace' }).catch((e: unknown) => e))).toBe(true);
    expect(mem.read(paths.mapFile)).toBe('{"a":{}}\n');
    expect(mem.log.some((op) => op.t === 'syncdir')).toBe(false);
  });

  it('injects an errno fault at one occurrence only, or at every occurrence', async () => {
    const one = faultFs(lib(), { classify, faults: [{ at: 'rename:map#2', fault: { error: 'EIO' } }] });
    await durablePut(one, paths.mapFile, '{"a":{}}\n', { mode: 'replace' });
    await expect(durablePut(one, paths.mapFile, '{"b":{}}\n', { mode: 'replace' })).rejects.toMatchObject({ code: 'EDISK' });
    const every = faultFs(lib(), { classify, faults: [{ at: 'open:request', fault: { error: 'ENOSPC' } }] });
    for (let i = 0; i < 2; i++)
      await expect(durablePut(every, '/lib/.jitd/requests/a.json', '{}', { mode: 'replace' })).rejects.toMatchObject({ errno: 'ENOSPC' });
  });

  it('runs hooks before and after a step', async () => {
    const seen: string[] = [];
    const fs = faultFs(lib(), {
      classify,
      hooks: { 'before:fsync:map#1': () => seen.push('before'), 'after:fsync:map#1': async () => void seen.push('after') },
    });
    await durablePut(fs, paths.mapFile, '{}', { mode: 'replace' });
    expect(seen).toEqual(['before', 'after']);
  });

  it('parses JITD_TEST_FAULT rules and rejects nonsense', () => {
    expect(parseFaultRules('write:map#1=ENOSPC, fsync:component=EIO,write:request#2=short:10,write:map=zero')).toEqual([
      { at: 'write:map#1', fault: { error: 'ENOSPC' } },
      { at: 'fsync:component', fault: { error: 'EIO' } },
      { at: 'write:request#2', fault: { short: 10 } },
      { at: 'write:map', fault: { zero: true } },
    ]);
    expect(() => parseFaultRules('write:map#1')).toThrow(/expected/);
    expect(() => parseFaultRules('write:map#1=bogus')).toThrow(/unknown fault/);
  });
});

describe('faultFsFromEnv', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jitd-fault-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the inner layer itself when no test variable is set', () => {
    expect(faultFsFromEnv(nodeFs, {})).toBe(nodeFs);
  });

  it('rejects a malformed crash point', () => {
    expect(() => faultFsFromEnv(nodeFs, { JITD_TEST_CRASH_AT: 'fsync:map' })).toThrow(/JITD_TEST_CRASH_AT/);
  });

  it('appends every step name to the JITD_TEST_TRACE file', async () => {
    const trace = join(dir, 'trace');
    const fs = faultFsFromEnv(nodeFs, { JITD_TEST_TRACE: trace }, { classify: (p) => (p.includes('m.json') ? 'map' : 'other') });
    await durablePut(fs, join(dir, 'm.json'), '{}', { mode: 'replace' });
    expect((await readFile(trace, 'utf8')).split('\n').filter(Boolean)).toEqual([
      'open:map#1',
      'write:map#1',
      'fsync:map#1',
      'close:map#1',
      'rename:map#1',
      'fsyncdir:other#1',
    ]);
  });

  it('injects the faults of JITD_TEST_FAULT', async () => {
    const fs = faultFsFromEnv(nodeFs, { JITD_TEST_FAULT: 'write:map#1=EIO' }, { classify: () => 'map' });
    await expect(durablePut(fs, join(dir, 'f.json'), '{}', { mode: 'replace' })).rejects.toMatchObject({ errno: 'EIO' });
  });
});
