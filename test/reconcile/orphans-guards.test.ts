/**
 * The guards of the orphan pass and the quarantine (contract §2, §5) that mutation testing found
 * no test failing without (docs/mutation-testing.md): only "already exists" moves a quarantine
 * record to the next name (a disk error surfaces, the file stays where it was), a quarantine on
 * another file system copies the file durably instead of linking it, and a file that vanished
 * meanwhile is tolerated while any other error is not.
 */
import { describe, expect, it } from 'vitest';
import { DiskWriteError } from '../../src/fsio/errors.js';
import { componentQuarantineDir, findQuarantined, handleOrphans, quarantine, stamp } from '../../src/reconcile/orphans.js';
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
    // The copy is a create-only put: its temp name is gone too.
    expect(mem.walk(QDIR).sort()).toEqual([`${QDIR}/q`, `${QDIR}/q.origin.json`]);
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

describe('quarantine: the protocol', () => {
  it('record first, then link, quarantine fsynced, original unlinked, its directory fsynced; private modes, no temp left', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify });
    const to = await quarantine(fs, ORPHAN_PATH, QDIR, 'q', 'why');
    expect(to).toBe(`${QDIR}/q`);
    // link:quarantine#1 publishes the record, #2 links the file; a quarantine fsync must follow #2.
    const link = fs.steps.indexOf('link:quarantine#2');
    const synced = fs.steps.findIndex((s, i) => i > link && s.startsWith('fsyncdir:quarantine'));
    const unlinked = fs.steps.indexOf('unlink:component#1');
    expect(fs.steps.indexOf('link:quarantine#1')).toBeLessThan(link);
    expect(link).toBeGreaterThan(-1);
    expect(synced).toBeGreaterThan(link);
    expect(unlinked).toBeGreaterThan(synced);
    expect(fs.steps.indexOf('fsyncdir:component#1')).toBeGreaterThan(unlinked);
    expect(mem.walk(QDIR).sort()).toEqual([`${QDIR}/q`, `${QDIR}/q.origin.json`]);
    expect((await mem.lstat(QDIR)).mode).toBe(0o700);
    expect((await mem.lstat(`${QDIR}/q.origin.json`)).mode).toBe(0o600);
    expect(JSON.parse(mem.read(`${QDIR}/q.origin.json`) as string)).toMatchObject({ from: ORPHAN_PATH, reason: 'why' });
  });

  it('the default reason of a record says the file was a generated component no map entry referenced', async () => {
    const mem = lib();
    await quarantine(mem, ORPHAN_PATH, QDIR, 'q');
    expect(JSON.parse(mem.read(`${QDIR}/q.origin.json`) as string).reason).toBe('generated component referenced by no map entry');
  });

  it('stamps are UTC seconds without separators', () => {
    expect(stamp(new Date('2026-12-02T19:05:07.123Z'))).toBe('20261202T190507Z');
  });
});

describe('findQuarantined', () => {
  const origin = `${COMP}/personas/${ORPHAN}`;
  const put = (mem: MemFs, name: string, from = origin, content = `${name}\n`) => {
    mem.writeFile(`${QDIR}/${name}`, content);
    mem.writeFile(`${QDIR}/${name}.origin.json`, `${JSON.stringify({ from })}\n`);
  };
  const find = (mem: MemFs) => findQuarantined(mem, COMP, STATE, 'personas', ORPHAN);

  it('answers the newest copy of the file: the latest stamp, then the highest collision counter', async () => {
    const mem = lib();
    put(mem, `20260101T000000Z-personas-${ORPHAN}`);
    put(mem, `20260301T000000Z-personas-${ORPHAN}`);
    put(mem, `20260301T000000Z-personas-${ORPHAN}.2`);
    put(mem, `20260301T000000Z-personas-${ORPHAN}.10`);
    put(mem, `20260201T000000Z-personas-${ORPHAN}.99`);
    expect(await find(mem)).toBe(`${QDIR}/20260301T000000Z-personas-${ORPHAN}.10`);
  });

  it('finds the newest among many copies listed in any order', async () => {
    const mem = lib();
    // 97 is prime to 100: the stamps are listed in a scrambled order.
    for (let i = 0; i < 100; i++) put(mem, `2026${String(((i * 97) % 100) + 1).padStart(4, '0')}T000000Z-personas-${ORPHAN}`);
    expect(await find(mem)).toBe(`${QDIR}/20260100T000000Z-personas-${ORPHAN}`);
  });

  it('skips a newer copy whose record names another place, is torn, or is missing', async () => {
    const mem = lib();
    put(mem, `20260101T000000Z-personas-${ORPHAN}`);
    put(mem, `20260201T000000Z-personas-${ORPHAN}`, `${COMP}/other/${ORPHAN}`);
    mem.writeFile(`${QDIR}/20260301T000000Z-personas-${ORPHAN}`, 'x\n');
    mem.writeFile(`${QDIR}/20260301T000000Z-personas-${ORPHAN}.origin.json`, '{"from": ');
    mem.writeFile(`${QDIR}/20260401T000000Z-personas-${ORPHAN}`, 'x\n');
    expect(await find(mem)).toBe(`${QDIR}/20260101T000000Z-personas-${ORPHAN}`);
  });

  it('ignores what is not a quarantined copy of that file: records, directories, unstamped names, other files', async () => {
    const mem = lib();
    put(mem, `20260101T000000Z-personas-other_${ORPHAN}`);
    put(mem, `20260101T000000Z-protocols-${ORPHAN}`);
    put(mem, `x20260101T000000Z-personas-${ORPHAN}`);
    put(mem, `personas-${ORPHAN}`);
    mem.mkdirpSync(`${QDIR}/20260501T000000Z-personas-${ORPHAN}`);
    mem.writeFile(`${QDIR}/20260501T000000Z-personas-${ORPHAN}.origin.json`, `${JSON.stringify({ from: origin })}\n`);
    expect(await find(mem)).toBeUndefined();
    expect(await findQuarantined(new MemFs(), COMP, STATE, 'personas', ORPHAN)).toBeUndefined();
  });
});

describe('handleOrphans: what is moved, and what only reported', () => {
  const PERSONS = 'my_notes.txt';
  const REFERENCED = 'autogen_persona_for_kept.txt';
  function tree(): { mem: MemFs; ix: ComponentIndex; referenced: ReferencedNames } {
    const mem = lib();
    mem.writeFile(`${COMP}/personas/${PERSONS}`, 'mine\n');
    mem.writeFile(`${COMP}/personas/${REFERENCED}`, 'named\n');
    mem.checkpoint();
    const ix = indexOf();
    ix.add('personas', PERSONS);
    ix.add('personas', REFERENCED);
    const referenced = new ReferencedNames();
    referenced.add('persona', REFERENCED);
    return { mem, ix, referenced };
  }

  for (const policy of ['quarantine', 'delete', 'keep'] as const) {
    it(`${policy}: only an unreferenced generated file is ${policy === 'keep' ? 'kept (reported)' : 'moved away'}; a file a person wrote is only reported; a referenced one is spared`, async () => {
      const { mem, ix, referenced } = tree();
      const heard: unknown[] = [];
      const report = await handleOrphans(mem, COMP, STATE, ix, referenced, policy, (dir, name, present) =>
        heard.push([dir, name, present, mem.exists(`${COMP}/${dir}/${name}`)]),
      );
      expect(report.unreferenced).toEqual([`${COMP}/personas/${PERSONS}`]);
      expect(report.kept).toEqual(policy === 'keep' ? [ORPHAN_PATH] : []);
      expect(report.deleted).toEqual(policy === 'delete' ? [ORPHAN_PATH] : []);
      expect(report.quarantined).toHaveLength(policy === 'quarantine' ? 1 : 0);
      expect(mem.exists(ORPHAN_PATH)).toBe(policy === 'keep');
      expect(mem.read(`${COMP}/personas/${PERSONS}`)).toBe('mine\n');
      expect(mem.read(`${COMP}/personas/${REFERENCED}`)).toBe('named\n');
      expect(heard).toEqual(policy === 'keep' ? [] : [['personas', ORPHAN, false, true]]);
      expect(ix.files('personas').sort()).toEqual((policy === 'keep' ? [ORPHAN, PERSONS, REFERENCED] : [PERSONS, REFERENCED]).sort());
      if (policy === 'quarantine') {
        expect(report.quarantined[0]).toMatch(new RegExp(`^${QDIR}/\\d{8}T\\d{6}Z-personas-${ORPHAN}$`));
        expect(mem.read(report.quarantined[0] as string)).toBe('orphan\n');
      }
    });
  }
});
