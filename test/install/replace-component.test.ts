/**
 * The guarded replacement of an installed component (install/replace-component.ts, invariant 4):
 * the sha256 check first, the re-check inside the guarded publish, and a save landing between
 * them (a deterministic interleaving through the fault layer's hooks) is kept, never replaced.
 */
import { describe, expect, it } from 'vitest';
import type { FsLayer } from '../../src/fsio/fs-layer.js';
import { replaceComponent, sha256 } from '../../src/install/replace-component.js';
import { UnsafePathError } from '../../src/library/paths.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const ROOT = '/lib/components';
const FILE = `${ROOT}/agents/skeptic.txt`;
const OLD = 'jitd wrote this\n';
const NEW = 'jitd regenerated this\n';
const classify = libraryClassifier({ mapFile: '/lib/config/goal_map.json', componentsDir: ROOT, stateDir: '/lib/.jitd' });

function lib(text = OLD): MemFs {
  const fs = new MemFs();
  fs.writeFile(FILE, text);
  fs.checkpoint();
  return fs;
}

describe('replaceComponent', () => {
  it('replaces a file that still hashes to what jitd wrote, durably and mode 0644, leaving no temp', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify });
    expect(await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).toEqual({ result: 'replaced', path: FILE });
    expect(mem.read(FILE)).toBe(NEW);
    expect((await mem.lstat(FILE)).mode).toBe(0o644);
    expect(mem.walk(`${ROOT}/agents`)).toEqual([FILE]);
    expect(fs.steps.filter((s) => s.startsWith('rename:'))).toHaveLength(1);
    expect(fs.steps.some((s) => s.startsWith('fsyncdir:component'))).toBe(true);
  });

  it('answers already, writing nothing, when the file holds the new text', async () => {
    const mem = lib(NEW);
    const fs = faultFs(mem, { classify });
    expect(await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).toEqual({ result: 'already', path: FILE });
    expect(fs.steps.filter((s) => s.startsWith('open:') || s.startsWith('rename:'))).toEqual([]);
  });

  it("a person's edit is kept and answered as current; nothing is written", async () => {
    const mem = lib("the person's edit\n");
    const fs = faultFs(mem, { classify });
    expect(await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).toEqual({
      result: 'edited',
      path: FILE,
      current: "the person's edit\n",
    });
    expect(mem.read(FILE)).toBe("the person's edit\n");
    expect(fs.steps.filter((s) => s.startsWith('open:'))).toEqual([]);
  });

  it('without a known hash nothing is overwritten, even jitd-looking text', async () => {
    const mem = lib();
    expect(await replaceComponent(mem, ROOT, 'agent', 'skeptic.txt', NEW, undefined)).toEqual({ result: 'edited', path: FILE, current: OLD });
    expect(mem.read(FILE)).toBe(OLD);
  });

  it('a gone file is not recreated: edited, current undefined', async () => {
    const mem = new MemFs();
    mem.mkdirpSync(`${ROOT}/agents`);
    expect(await replaceComponent(mem, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).toEqual({ result: 'edited', path: FILE, current: undefined });
    expect(mem.exists(FILE)).toBe(false);
  });

  it('a symlink in place of the file is not followed or replaced', async () => {
    const mem = new MemFs();
    mem.writeFile('/lib/other.txt', OLD);
    mem.mkdirpSync(`${ROOT}/agents`);
    mem.symlink('/lib/components/agents/real.txt', FILE);
    mem.writeFile(`${ROOT}/agents/real.txt`, OLD);
    const out = await replaceComponent(mem, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD));
    expect(out.result).toBe('edited');
    expect(mem.read(`${ROOT}/agents/real.txt`)).toBe(OLD);
  });

  it('a type directory leading out of the tree is refused', async () => {
    const mem = new MemFs();
    mem.writeFile('/elsewhere/skeptic.txt', OLD);
    mem.mkdirpSync(ROOT);
    mem.symlink('/elsewhere', `${ROOT}/agents`);
    await expect(replaceComponent(mem, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).rejects.toBeInstanceOf(UnsafePathError);
    expect(mem.read('/elsewhere/skeptic.txt')).toBe(OLD);
  });

  it("a save between the first look and the re-check is kept: the re-check's hash wins", async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, hooks: { 'before:open:component#1': () => mem.writeFile(FILE, "the person's save\n") } });
    expect(await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).toEqual({
      result: 'edited',
      path: FILE,
      current: "the person's save\n",
    });
    expect(mem.read(FILE)).toBe("the person's save\n");
    expect(mem.walk(`${ROOT}/agents`)).toEqual([FILE]);
  });

  it('a save of the same bytes between the re-check and the rename is kept: the guarded publish checks identity', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, hooks: { 'before:rename:component#1': () => mem.writeFile(FILE, OLD) } });
    const out = await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD));
    expect(out).toEqual({ result: 'edited', path: FILE, current: OLD });
    expect(mem.walk(`${ROOT}/agents`)).toEqual([FILE]);
  });

  it('a file changing while it is read (identity moves between the two lstats) is not replaced', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, hooks: { 'after:read:component#1': () => mem.writeFile(FILE, OLD) } });
    const out = await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD));
    expect(out.result).toBe('edited');
    expect(mem.read(FILE)).toBe(OLD);
  });

  it('a change during the re-check read is not replaced either', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, hooks: { 'after:read:component#2': () => mem.writeFile(FILE, OLD) } });
    expect((await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).result).toBe('edited');
    expect(mem.read(FILE)).toBe(OLD);
  });

  it('a disk error surfaces; it is not taken for an edit', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, faults: [{ at: 'write:component#1', fault: { error: 'EIO' } }] });
    await expect(replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).rejects.toThrow(/EIO/);
    expect(mem.read(FILE)).toBe(OLD);
  });
  it('a file removed between the read and the second lstat is gone: edited, nothing recreated', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, hooks: { 'after:read:component#1': () => mem.unlink(FILE) } });
    expect(await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).toEqual({ result: 'edited', path: FILE, current: undefined });
    expect(mem.exists(FILE)).toBe(false);
  });

  it('replaced even when the layer could not hold the old version open', async () => {
    const mem = lib();
    const fs: FsLayer = new Proxy(mem, {
      get(target, prop, receiver) {
        if (prop === 'renameIfUnchanged')
          return async (from: string, to: string, id: string) => {
            const r = await target.renameIfUnchanged(from, to, id);
            await r.kept?.close();
            return { published: r.published, kept: undefined };
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    expect(await replaceComponent(fs, ROOT, 'agent', 'skeptic.txt', NEW, sha256(OLD))).toEqual({ result: 'replaced', path: FILE });
    expect(mem.read(FILE)).toBe(NEW);
  });
});
