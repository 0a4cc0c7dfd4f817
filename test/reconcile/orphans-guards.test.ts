/**
 * The guards of the orphan pass and the quarantine (contract §2, §5) that mutation testing found
 * no test failing without (docs/mutation-testing.md): only "already exists" moves a quarantine
 * record to the next name (a disk error surfaces, the file stays where it was), a quarantine on
 * another file system copies the file durably instead of linking it, and a file that vanished
 * meanwhile is tolerated while any other error is not.
 */
import { describe, expect, it } from 'vitest';
import { DiskWriteError } from '../../src/fsio/errors.js';
import { componentQuarantineDir, handleOrphans, quarantine } from '../../src/reconcile/orphans.js';
import { ReferencedNames } from '../../src/reconcile/referenced-names.js';
import { ComponentIndex } from '../../src/library/component-index.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const COMP = '/lib/components';
const STATE = '/lib/.jitd';
const QDIR = componentQuarantineDir(STATE);
const classify = libraryClassifier({ mapFile: '/lib/config/goal_map.json', componentsDir: COMP, stateDir: STATE });
const ORPHAN = 'autogen_persona_for_x.txt';
const ORPHAN_PATH = `${COMP}/personas/${ORPHAN}`;

function lib(): MemFs {
  const fs = new MemFs();
  fs.writeFile(ORPHAN_PATH, 'orphan\n');
  fs.mkdirpSync(STATE);
  fs.checkpoint();
  return fs;
}
const indexOf = () => {
  const ix = new ComponentIndex();
  ix.add('personas', ORPHAN);
  return ix;
};

describe('quarantine guards', () => {
  it('a disk error creating the origin record surfaces (no next name tried), and the file stays where it was', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, faults: [{ at: 'open:quarantine#1', fault: { error: 'ENOSPC' } }] });
    await expect(quarantine(fs, ORPHAN_PATH, QDIR, 'q')).rejects.toBeInstanceOf(DiskWriteError);
    expect(fs.steps.filter((s) => s.startsWith('open:quarantine'))).toHaveLength(1);
    expect(mem.read(ORPHAN_PATH)).toBe('orphan\n');
    expect(mem.walk(QDIR)).toEqual([]);
  });

  it('an earlier quarantine under the same name is never replaced: the next free name is used', async () => {
    const mem = lib();
    mem.writeFile(`${QDIR}/q.origin.json`, 'earlier\n');
    mem.writeFile(`${QDIR}/q`, 'earlier copy\n');
    const to = await quarantine(mem, ORPHAN_PATH, QDIR, 'q');
    expect(to).toBe(`${QDIR}/q.1`);
    expect(mem.read(`${QDIR}/q`)).toBe('earlier copy\n');
    expect(mem.read(`${QDIR}/q.1`)).toBe('orphan\n');
    expect(JSON.parse(mem.read(`${QDIR}/q.1.origin.json`) as string).from).toBe(ORPHAN_PATH);
  });

  it('a quarantine on another file system (EXDEV) gets a durable copy, then the original is removed', async () => {
    const mem = lib();
    // link:quarantine#1 publishes the origin record; #2 is the link of the file itself.
    const fs = faultFs(mem, { classify, faults: [{ at: 'link:quarantine#2', fault: { error: 'EXDEV' } }] });
    const to = await quarantine(fs, ORPHAN_PATH, QDIR, 'q');
    expect(mem.read(to)).toBe('orphan\n');
    expect((await mem.lstat(to)).mode).toBe(0o600);
    expect(mem.exists(ORPHAN_PATH)).toBe(false);
    const copied = fs.steps.indexOf('fsync:quarantine#2');
    expect(copied).toBeGreaterThan(-1);
    expect(copied).toBeLessThan(fs.steps.indexOf('unlink:component#1'));
  });

  it('any other link error leaves the file where it was', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, faults: [{ at: 'link:quarantine#2', fault: { error: 'EIO' } }] });
    await expect(quarantine(fs, ORPHAN_PATH, QDIR, 'q')).rejects.toMatchObject({ code: 'EIO' });
    expect(mem.read(ORPHAN_PATH)).toBe('orphan\n');
  });
});

describe('handleOrphans guards', () => {
  for (const policy of ['delete', 'quarantine'] as const) {
    it(`${policy}: an orphan that vanished meanwhile (ENOENT) is tolerated and dropped from the index`, async () => {
      const mem = lib();
      const at = policy === 'delete' ? 'unlink:component#1' : 'link:quarantine#2';
      const fs = faultFs(mem, { classify, faults: [{ at, fault: { error: 'ENOENT' } }] });
      const ix = indexOf();
      const report = await handleOrphans(fs, COMP, STATE, ix, new ReferencedNames(), policy);
      expect(report.deleted).toEqual([]);
      expect(report.quarantined).toEqual([]);
      expect(ix.files('personas')).toEqual([]);
    });

    it(`${policy}: any other error surfaces and the orphan stays in the index`, async () => {
      const mem = lib();
      const at = policy === 'delete' ? 'unlink:component#1' : 'link:quarantine#2';
      const fs = faultFs(mem, { classify, faults: [{ at, fault: { error: 'EIO' } }] });
      const ix = indexOf();
      await expect(handleOrphans(fs, COMP, STATE, ix, new ReferencedNames(), policy)).rejects.toMatchObject({ code: 'EIO' });
      expect(ix.files('personas')).toEqual([ORPHAN]);
      expect(mem.read(ORPHAN_PATH)).toBe('orphan\n');
    });
  }

  it('delete: the orphan is unlinked and its directory fsynced before it is reported deleted', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify });
    const ix = indexOf();
    const report = await handleOrphans(fs, COMP, STATE, ix, new ReferencedNames(), 'delete');
    expect(report.deleted).toEqual([ORPHAN_PATH]);
    expect(fs.steps).toEqual(['unlink:component#1', 'fsyncdir:component#1']);
    expect(ix.files('personas')).toEqual([]);
  });
});
