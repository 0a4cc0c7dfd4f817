/**
 * The guards of the durable put that only a deterministic interleaving shows (contract §5): a
 * person's save that lands between the identity check and the publish, and a failure after a
 * guarded replace whose replaced version could not be held open. Mutation testing (docs/
 * mutation-testing.md) found no other test failing without them.
 */
import { describe, expect, it } from 'vitest';
import { durablePut } from '../../src/fsio/durable-put.js';
import { DiskWriteError, FsyncFailedError, TargetChangedError } from '../../src/fsio/errors.js';
import type { FsLayer } from '../../src/fsio/fs-layer.js';
import { faultFs } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const classify = (p: string) => (p.includes('goal_map.json') || p === '/lib/config' ? 'map' : 'other');

function lib(): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, 'jitd read this\n');
  fs.checkpoint();
  return fs;
}

describe('durablePut, guarded replace', () => {
  it("a person's save between the identity check and the publish is kept: TargetChangedError, nothing published, no temp", async () => {
    const mem = lib();
    const identity = (await mem.lstat(MAP)).identity;
    const fs = faultFs(mem, { classify, hooks: { 'before:rename:map#1': () => mem.writeFile(MAP, "the person's save\n") } });
    await expect(durablePut(fs, MAP, 'jitd wrote this\n', { mode: 'replace', beforePublish: async () => identity })).rejects.toBeInstanceOf(TargetChangedError);
    expect(mem.read(MAP)).toBe("the person's save\n");
    expect(mem.walk('/lib/config')).toEqual([MAP]);
  });

  it('publishes over the version it checked, and answers that version held open', async () => {
    const mem = lib();
    const identity = (await mem.lstat(MAP)).identity;
    const replaced = await durablePut(mem, MAP, 'jitd wrote this\n', { mode: 'replace', beforePublish: async () => identity });
    expect(mem.read(MAP)).toBe('jitd wrote this\n');
    expect((await replaced?.kept?.read())?.toString()).toBe('jitd read this\n');
    await replaced?.kept?.close();
  });

  it('a failed directory fsync after a guarded replace whose old version could not be kept open is still FsyncFailedError', async () => {
    const mem = lib();
    const identity = (await mem.lstat(MAP)).identity;
    const fs: FsLayer = new Proxy(mem, {
      get(target, prop, receiver) {
        if (prop === 'renameIfUnchanged')
          return async (from: string, to: string, id: string) => {
            const r = await target.renameIfUnchanged(from, to, id);
            await r.kept?.close();
            return { published: r.published, kept: undefined };
          };
        if (prop === 'syncDir') return async () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    await expect(durablePut(fs, MAP, 'jitd wrote this\n', { mode: 'replace', beforePublish: async () => identity })).rejects.toBeInstanceOf(FsyncFailedError);
  });

  it('a write that makes no progress says so in its DiskWriteError', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, faults: [{ at: 'write:map#1', fault: { zero: true } }] });
    const err = await durablePut(fs, MAP, 'x\n', { mode: 'replace' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskWriteError);
    expect((err as Error).message).toMatch(/ENOSPC.*no progress/);
  });
});

describe('durablePut, modes and the deferred directory fsync', () => {
  it('exactMode sets exactly those bits on the new file, whatever fileMode says', async () => {
    const mem = lib();
    await durablePut(mem, MAP, 'x\n', { mode: 'replace', fileMode: 0o644, exactMode: 0o660 });
    expect((await mem.lstat(MAP)).mode).toBe(0o660);
  });

  it('with deferDirSync the directory is not fsynced (the caller batches it); without it, it is', async () => {
    const deferred = faultFs(lib(), { classify });
    await durablePut(deferred, MAP, 'x\n', { mode: 'replace', deferDirSync: true });
    expect(deferred.steps.filter((s) => s.startsWith('fsyncdir:'))).toEqual([]);
    const synced = faultFs(lib(), { classify });
    await durablePut(synced, MAP, 'x\n', { mode: 'replace' });
    expect(synced.steps.filter((s) => s.startsWith('fsyncdir:'))).toEqual(['fsyncdir:map#1']);
  });
});
