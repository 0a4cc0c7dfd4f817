/**
 * The guards of staged outputs (invariant 3): the provenance sidecar is durable before its text,
 * names the text by SHA-256 and is ignored for any other text; load keeps only whole outputs;
 * remove and prune touch only what the set names, within their bounds.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsyncFailedError } from '../../src/fsio/errors.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import type { OutputProvenance } from '../../src/requests/provenance.js';
import { StagedOutputs } from '../../src/requests/staged-output.js';
import { MemFs } from '../support/mem-fs.js';

const DIR = '/state/staged';
const prov: OutputProvenance = { provider: 'openai', model: 'm', at: '2026-01-01T00:00:00.000Z', candidate: 2 };
const sha = (t: string): string => createHash('sha256').update(t).digest('hex');

/** `fs` with some of its methods replaced (the rest, and the disk, are `fs`'s). */
const overriding = (fs: MemFs, methods: Partial<Record<'readFile' | 'syncDir' | 'lstat', unknown>>): MemFs =>
  Object.create(fs, Object.fromEntries(Object.entries(methods).map(([k, value]) => [k, { value }]))) as MemFs;

async function loaded(fs = new MemFs()): Promise<{ fs: MemFs; staged: StagedOutputs }> {
  const staged = new StagedOutputs(fs, '/state');
  await staged.load();
  return { fs, staged };
}

describe('staged output guards', () => {
  it('puts the sidecar, syncs the directory, then puts the text: a staged text always has its provenance', async () => {
    const { fs, staged } = await loaded();
    const from = fs.log.length;
    await staged.put('r1', 'text\n', prov);
    const ops = fs.log.slice(from).flatMap((o) => (o.t === 'rename' || o.t === 'syncdir' ? [`${o.t} ${o.path}`] : []));
    expect(ops).toEqual([`rename ${DIR}/r1.json`, `syncdir ${DIR}`, `rename ${DIR}/r1.txt`, `syncdir ${DIR}`]);
    expect(JSON.parse(fs.read(`${DIR}/r1.json`)!)).toEqual({ ...prov, sha256: sha('text\n') });
    expect(fs.read(`${DIR}/r1.json`)!.endsWith('}\n')).toBe(true);
    expect((await fs.lstat(`${DIR}/r1.json`)).mode & 0o777).toBe(0o600);
    expect((await fs.lstat(`${DIR}/r1.txt`)).mode & 0o777).toBe(0o644);
    expect((await fs.lstat(DIR)).mode & 0o777).toBe(0o700);
    expect(staged.has('r1') && staged.size === 1).toBe(true);
    // Durable once put resolved: only what was synced survives this image.
    const cut = new StagedOutputs(fs.crashStates(1, 1)[0]!, '/state');
    await cut.load();
    expect(await cut.sidecar('r1')).toEqual({ provenance: prov, sha256: sha('text\n') });
  });

  it('a put without provenance removes the sidecar of an earlier output, so the new text is not vouched for', async () => {
    const { fs, staged } = await loaded();
    await staged.put('r1', 'one\n', prov);
    await staged.put('r1', 'two\n');
    expect(fs.exists(`${DIR}/r1.json`)).toBe(false);
    expect(await staged.read('r1')).toBe('two\n');
    expect(await staged.provenance('r1')).toBeUndefined();
    await staged.put('r2', 'three\n'); // no sidecar to remove is no error
    expect(staged.has('r2')).toBe(true);
  });

  it('a sidecar counts only for the text it names, is whole and well-formed, and only for a staged output', async () => {
    const { fs, staged } = await loaded();
    await staged.put('r1', 'text\n', prov);
    expect(await staged.provenance('r1')).toEqual(prov);
    expect(await staged.provenance('r1', 'text\n')).toEqual(prov);
    expect(await staged.sidecar('r1', 'other\n')).toBeUndefined();
    fs.writeFile(`${DIR}/r1.txt`, 'edited in place\n');
    expect(await staged.sidecar('r1')).toBeUndefined();
    fs.writeFile(`${DIR}/r1.txt`, 'text\n');
    fs.writeFile(`${DIR}/r1.json`, '{"provider":');
    expect(await staged.sidecar('r1')).toBeUndefined();
    fs.writeFile(`${DIR}/r1.json`, JSON.stringify({ ...prov, provider: 7, sha256: sha('text\n') }));
    expect(await staged.sidecar('r1')).toBeUndefined();
    fs.writeFile(`${DIR}/r1.json`, JSON.stringify({ ...prov }));
    expect(await staged.sidecar('r1')).toBeUndefined();
    await fs.unlink(`${DIR}/r1.json`);
    expect(await staged.sidecar('r1')).toBeUndefined();
    // Not staged: a sidecar on disk is not read.
    fs.writeFile(`${DIR}/r9.json`, JSON.stringify({ ...prov, sha256: sha('x') }));
    expect(await staged.sidecar('r9')).toBeUndefined();
    expect(await staged.sidecar('r9', 'x')).toEqual({ provenance: prov, sha256: sha('x') });
  });

  it('a read error is never worth failing for: the provenance is undefined', async () => {
    const { fs, staged } = await loaded();
    await staged.put('r1', 'text\n', prov);
    fs.mkdirpSync(`${DIR}/r2.txt`, 0o700);
    await staged.load();
    expect(staged.has('r2')).toBe(false);
    const broken = overriding(fs, { readFile: () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) });
    const s2 = new StagedOutputs(broken, '/state');
    await s2.load();
    expect(s2.has('r1')).toBe(true);
    expect(await s2.sidecar('r1')).toBeUndefined();
    expect(await s2.sidecar('r1', 'text\n')).toBeUndefined();
  });

  it('load lists whole outputs only, drops a sidecar whose text never arrived, and forgets what is gone', async () => {
    const fs = new MemFs();
    fs.mkdirpSync(DIR, 0o700);
    fs.writeFile(`${DIR}/a.txt`, 'a');
    fs.writeFile(`${DIR}/a.json`, '{}');
    fs.writeFile(`${DIR}/lone.json`, '{}');
    fs.writeFile(`${DIR}/.jitd-tmp.b.txt`, 'temp');
    fs.writeFile(`${DIR}/.jitd-tmp.c.json`, 'temp');
    fs.writeFile(`${DIR}/notes.md`, 'other');
    fs.mkdirpSync(`${DIR}/d.txt`, 0o700);
    fs.mkdirpSync(`${DIR}/e.json`, 0o700);
    const { staged } = await loaded(fs);
    expect(staged.has('a') && staged.size === 1).toBe(true);
    expect(fs.exists(`${DIR}/lone.json`)).toBe(false);
    expect(fs.exists(`${DIR}/a.json`) && fs.exists(`${DIR}/.jitd-tmp.c.json`) && fs.exists(`${DIR}/e.json`)).toBe(true);
    await fs.unlink(`${DIR}/a.txt`);
    await staged.load();
    expect(staged.size).toBe(0);
    expect(fs.exists(`${DIR}/a.json`)).toBe(false);
  });

  it('read forgets an output that vanished; remove unlinks text and sidecar, and only for an id it holds', async () => {
    const { fs, staged } = await loaded();
    await staged.put('r1', 'one\n', prov);
    await staged.put('r2', 'two\n', prov);
    await fs.unlink(`${DIR}/r1.txt`);
    expect(await staged.read('r1')).toBeUndefined();
    expect(staged.has('r1')).toBe(false);
    expect(await staged.read('r2')).toBe('two\n');
    fs.writeFile(`${DIR}/r3.txt`, 'not loaded');
    expect(await staged.read('r3')).toBeUndefined();
    await staged.remove('r3');
    expect(fs.exists(`${DIR}/r3.txt`)).toBe(true);
    await staged.remove('r1'); // forgotten: nothing to unlink, the sidecar stays for the next load
    expect(fs.exists(`${DIR}/r1.json`)).toBe(true);
    await staged.remove('r2');
    expect(fs.exists(`${DIR}/r2.txt`) || fs.exists(`${DIR}/r2.json`)).toBe(false);
    expect(staged.size).toBe(0);
  });

  it('prune keeps exactly `count` kept outputs and exactly `bytes` bytes, newest first, ties in place', async () => {
    const { fs, staged } = await loaded();
    for (const id of ['a', 'b', 'c', 'd']) await staged.put(id, `${id}${id}${id}\n`); // 4 bytes each
    const since: Record<string, string> = { a: '2026-01-01T00:00:01Z', b: '2026-01-01T00:00:03Z', c: '2026-01-01T00:00:02Z', d: '2026-01-01T00:00:02Z' };
    const within = (limits: { count: number; bytes: number }) =>
      staged.prune(
        () => false,
        (id) => since[id],
        limits,
      );
    expect(await within({ count: 4, bytes: 16 })).toEqual([]);
    expect(await within({ count: 3, bytes: 16 })).toEqual(['a']);
    expect(await within({ count: 3, bytes: 8 })).toEqual(['d']);
    expect([...['b', 'c']].every((id) => staged.has(id))).toBe(true);
    expect(fs.exists(`${DIR}/d.txt`)).toBe(false);
    // A file gone from disk counts no bytes.
    await fs.unlink(`${DIR}/b.txt`);
    expect(await within({ count: 3, bytes: 4 })).toEqual([]);
    expect(await within({ count: 0, bytes: 100 })).toEqual(['b', 'c']);
  });

  it('prune without keptSince removes every output not owed', async () => {
    const { staged } = await loaded();
    await staged.put('owed', 'x');
    await staged.put('gone', 'y');
    expect(await staged.prune((id) => id === 'owed')).toEqual(['gone']);
    expect(staged.has('owed')).toBe(true);
  });

  it('staged/ made again: restoreDir and a put that finds it gone forget what it held', async () => {
    const root = await mkdtemp(join(tmpdir(), 'jitd-staged-'));
    try {
      const staged = new StagedOutputs(nodeFs, root);
      await staged.load();
      await staged.put('a', 'a\n', prov);
      expect(await staged.restoreDir()).toEqual([]);
      expect(staged.has('a')).toBe(true);
      await rm(staged.dir, { recursive: true });
      expect(await staged.restoreDir()).toEqual([staged.dir]);
      expect(staged.size).toBe(0);
      await staged.put('a', 'a\n', prov);
      await rm(staged.dir, { recursive: true });
      await staged.put('b', 'b\n', prov);
      expect(staged.has('a')).toBe(false);
      expect(await staged.read('b')).toBe('b\n');
      expect(await staged.provenance('b')).toEqual(prov);
      await rm(staged.dir, { recursive: true });
      await staged.put('c', 'c\n');
      expect([staged.has('b'), staged.has('c')]).toEqual([false, true]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('put resolves only once the directory fsync is done, and a failed one fails the put', async () => {
    const mem = new MemFs();
    let release: () => void = () => undefined;
    let fail = false;
    const fs = overriding(mem, {
      syncDir: async (path: string) => {
        if (fail) throw Object.assign(new Error('EIO'), { code: 'EIO' });
        if (path === DIR) await new Promise<void>((r) => (release = r));
        return mem.syncDir(path);
      },
    });
    const { staged } = await loaded(fs);
    let done = false;
    const put = staged.put('r1', 'text\n').then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect([done, staged.has('r1')]).toEqual([false, false]);
    release();
    await put;
    expect(staged.has('r1')).toBe(true);
    fail = true;
    await expect(staged.put('r2', 'text\n', prov)).rejects.toBeInstanceOf(FsyncFailedError);
    expect(staged.has('r2')).toBe(false);
  });

  it('an unlink error other than ENOENT surfaces: put without provenance and remove never hide it', async () => {
    const { fs, staged } = await loaded();
    await staged.put('r1', 'one\n');
    fs.mkdirpSync(`${DIR}/r1.json`, 0o700);
    await expect(staged.put('r1', 'two\n')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(staged.remove('r1')).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('by default at most 64 MiB of kept outputs stay, the newest', async () => {
    const { fs, staged } = await loaded();
    await staged.put('old', 'o');
    await staged.put('new', 'n');
    const big = overriding(fs, { lstat: async (p: string) => ({ ...(await fs.lstat(p)), size: 32 * 1024 * 1024 + 1 }) });
    const s2 = new StagedOutputs(big, '/state');
    await s2.load();
    const since: Record<string, string> = { old: '2026-01-01T00:00:01Z', new: '2026-01-01T00:00:02Z' };
    expect(
      await s2.prune(
        () => false,
        (id) => since[id],
      ),
    ).toEqual(['old']);
  });

  it('prune keeps the newest of many (beyond one sort run), ties in staging order', async () => {
    const { staged } = await loaded();
    const ids = Array.from({ length: 90 }, (_, i) => `r${i}`);
    // A scrambled order with ties: (i * 37) % 90, halved.
    const since = new Map(ids.map((id, i) => [id, `2026-01-01T00:00:${String(Math.floor(((i * 37) % 90) / 2)).padStart(2, '0')}Z`]));
    for (const id of ids) await staged.put(id, 'x');
    // Rank: how many come first (newer, or as new and staged earlier); the first 40 stay.
    const rank = (id: string, i: number): number => ids.filter((o, j) => since.get(o)! > since.get(id)! || (since.get(o) === since.get(id) && j < i)).length;
    const expected = ids.filter((id, i) => rank(id, i) >= 40);
    const removed = await staged.prune(
      () => false,
      (id) => since.get(id),
      { count: 40, bytes: 1 << 20 },
    );
    expect(removed.sort()).toEqual(expected.sort());
  });
});
