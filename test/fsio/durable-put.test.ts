/**
 * Durable put under disk faults (invariant 5): short writes are completed, a write that makes no
 * progress is ENOSPC, EIO is a clean error, a failed fsync is FsyncFailedError, a create never
 * clobbers — and in every failure the target is untouched and no temp file is left.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { durablePut } from '../../src/fsio/durable-put.js';
import { DiskWriteError, FsyncFailedError, TargetExistsError } from '../../src/fsio/errors.js';
import { faultFs, type FaultRule } from '../support/fault-fs.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { isJitdTemp, liveTemps } from '../../src/fsio/temp-files.js';

let dir: string;
let target: string;
const OLD = '{"old": true}\n';
const NEW = `${JSON.stringify({ big: 'x'.repeat(10_000) })}\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jitd-put-'));
  target = join(dir, 'goal_map.json');
  await writeFile(target, OLD);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const classify = (p: string) => (p.endsWith('goal_map.json') || p.includes('goal_map.json') ? 'map' : p === dir ? 'map' : 'other');
const withFaults = (faults: FaultRule[]) => faultFs(nodeFs, { classify, faults });
const temps = async () => (await readdir(dir)).filter(isJitdTemp);

async function expectUntouched(): Promise<void> {
  expect(await readFile(target, 'utf8')).toBe(OLD);
  expect(await temps()).toEqual([]);
  expect(liveTemps.size).toBe(0);
}

describe('durablePut', () => {
  it('replaces the target with the complete content, leaving no temp file', async () => {
    await durablePut(nodeFs, target, NEW, { mode: 'replace' });
    expect(await readFile(target, 'utf8')).toBe(NEW);
    expect(await temps()).toEqual([]);
  });

  it('follows the protocol: temp create, write, fsync, rename, directory fsync — in that order', async () => {
    const fs = faultFs(nodeFs, { classify });
    await durablePut(fs, target, NEW, { mode: 'replace' });
    expect(fs.steps.filter((s) => !s.startsWith('close'))).toEqual(['open:map#1', 'write:map#1', 'fsync:map#1', 'rename:map#1', 'fsyncdir:map#1']);
  });

  it('creates the file with the requested permission bits', async () => {
    const p = join(dir, 'req.json');
    await durablePut(nodeFs, p, '{}', { mode: 'create', fileMode: 0o600 });
    expect((await stat(p)).mode & 0o777).toBe(0o600);
  });

  it('completes short writes by looping until every byte is written', async () => {
    const fs = withFaults([{ at: 'write:map', fault: { short: 1000 } }]);
    await durablePut(fs, target, NEW, { mode: 'replace' });
    expect(await readFile(target, 'utf8')).toBe(NEW);
    expect(fs.steps.filter((s) => s.startsWith('write:')).length).toBe(Math.ceil(Buffer.byteLength(NEW) / 1000));
  });

  it('fails with an ENOSPC DiskWriteError when a write makes no progress, leaving the target and no temp', async () => {
    const fs = withFaults([
      { at: 'write:map#3', fault: { zero: true } },
      { at: 'write:map', fault: { short: 100 } },
    ]);
    const err = await durablePut(fs, target, NEW, { mode: 'replace' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskWriteError);
    expect((err as DiskWriteError).errno).toBe('ENOSPC');
    expect((err as Error).message).toContain(target);
    await expectUntouched();
  });

  it('turns EIO on write into a DiskWriteError naming the file, leaving the target and no temp', async () => {
    const err = await durablePut(withFaults([{ at: 'write:map#1', fault: { error: 'EIO' } }]), target, NEW, { mode: 'replace' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskWriteError);
    expect((err as DiskWriteError).errno).toBe('EIO');
    expect((err as DiskWriteError).code).toBe('EDISK');
    await expectUntouched();
  });

  it('turns ENOSPC on the temp file creation into a DiskWriteError', async () => {
    const err = await durablePut(withFaults([{ at: 'open:map#1', fault: { error: 'ENOSPC' } }]), target, NEW, { mode: 'replace' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskWriteError);
    expect((err as DiskWriteError).errno).toBe('ENOSPC');
    await expectUntouched();
  });

  it('throws FsyncFailedError (fatal) when the file fsync fails, and never publishes the file', async () => {
    const err = await durablePut(withFaults([{ at: 'fsync:map#1', fault: { error: 'EIO' } }]), target, NEW, { mode: 'replace' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FsyncFailedError);
    expect((err as FsyncFailedError).code).toBe('EFSYNC');
    await expectUntouched();
  });

  it('throws FsyncFailedError when the directory fsync fails after the rename', async () => {
    const err = await durablePut(withFaults([{ at: 'fsyncdir:map#1', fault: { error: 'EIO' } }]), target, NEW, { mode: 'replace' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FsyncFailedError);
    expect(await temps()).toEqual([]);
  });

  it('turns a failed rename into a DiskWriteError and removes the temp', async () => {
    const err = await durablePut(withFaults([{ at: 'rename:map#1', fault: { error: 'EIO' } }]), target, NEW, { mode: 'replace' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskWriteError);
    await expectUntouched();
  });

  it('in create mode, refuses an existing target with TargetExistsError and does not clobber it', async () => {
    const err = await durablePut(nodeFs, target, NEW, { mode: 'create' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetExistsError);
    await expectUntouched();
  });

  it('in create mode, creates a missing target and removes the temp name after the link', async () => {
    const p = join(dir, 'autogen_protocol_for_x.txt');
    await durablePut(nodeFs, p, 'text\n', { mode: 'create' });
    expect(await readFile(p, 'utf8')).toBe('text\n');
    expect(await temps()).toEqual([]);
  });

  it('aborts before publishing when beforePublish throws, removing the temp', async () => {
    const err = await durablePut(nodeFs, target, NEW, {
      mode: 'replace',
      beforePublish: async () => {
        throw new Error('changed under us');
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('changed under us');
    await expectUntouched();
  });

  it('names its temp files so the sweep recognises them: a crash before the rename leaves only a .jitd-tmp.* file', async () => {
    const fs = faultFs(nodeFs, { classify, crashAt: 'before:rename:map#1' });
    await expect(durablePut(fs, target, NEW, { mode: 'replace' })).rejects.toThrow(/simulated crash/);
    const left = (await readdir(dir)).filter((n) => n !== 'goal_map.json');
    expect(left).toHaveLength(1);
    expect(isJitdTemp(left[0] as string)).toBe(true);
    expect(await readFile(target, 'utf8')).toBe(OLD);
  });
});
