/**
 * Publishing a generated component (invariant 1): created complete and durable, never
 * clobbering; an existing file of that name is adopted, but nothing that is not a file is.
 */
import { describe, expect, it } from 'vitest';
import { publishComponent } from '../../src/install/publish-component.js';
import { DiskWriteError } from '../../src/fsio/errors.js';
import { UnsafePathError } from '../../src/library/paths.js';
import { faultFs } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const COMP = '/lib/components';
const G = 'autogen_protocol_for_x.txt';

describe('publishComponent', () => {
  it('creates the file durably (its directory fsynced) when nothing is there', async () => {
    const fs = new MemFs();
    fs.mkdirpSync(`${COMP}/protocols`);
    expect(await publishComponent(fs, COMP, 'protocol', G, 'text\n')).toBe('published');
    expect(fs.read(`${COMP}/protocols/${G}`)).toBe('text\n');
    expect(fs.log.some((o) => o.t === 'syncdir' && o.path === `${COMP}/protocols`)).toBe(true);
  });

  it('adopts an existing regular file of that name without touching it', async () => {
    const fs = new MemFs();
    fs.writeFile(`${COMP}/protocols/${G}`, 'earlier attempt\n');
    expect(await publishComponent(fs, COMP, 'protocol', G, 'new text\n')).toBe('existed');
    expect(fs.read(`${COMP}/protocols/${G}`)).toBe('earlier attempt\n');
  });

  it('refuses to adopt a directory standing at the generated name', async () => {
    const fs = new MemFs();
    fs.mkdirpSync(`${COMP}/protocols/${G}`);
    await expect(publishComponent(fs, COMP, 'protocol', G, 'text\n')).rejects.toThrow(UnsafePathError);
  });
});

describe('publishComponent: staged link, deferred fsync, refusals (found by mutation testing)', () => {
  const STAGED = '/lib/.jitd/staged/x.txt';
  const PATH = `${COMP}/protocols/${G}`;
  function lib(): MemFs {
    const fs = new MemFs();
    fs.writeFile(STAGED, 'staged\n');
    fs.mkdirpSync(`${COMP}/protocols`);
    fs.checkpoint();
    return fs;
  }
  const dirSyncs = (fs: MemFs) => fs.log.filter((o) => o.t === 'syncdir' && o.path === `${COMP}/protocols`).length;

  it('a staged output is linked into place (the same file, nothing written) and its directory fsynced', async () => {
    const mem = lib();
    const fs = faultFs(mem);
    expect(await publishComponent(fs, COMP, 'protocol', G, 'ignored\n', { stagedFrom: STAGED })).toBe('published');
    expect((await mem.lstat(PATH)).identity).toBe((await mem.lstat(STAGED)).identity);
    expect(fs.steps.filter((s) => s.startsWith('write:') || s.startsWith('open:'))).toEqual([]);
    expect(dirSyncs(mem)).toBe(1);
  });

  it('with deferDirSync the directory fsync is left to the caller, for a link and for a write alike', async () => {
    const linked = lib();
    await publishComponent(linked, COMP, 'protocol', G, 'x\n', { stagedFrom: STAGED, deferDirSync: true });
    expect(dirSyncs(linked)).toBe(0);
    const written = lib();
    await publishComponent(written, COMP, 'protocol', G, 'x\n', { deferDirSync: true });
    expect(written.read(PATH)).toBe('x\n');
    expect(dirSyncs(written)).toBe(0);
  });

  for (const code of ['EXDEV', 'EPERM', 'EMLINK', 'ENOENT', 'ENOTSUP', 'EOPNOTSUPP']) {
    it(`a staged link refused with ${code} falls back to writing the content durably`, async () => {
      const mem = lib();
      const fs = faultFs(mem, { faults: [{ at: `link:${G}#1`, fault: { error: code } }] });
      expect(await publishComponent(fs, COMP, 'protocol', G, 'content\n', { stagedFrom: STAGED })).toBe('published');
      expect(mem.read(PATH)).toBe('content\n');
      expect((await mem.lstat(PATH)).identity).not.toBe((await mem.lstat(STAGED)).identity);
      expect(dirSyncs(mem)).toBe(1);
    });
  }

  it('any other link error is a DiskWriteError, and nothing is published', async () => {
    const mem = lib();
    const fs = faultFs(mem, { faults: [{ at: `link:${G}#1`, fault: { error: 'EIO' } }] });
    await expect(publishComponent(fs, COMP, 'protocol', G, 'content\n', { stagedFrom: STAGED })).rejects.toBeInstanceOf(DiskWriteError);
    expect(mem.exists(PATH)).toBe(false);
  });

  it('a file already at the name is adopted, untouched, when publishing by link too', async () => {
    const mem = lib();
    mem.writeFile(PATH, 'earlier\n');
    expect(await publishComponent(mem, COMP, 'protocol', G, 'x\n', { stagedFrom: STAGED })).toBe('existed');
    expect(mem.read(PATH)).toBe('earlier\n');
  });

  it('a symlink at the name is not adopted, and the refusal names what stands there', async () => {
    const mem = lib();
    mem.symlink('/nowhere', PATH);
    await expect(publishComponent(mem, COMP, 'protocol', G, 'x\n')).rejects.toThrow(/exists and is not a regular file \(symlink\)/);
  });

  it('a name that answered "exists" but is gone when looked at is refused as vanished, never adopted', async () => {
    const mem = lib();
    const fs = faultFs(mem, { faults: [{ at: `link:${G}#1`, fault: { error: 'EEXIST' } }] });
    await expect(publishComponent(fs, COMP, 'protocol', G, 'x\n')).rejects.toThrow(/exists and is not a regular file \(vanished\)/);
  });

  it('a type directory that leads out of the components tree is refused before anything is written', async () => {
    const mem = new MemFs();
    mem.mkdirpSync('/elsewhere');
    mem.mkdirpSync(COMP);
    mem.symlink('/elsewhere', `${COMP}/protocols`);
    await expect(publishComponent(mem, COMP, 'protocol', G, 'x\n')).rejects.toBeInstanceOf(UnsafePathError);
    expect(mem.walk('/elsewhere')).toEqual([]);
  });

  it('a missing type directory is made (0755) and the new file is 0644', async () => {
    const mem = new MemFs();
    mem.mkdirpSync(COMP);
    await publishComponent(mem, COMP, 'protocol', G, 'x\n');
    expect((await mem.lstat(`${COMP}/protocols`)).mode).toBe(0o755);
    expect((await mem.lstat(PATH)).mode).toBe(0o644);
  });
});
