/**
 * A real full disk: a 64 KiB tmpfs (needs root and mount(8); skipped with the reason otherwise).
 * Installing a ~200 KB map must fail cleanly — old map intact, no temp left, an ENOSPC error
 * naming the file. Side by side, write-file-atomic 7 on the same file system, to record what it
 * does with the same write (the reason jitd has its own durable put).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durablePut } from '../../src/fsio/durable-put.js';
import { DiskWriteError } from '../../src/fsio/errors.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { commitRepoints } from '../../src/install/map-commit.js';

let mnt = '';
let mounted = false;
let skipReason = '';

const OLD_MAP = `${JSON.stringify({ DIAGNOSE_ROOT_CAUSE: { protocol: 'root_cause_analysis_drilldown.txt', persona: 'missing.txt' } }, null, 2)}\n`;
function bigMap(): string {
  const map: Record<string, Record<string, string>> = {};
  for (let i = 0; i < 3000; i++) map[`GOAL_${i}`] = { protocol: `protocol_number_${i}_component.txt` };
  return `${JSON.stringify(map, null, 2)}\n`;
}

beforeAll(async () => {
  mnt = await mkdtemp(join(tmpdir(), 'jitd-tmpfs-'));
  if (process.getuid?.() !== 0) {
    skipReason = 'not root: cannot mount a tmpfs';
    return;
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    skipReason = `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
});

afterAll(async () => {
  if (mounted) execFileSync('umount', [mnt]);
  await rm(mnt, { recursive: true, force: true });
});

describe('a 64 KiB tmpfs (a real full disk)', () => {
  it('jitd: installing a 200 KB map fails with ENOSPC, the old map intact and no temp file left', async (ctx) => {
    if (!mounted) return ctx.skip(skipReason);
    const dir = join(mnt, 'jitd');
    execFileSync('mkdir', [dir]);
    const mapFile = join(dir, 'goal_map.json');
    await writeFile(mapFile, OLD_MAP);
    const big = bigMap();
    expect(Buffer.byteLength(big)).toBeGreaterThan(200_000);
    const err = await durablePut(nodeFs, mapFile, big, { mode: 'replace' }).catch((e: unknown) => e);
    console.log(
      `tmpfs, jitd durablePut of ${Buffer.byteLength(big)} bytes: ${err ? `rejected: ${(err as Error).message}` : 'resolved'}; map now ${(await stat(mapFile)).size} bytes; directory: ${JSON.stringify(await readdir(dir))}`,
    );
    expect(err).toBeInstanceOf(DiskWriteError);
    expect((err as DiskWriteError).errno).toBe('ENOSPC');
    expect((err as Error).message).toContain(mapFile);
    expect(await readFile(mapFile, 'utf8')).toBe(OLD_MAP);
    expect(await readdir(dir)).toEqual(['goal_map.json']);
  });

  it('jitd: a map commit whose result does not fit fails cleanly and can be retried once there is room', async (ctx) => {
    if (!mounted) return ctx.skip(skipReason);
    const dir = join(mnt, 'commit');
    execFileSync('mkdir', [dir]);
    const mapFile = join(dir, 'goal_map.json');
    // A ~19 KB map, and a 36 KB file of a person's filling most of the rest of the 64 KiB.
    const map: Record<string, Record<string, string>> = { DIAGNOSE_ROOT_CAUSE: { persona: 'missing.txt' } };
    for (let i = 0; i < 260; i++) map[`GOAL_${i}`] = { protocol: `protocol_number_${i}_component.txt` };
    const text = `${JSON.stringify(map, null, 2)}\n`;
    await writeFile(mapFile, text);
    const filler = join(mnt, 'filler.bin');
    await writeFile(filler, Buffer.alloc(36 * 1024, 1));
    const repoint = [{ goal: 'DIAGNOSE_ROOT_CAUSE', type: 'persona', from: 'missing.txt', to: 'autogen_persona_for_diagnose_root_cause.txt' }];
    const err = await commitRepoints(nodeFs, mapFile, repoint).catch((e: unknown) => e);
    console.log(`tmpfs, map commit on a ${Buffer.byteLength(text)}-byte map: ${err ? `rejected: ${(err as Error).message}` : 'resolved'}`);
    expect(err).toBeInstanceOf(DiskWriteError);
    expect(await readFile(mapFile, 'utf8')).toBe(text);
    expect(await readdir(dir)).toEqual(['goal_map.json']);
    // Make room (the person deletes the big file): the same commit now succeeds.
    await rm(filler);
    const ok = await commitRepoints(nodeFs, mapFile, repoint);
    expect(ok.outcomes).toEqual(['applied']);
    expect(JSON.parse(await readFile(mapFile, 'utf8')).DIAGNOSE_ROOT_CAUSE.persona).toBe('autogen_persona_for_diagnose_root_cause.txt');
  });

  it('write-file-atomic 7, same write on the same tmpfs: resolves and leaves a truncated, unparsable map (recorded)', async (ctx) => {
    if (!mounted) return ctx.skip(skipReason);
    const dir = join(mnt, 'wfa');
    execFileSync('mkdir', [dir]);
    const mapFile = join(dir, 'goal_map.json');
    await writeFile(mapFile, OLD_MAP);
    const big = bigMap();
    const moduleName = 'write-file-atomic'; // no type declarations installed; typed here
    const { default: writeFileAtomic } = (await import(moduleName)) as { default: (f: string, d: string) => Promise<void> };
    let outcome: string;
    try {
      await writeFileAtomic(mapFile, big);
      outcome = 'resolved';
    } catch (e) {
      outcome = `rejected: ${(e as Error).message}`;
    }
    const after = await readFile(mapFile, 'utf8');
    let parses = true;
    try {
      JSON.parse(after);
    } catch {
      parses = false;
    }
    console.log(
      `tmpfs, write-file-atomic 7 of ${Buffer.byteLength(big)} bytes: ${outcome}; map now ${Buffer.byteLength(after)} bytes, ${parses ? 'parses' : 'UNPARSABLE'}; directory: ${JSON.stringify(await readdir(dir))}`,
    );
    // What we observe (Node 20, Linux tmpfs): a single write(2) whose short count is ignored.
    expect(outcome).toBe('resolved');
    expect(Buffer.byteLength(after)).toBeLessThan(Buffer.byteLength(big));
    expect(after).not.toBe(OLD_MAP);
    expect(parses).toBe(false);
  });
});
