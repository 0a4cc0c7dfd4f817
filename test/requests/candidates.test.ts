/**
 * Candidates held for review (docs/review.md): `candidates/<id>/<n>.txt` and `<n>.json`, numbered
 * from 1, text durable before its provenance; the same text as the newest is that candidate again,
 * and a text a crash left without provenance is taken up, not paid for again.
 */
import { describe, expect, it } from 'vitest';
import { Candidates, installProvenance, type CandidateProvenance } from '../../src/requests/candidates.js';
import { MemFs } from '../support/mem-fs.js';

const DIR = '/state/candidates/r1';
const prov = { provider: 'openai', model: 'm', at: '2026-01-01T00:00:00.000Z', description: 'd' };

function withFiles(files: Record<string, string>): { fs: MemFs; c: Candidates } {
  const fs = new MemFs();
  fs.mkdirpSync(DIR, 0o700);
  for (const [name, text] of Object.entries(files)) fs.writeFile(`${DIR}/${name}`, text);
  return { fs, c: new Candidates(fs, '/state') };
}

const json = (p: Partial<CandidateProvenance>): string => `${JSON.stringify(p)}\n`;

describe('candidates', () => {
  it('lists only numbers with both files, ascending, ignoring temps, lone files, other names and directories', async () => {
    const { fs, c } = withFiles({
      '10.txt': 'ten',
      '10.json': json({ candidate: 10 }),
      '2.txt': 'two',
      '2.json': json({ candidate: 2 }),
      '3.txt': 'lone text',
      '4.json': json({ candidate: 4 }),
      '01.txt': 'leading zero',
      '01.json': '{}',
      'x5.txt': 'prefixed',
      '5.json': '{}',
      '6.txt.bak': 'suffixed',
      '6.json': '{}',
      '.jitd-tmp.7.txt': 'temp',
      '7.json': '{}',
    });
    fs.mkdirpSync(`${DIR}/8.txt`, 0o700);
    fs.writeFile(`${DIR}/8.json`, '{}');
    expect(c.dir).toBe('/state/candidates');
    expect(await c.list('r1')).toEqual([2, 10]);
    expect(await c.list('none')).toEqual([]);
  });

  it('reads a text and its provenance; missing ones and corrupt provenance are undefined', async () => {
    const { c } = withFiles({ '1.txt': 'één', '1.json': json({ candidate: 1, provider: 'p' }), '2.txt': 't', '2.json': '{not json' });
    expect(await c.read('r1', 1)).toBe('één');
    expect(await c.provenance('r1', 1)).toEqual({ candidate: 1, provider: 'p' });
    expect(await c.read('r1', 3)).toBeUndefined();
    expect(await c.provenance('r1', 3)).toBeUndefined();
    expect(await c.provenance('r1', 2)).toBeUndefined();
  });

  it('add numbers from 1, writes text then provenance privately, and the same text as the newest is that number again', async () => {
    const fs = new MemFs();
    const c = new Candidates(fs, '/state');
    expect(await c.add('r1', 'first', prov)).toBe(1);
    expect(await c.add('r1', 'second', prov)).toBe(2);
    expect(await c.add('r1', 'second', prov)).toBe(2);
    expect(await c.add('r1', 'first', prov)).toBe(3);
    expect(await c.list('r1')).toEqual([1, 2, 3]);
    expect(fs.read(`${DIR}/3.txt`)).toBe('first');
    expect(fs.read(`${DIR}/2.json`)).toBe(json({ request: 'r1', candidate: 2, ...prov }));
    const st = await fs.lstat(`${DIR}/1.txt`);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await fs.lstat(`${DIR}/1.json`)).mode & 0o777).toBe(0o600);
    expect((await fs.lstat(DIR)).mode & 0o777).toBe(0o700);
    expect((await fs.lstat('/state/candidates')).mode & 0o777).toBe(0o700);
    // Text before provenance: the first rename onto a candidate name is its text.
    const renames = fs.log.flatMap((o) => (o.t === 'rename' ? [o.path] : []));
    expect(renames.slice(0, 2)).toEqual([`${DIR}/1.txt`, `${DIR}/1.json`]);
    // Nothing is lost across a power cut once add resolved.
    const after = new Candidates(fs.crashStates(1, 1)[0]!, '/state');
    expect(await after.list('r1')).toEqual([1, 2, 3]);
  });

  it('newestModelAfter writes the provenance a crash cut off and answers that number', async () => {
    const { fs, c } = withFiles({ '1.txt': 'old', '1.json': json({ candidate: 1 }), '2.txt': 'cut off' });
    expect(await c.newestModelAfter('r1', 1, prov)).toBe(2);
    expect(fs.read(`${DIR}/2.json`)).toBe(json({ request: 'r1', candidate: 2, ...prov }));
    expect((await fs.lstat(`${DIR}/2.json`)).mode & 0o777).toBe(0o600);
    expect((await fs.readdir(DIR)).map((e) => e.name).sort()).toEqual(['1.json', '1.txt', '2.json', '2.txt']); // no temp left
  });

  it('newestModelAfter answers the newest model candidate above the cut-off, skipping person candidates', async () => {
    const { c } = withFiles({
      '1.txt': 'a',
      '1.json': json({ candidate: 1, source: 'model' }),
      '2.txt': 'b',
      '2.json': json({ candidate: 2 }),
      '3.txt': 'c',
      '3.json': json({ candidate: 3, source: 'person' }),
      '11.txt': 'k',
      '11.json': json({ candidate: 11, source: 'installed' }),
      '.jitd-tmp.12.txt': 'temp',
      'x13.txt': 'other',
      '14.txt.bak': 'suffixed',
    });
    expect(await c.newestModelAfter('r1', 0, prov)).toBe(2);
    expect(await c.newestModelAfter('r1', 1, prov)).toBe(2);
    expect(await c.newestModelAfter('r1', 2, prov)).toBeUndefined();
    expect(await c.list('r1')).toEqual([1, 2, 3, 11]); // nothing was written for the other names
    expect(await c.newestModelAfter('none', 0, prov)).toBeUndefined();
  });

  it('newestModelAfter answers a multi-digit number and never takes a directory for a text', async () => {
    const { fs, c } = withFiles({ '12.txt': 'l', '12.json': json({ candidate: 12 }) });
    fs.mkdirpSync(`${DIR}/15.txt`, 0o700);
    expect(await c.newestModelAfter('r1', 0, prov)).toBe(12);
    expect(fs.exists(`${DIR}/15.json`)).toBe(false);
  });

  it('newestModelAfter counts corrupt provenance as the model (its text was durable first)', async () => {
    const { c } = withFiles({ '1.txt': 'a', '1.json': '{' });
    expect(await c.newestModelAfter('r1', 0, prov)).toBe(1);
  });

  it('installProvenance keeps what wrote it, drops the review fields, and numbers it', () => {
    const p: CandidateProvenance = {
      request: 'r1',
      candidate: 4,
      description: 'd',
      answeredBy: { uid: 1 },
      provider: 'openai',
      model: 'm',
      at: '2026-01-02T00:00:00.000Z',
    };
    expect(installProvenance(p, 4, { uid: 7, user: 'ann' })).toEqual({
      provider: 'openai',
      model: 'm',
      at: '2026-01-02T00:00:00.000Z',
      candidate: 4,
      approvedBy: { uid: 7, user: 'ann' },
    });
    expect(installProvenance(p, 4)).toEqual({ provider: 'openai', model: 'm', at: '2026-01-02T00:00:00.000Z', candidate: 4 });
    const unknown = installProvenance(undefined, 2);
    expect(Object.keys(unknown).sort()).toEqual(['at', 'candidate', 'provider']);
    expect(unknown).toMatchObject({ provider: 'unknown', candidate: 2 });
    expect(Date.parse(unknown.at)).toBeGreaterThan(Date.now() - 60_000);
  });
});
