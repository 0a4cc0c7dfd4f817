/**
 * Kept outputs (contract §3, an answer is jitd's for good): after its request is done a staged output
 * stays, bounded; an output still owed to an install is never pruned.
 */
import { describe, expect, it } from 'vitest';
import { StagedOutputs } from '../../src/requests/staged-output.js';
import { MemFs } from '../support/mem-fs.js';

async function stagedWith(ids: string[]): Promise<StagedOutputs> {
  const fs = new MemFs();
  const staged = new StagedOutputs(fs, '/state');
  await staged.load();
  for (const id of ids) await staged.put(id, `output of ${id}\n`);
  return staged;
}

describe('kept outputs', () => {
  it('keeps the outputs of done requests, drops those of requests gone or answered anew, never prunes an owed one', async () => {
    const staged = await stagedWith(['owed', 'done', 'gone']);
    const removed = await staged.prune(
      (id) => id === 'owed',
      (id) => (id === 'done' ? '2026-01-01T00:00:00.000Z' : undefined),
    );
    expect(removed).toEqual(['gone']);
    expect(staged.has('owed') && staged.has('done')).toBe(true);
    expect(await staged.read('done')).toBe('output of done\n');
  });

  it('beyond the count or byte bound the oldest kept outputs go first; owed ones do not count', async () => {
    const staged = await stagedWith(['a', 'b', 'c', 'owed']);
    const since: Record<string, string> = { a: '2026-01-01T00:00:01Z', b: '2026-01-01T00:00:03Z', c: '2026-01-01T00:00:02Z' };
    expect(
      await staged.prune(
        (id) => id === 'owed',
        (id) => since[id],
        { count: 2, bytes: 1 << 20 },
      ),
    ).toEqual(['a']);
    const size = 'output of b\n'.length;
    expect(
      await staged.prune(
        (id) => id === 'owed',
        (id) => since[id],
        { count: 10, bytes: size },
      ),
    ).toEqual(['c']);
    expect(staged.has('b') && staged.has('owed')).toBe(true);
  });
});
