/**
 * Restoring a generated file the map names again (reconcile/restore-output.ts, invariant 2): the
 * newest quarantined copy first, else the request's kept model output; jitd's own write is noted
 * before the publish; with no readable copy nothing is written.
 */
import { describe, expect, it } from 'vitest';
import { restoreOutput, type RestoreContext } from '../../src/reconcile/restore-output.js';
import type { Request } from '../../src/requests/request.js';
import type { StagedOutputs } from '../../src/requests/staged-output.js';
import { faultFs } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const ROOT = '/lib/components';
const STATE = '/lib/.jitd';
const NAME = 'autogen_skeptic.txt';
const FILE = `${ROOT}/agents/${NAME}`;
const Q = `${STATE}/quarantine/components/20261202T120000Z-agents-${NAME}`;
const STAGED = `${STATE}/staged/r1.txt`;
const entry = { goal: 'a skeptic', type: 'agent', filename: NAME };
const source = { id: 'r1' } as Request;
const staged = (ids: string[]) => ({ has: (id: string) => ids.includes(id), pathOf: (id: string) => `${STATE}/staged/${id}.txt` }) as unknown as StagedOutputs;

function lib(opts: { quarantined?: boolean; staged?: boolean } = {}): MemFs {
  const fs = new MemFs();
  fs.mkdirpSync(`${ROOT}/agents`);
  if (opts.quarantined) {
    fs.writeFile(Q, 'the quarantined copy\n');
    fs.writeFile(`${Q}.origin.json`, JSON.stringify({ from: FILE }));
  }
  if (opts.staged) fs.writeFile(STAGED, 'the kept model output\n');
  return fs;
}

/** A context over `fs`; a field given as undefined in `more` is left out (no stateDir, say). */
function ctx(fs: MemFs, more: { [K in keyof RestoreContext]?: RestoreContext[K] | undefined } = {}): RestoreContext & { notes: unknown[][] } {
  const notes: unknown[][] = [];
  const c: Record<string, unknown> = { fs, componentsDir: ROOT, stateDir: STATE, onComponentWrite: (...a: unknown[]) => notes.push(a), notes, ...more };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c as unknown as RestoreContext & { notes: unknown[][] };
}

describe('restoreOutput', () => {
  it('puts the quarantined copy back, noting the write first, and answers where it came from', async () => {
    const fs = lib({ quarantined: true, staged: true });
    const c = ctx(fs, { staged: staged(['r1']) });
    expect(await restoreOutput(c, entry, source)).toBe(Q);
    expect(fs.read(FILE)).toBe('the quarantined copy\n');
    expect(c.notes).toEqual([['agents', NAME, true]]);
  });

  it('the copy is linked into place, not written again', async () => {
    const mem = lib({ quarantined: true });
    const fs = faultFs(mem);
    expect(await restoreOutput({ fs, componentsDir: ROOT, stateDir: STATE }, entry)).toBe(Q);
    expect(fs.steps.filter((s) => s.startsWith('write:'))).toEqual([]);
    expect(fs.steps.some((s) => s.startsWith('link:'))).toBe(true);
  });

  it('with no quarantined copy, restores from the kept model output of the source request', async () => {
    const fs = lib({ staged: true });
    const c = ctx(fs, { staged: staged(['r1']) });
    expect(await restoreOutput(c, entry, source)).toBe(STAGED);
    expect(fs.read(FILE)).toBe('the kept model output\n');
    expect(c.notes).toEqual([['agents', NAME, true]]);
  });

  it('without a stateDir the quarantine is not searched; the staged output still serves', async () => {
    const fs = lib({ quarantined: true, staged: true });
    expect(await restoreOutput(ctx(fs, { stateDir: undefined, staged: staged(['r1']) }), entry, source)).toBe(STAGED);
    expect(fs.read(FILE)).toBe('the kept model output\n');
  });

  it('a staged output of another request, or no source, is not used', async () => {
    const fs = lib({ staged: true });
    expect(await restoreOutput(ctx(fs, { staged: staged(['r2']) }), entry, source)).toBeUndefined();
    expect(await restoreOutput(ctx(fs, { staged: staged(['r1']) }), entry)).toBeUndefined();
    expect(fs.exists(FILE)).toBe(false);
  });

  it('a listed copy that is gone is skipped: the next one serves, and with none nothing is written or noted', async () => {
    const fs = lib({ staged: true });
    fs.writeFile(`${Q}.origin.json`, JSON.stringify({ from: FILE }));
    fs.writeFile(Q, 'x');
    await fs.unlink(Q);
    const c = ctx(fs, { staged: staged(['r1']) });
    expect(await restoreOutput(c, entry, source)).toBe(STAGED);
    const empty = lib();
    const none = ctx(empty, { staged: staged(['r1']) });
    expect(await restoreOutput(none, entry, source)).toBeUndefined();
    expect(none.notes).toEqual([]);
    expect(empty.exists(FILE)).toBe(false);
  });
});
