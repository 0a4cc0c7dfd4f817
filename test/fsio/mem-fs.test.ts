/**
 * The in-memory file system behaves like Linux where jitd relies on it, and its crash images
 * follow the durability rules (file data at fsync, directory entries at the directory's fsync).
 */
import { describe, expect, it } from 'vitest';
import { MemFs } from '../support/mem-fs.js';

async function put(fs: MemFs, path: string, text: string, sync = true) {
  const f = await fs.createExclusive(path, 0o644);
  await f.write(Buffer.from(text), 0, Buffer.byteLength(text));
  if (sync) await f.sync();
  await f.close();
}

describe('MemFs semantics', () => {
  it('renameIfUnchanged exchanges like renameat2: only if the target is the version checked; the replaced version stays readable through the kept handle', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/d');
    await put(fs, '/d/map', 'old');
    const seen = (await fs.lstat('/d/map')).identity;
    const editor = fs.openInPlace('/d/map'); // opened before the publish
    await put(fs, '/d/t', 'new');
    const r = await fs.renameIfUnchanged('/d/t', '/d/map', seen);
    expect(fs.read('/d/map')).toBe('new');
    expect(fs.exists('/d/t')).toBe(false);
    expect(r.published).toBe((await fs.lstat('/d/map')).identity);
    expect((await r.kept!.read()).toString()).toBe('old');
    const before = await r.kept!.identity();
    editor.save('saved in place');
    expect(await r.kept!.identity()).not.toBe(before);
    expect((await r.kept!.read()).toString()).toBe('saved in place');
    expect(fs.read('/d/map')).toBe('new');
    await r.kept!.close();
    expect(fs.keptOpen).toBe(0);
    // A save after the check: refused, nothing changed.
    await put(fs, '/d/t2', 'late');
    fs.writeFile('/d/map', 'person');
    await expect(fs.renameIfUnchanged('/d/t2', '/d/map', r.published)).rejects.toMatchObject({ code: 'ETARGETCHANGED' });
    expect(fs.read('/d/map')).toBe('person');
  });

  it('an exchange is durable only once its directory is fsynced, like a rename', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/d');
    await put(fs, '/d/map', 'old');
    await fs.syncDir('/d');
    await fs.syncDir('/');
    fs.checkpoint();
    await put(fs, '/d/t', 'new');
    const r = await fs.renameIfUnchanged('/d/t', '/d/map', (await fs.lstat('/d/map')).identity);
    await r.kept?.close();
    const before = new Set(fs.crashStates(11, 30).map((s) => s.read('/d/map')));
    expect(before).toEqual(new Set(['old', 'new']));
    await fs.syncDir('/d');
    for (const s of fs.crashStates(12, 30)) expect(s.read('/d/map')).toBe('new');
  });

  it('createExclusive and link refuse an existing name with EEXIST; link shares the data', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/d');
    await put(fs, '/d/a', 'A');
    await expect(fs.createExclusive('/d/a', 0o644)).rejects.toMatchObject({ code: 'EEXIST' });
    await fs.link('/d/a', '/d/b');
    await expect(fs.link('/d/a', '/d/b')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.read('/d/b')).toBe('A');
  });

  it('rename replaces a file atomically; unlink and readFile of a missing file are ENOENT; unlink of a directory is EISDIR', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/d');
    await put(fs, '/d/a', 'new');
    await put(fs, '/d/t', 'old');
    await fs.rename('/d/a', '/d/t');
    expect(fs.read('/d/t')).toBe('new');
    expect(fs.exists('/d/a')).toBe(false);
    await expect(fs.unlink('/d/a')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.readFile('/d/a')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.unlink('/d')).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('realpath resolves symlinks, lstat does not follow them, readdir reports kinds', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/lib/components');
    fs.mkdirpSync('/outside/protocols');
    fs.symlink('/outside/protocols', '/lib/components/protocols');
    fs.symlink('../other', '/lib/components/rel');
    expect(await fs.realpath('/lib/components/protocols')).toBe('/outside/protocols');
    expect((await fs.lstat('/lib/components/protocols')).kind).toBe('symlink');
    expect(await fs.readdir('/lib/components')).toEqual([
      { name: 'protocols', kind: 'symlink' },
      { name: 'rel', kind: 'symlink' },
    ]);
    await expect(fs.realpath('/lib/components/rel')).rejects.toMatchObject({ code: 'ENOENT' });
    await put(fs, '/lib/components/protocols/x.txt', 'x');
    expect(fs.read('/outside/protocols/x.txt')).toBe('x');
  });

  it('mkdirp creates missing parents, is idempotent, and fails on a file in the way', async () => {
    const fs = new MemFs();
    await fs.mkdirp('/a/b/c', 0o755);
    await fs.mkdirp('/a/b/c', 0o755);
    await put(fs, '/a/f', 'x');
    await expect(fs.mkdirp('/a/f', 0o755)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.mkdirp('/a/f/g', 0o755)).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('MemFs crash images', () => {
  it('a directory entry survives a power cut only once its directory is fsynced', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/d');
    fs.checkpoint();
    await put(fs, '/d/a', 'A');
    const before = fs.crashStates(1, 30).map((s) => s.exists('/d/a'));
    expect(before).toContain(true);
    expect(before).toContain(false);
    await fs.syncDir('/d');
    expect(fs.crashStates(2, 30).every((s) => s.read('/d/a') === 'A')).toBe(true);
  });

  it('file data is durable only up to the file fsync, even when its name is durable', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/d');
    fs.checkpoint();
    await put(fs, '/d/a', 'unsynced data', false);
    await fs.syncDir('/d');
    const contents = new Set(fs.crashStates(3, 60).map((s) => s.read('/d/a')));
    expect(contents.has('unsynced data')).toBe(true);
    expect(contents.has('')).toBe(true);
  });

  it('operations in different directories are lost independently (out of order)', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/a');
    fs.mkdirpSync('/b');
    fs.checkpoint();
    await put(fs, '/a/first', '1');
    await put(fs, '/b/second', '2');
    const combos = new Set(fs.crashStates(4, 80).map((s) => `${s.exists('/a/first')}/${s.exists('/b/second')}`));
    expect(combos).toEqual(new Set(['true/true', 'true/false', 'false/true', 'false/false']));
  });

  it('within one directory, un-synced operations survive as a prefix (never a later one without an earlier one)', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/d');
    fs.checkpoint();
    await put(fs, '/d/1', '1');
    await put(fs, '/d/2', '2');
    await put(fs, '/d/3', '3');
    for (const s of fs.crashStates(5, 80)) {
      const have = ['/d/1', '/d/2', '/d/3'].map((p) => s.exists(p));
      expect(have.join()).toMatch(/^(true,)*(false,?)*$|^true,true,true$/);
    }
  });

  it("a new directory's entries are lost with it when its own entry in the parent is not durable", async () => {
    const fs = new MemFs();
    fs.checkpoint();
    await fs.mkdirp('/new', 0o755);
    await put(fs, '/new/f', 'x');
    await fs.syncDir('/new');
    const seen = new Set(fs.crashStates(6, 40).map((s) => s.exists('/new/f')));
    expect(seen).toEqual(new Set([true, false]));
    await fs.syncDir('/');
    expect(fs.crashStates(7, 40).every((s) => s.read('/new/f') === 'x')).toBe(true);
  });

  it('the same seed builds the same crash images', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/d');
    fs.checkpoint();
    for (let i = 0; i < 5; i++) await put(fs, `/d/${i}`, `${i}`.repeat(20), i % 2 === 0);
    const a = fs.crashStates(42, 20).map((s) => JSON.stringify(s.walk('/').map((p) => [p, s.read(p)])));
    const b = fs.crashStates(42, 20).map((s) => JSON.stringify(s.walk('/').map((p) => [p, s.read(p)])));
    expect(a).toEqual(b);
  });
});
