/**
 * The names the map references (reconcile/referenced-names.ts), one set per type: what the orphan
 * pass spares. A name missing from these sets gets a person's file quarantined, so each way of
 * asking (`has`, `inDir`, iterating, a copy) is checked to answer every name added, and only those.
 */
import { describe, expect, it } from 'vitest';
import { handleOrphans } from '../../src/reconcile/orphans.js';
import { ReferencedNames } from '../../src/reconcile/referenced-names.js';
import { ComponentIndex } from '../../src/library/component-index.js';
import { MemFs } from '../support/mem-fs.js';

const COMP = '/lib/components';
const STATE = '/lib/.jitd';

/** Referenced: two protocols and one persona. */
function referenced(): ReferencedNames {
  const r = new ReferencedNames();
  r.add('protocol', 'autogen_protocol_for_a.txt');
  r.add('protocol', 'autogen_protocol_for_b.txt');
  r.add('persona', 'autogen_persona_for_a.txt');
  return r;
}

describe('ReferencedNames', () => {
  it('keeps every name added to a type, not only the last one', () => {
    const r = referenced();
    expect(r.has('protocol', 'autogen_protocol_for_a.txt')).toBe(true);
    expect(r.has('protocol', 'autogen_protocol_for_b.txt')).toBe(true);
    expect([...(r.inDir('protocols') ?? [])].sort()).toEqual(['autogen_protocol_for_a.txt', 'autogen_protocol_for_b.txt']);
  });

  it('answers false for a name of another type, an unknown name or a type with no names', () => {
    const r = referenced();
    expect(r.has('persona', 'autogen_protocol_for_a.txt')).toBe(false);
    expect(r.has('protocol', 'autogen_protocol_for_c.txt')).toBe(false);
    expect(r.has('format', 'autogen_protocol_for_a.txt')).toBe(false);
  });

  it('maps a `<type>s` directory to its type, and a directory without the trailing s to nothing', () => {
    const r = new ReferencedNames();
    r.add('protocol', 'x.txt');
    r.add('persona', 'y.txt');
    expect(r.inDir('protocols')).toEqual(new Set(['x.txt']));
    expect(r.inDir('personas')).toEqual(new Set(['y.txt']));
    // "persona" is not `<type>s` of any type: not the persona type, nor a type "person".
    r.add('person', 'z.txt');
    expect(r.inDir('persona')).toBeUndefined();
    expect(r.inDir('formats')).toBeUndefined();
  });

  it('iterates every referenced [type, name], type by type', () => {
    expect([...referenced()]).toEqual([
      ['protocol', 'autogen_protocol_for_a.txt'],
      ['protocol', 'autogen_protocol_for_b.txt'],
      ['persona', 'autogen_persona_for_a.txt'],
    ]);
    expect([...new ReferencedNames()]).toEqual([]);
  });

  it('copies every name, and an addition to the copy leaves the original as it was', () => {
    const original = referenced();
    const copy = original.copy();
    expect([...copy]).toEqual([...original]);
    copy.add('protocol', 'autogen_protocol_for_c.txt');
    copy.add('format', 'autogen_format_for_a.txt');
    expect(copy.has('protocol', 'autogen_protocol_for_c.txt')).toBe(true);
    expect(original.has('protocol', 'autogen_protocol_for_c.txt')).toBe(false);
    expect(original.has('format', 'autogen_format_for_a.txt')).toBe(false);
    expect([...original]).toHaveLength(3);
  });

  it('spares, in the orphan pass, every referenced file of a type directory and quarantines only the one nothing names', async () => {
    const fs = new MemFs();
    const ix = new ComponentIndex();
    for (const name of ['autogen_protocol_for_a.txt', 'autogen_protocol_for_b.txt', 'autogen_protocol_for_c.txt']) {
      fs.writeFile(`${COMP}/protocols/${name}`, `${name}\n`);
      ix.add('protocols', name);
    }
    fs.mkdirpSync(STATE);
    const report = await handleOrphans(fs, COMP, STATE, ix, referenced(), 'quarantine');
    expect(report.quarantined).toHaveLength(1);
    expect(fs.exists(`${COMP}/protocols/autogen_protocol_for_a.txt`)).toBe(true);
    expect(fs.exists(`${COMP}/protocols/autogen_protocol_for_b.txt`)).toBe(true);
    expect(fs.exists(`${COMP}/protocols/autogen_protocol_for_c.txt`)).toBe(false);
  });
});
