/**
 * Publishing a generated component (invariant 1): created complete and durable, never
 * clobbering; an existing file of that name is adopted, but nothing that is not a file is.
 */
import { describe, expect, it } from 'vitest';
import { publishComponent } from '../../src/install/publish-component.js';
import { UnsafePathError } from '../../src/library/paths.js';
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
