/**
 * The map commit (invariants 1, 4, 5): jitd's change is applied on top of the map as it is on
 * disk at the moment of writing; a person's save between jitd's read and its rename makes it
 * start again, so the person's edit is kept.
 */
import { describe, expect, it } from 'vitest';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MapParseError } from '../../src/library/goal-map.js';
import { commitRepoints } from '../../src/install/map-commit.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const classify = libraryClassifier({ mapFile: MAP, componentsDir: '/lib/components', stateDir: '/lib/.jitd' });
const G = 'autogen_persona_for_diagnose_root_cause.txt';
const REPOINT = { goal: 'DIAGNOSE_ROOT_CAUSE', type: 'persona', from: 'sre.txt', to: G };
const BASE = { DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: 'sre.txt' }, REVIEW: { protocol: 'review.txt' } };
const text = (m: unknown, indent: number | string = 2) => `${JSON.stringify(m, null, indent)}\n`;

function lib(map: unknown = BASE): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, typeof map === 'string' ? map : text(map));
  fs.checkpoint();
  return fs;
}
const read = (fs: MemFs) => JSON.parse(fs.read(MAP) as string);

describe('commitRepoints', () => {
  it('repoints the entry with one durable write, keeping every other entry, the key order and the indentation', async () => {
    const fs = lib(text(BASE, 4));
    const result = await commitRepoints(fs, MAP, [REPOINT]);
    expect(result.outcomes).toEqual(['applied']);
    expect(fs.read(MAP)).toBe(text({ ...BASE, DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: G } }, 4));
    expect(result.written?.toString()).toBe(fs.read(MAP));
    expect(fs.log.map((o) => o.t)).toEqual(['create', 'write', 'fsync', 'exchange', 'unlink', 'syncdir']);
  });

  it("restarts when a person saves between jitd's read and its rename, and keeps their edit with jitd's change on top", async () => {
    const mem = lib();
    const personsMap = { ...BASE, REVIEW: { protocol: 'review_v2.txt' }, NEW_GOAL: { format: 'new.txt' } };
    const fs = faultFs(mem, { classify, hooks: { 'before:fsync:map#1': () => mem.writeFile(MAP, text(personsMap)) } });
    const result = await commitRepoints(fs, MAP, [REPOINT]);
    expect(result.restarts).toBe(1);
    expect(read(mem)).toEqual({ ...personsMap, DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: G } });
    expect(mem.walk('/lib/config')).toEqual([MAP]);
  });

  it("a person's save that changes jitd's own entry meanwhile wins: entry-changed, their value kept", async () => {
    const mem = lib();
    const personsMap = { ...BASE, DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: 'my_own_sre.txt' } };
    const fs = faultFs(mem, { classify, hooks: { 'after:write:map#1': () => mem.writeFile(MAP, text(personsMap)) } });
    const result = await commitRepoints(fs, MAP, [REPOINT]);
    expect(result.outcomes).toEqual(['entry-changed']);
    expect(read(mem)).toEqual(personsMap);
    expect(mem.walk('/lib/config')).toEqual([MAP]);
  });

  it('commits several repoints in one write (group commit), applying each only where the entry still names the missing file', async () => {
    const fs = lib({ A: { protocol: 'a.txt' }, B: { protocol: 'b.txt' }, C: { protocol: 'autogen_protocol_for_c.txt' } });
    const result = await commitRepoints(fs, MAP, [
      { goal: 'A', type: 'protocol', from: 'a.txt', to: 'autogen_protocol_for_a.txt' },
      { goal: 'B', type: 'protocol', from: 'other.txt', to: 'autogen_protocol_for_b.txt' },
      { goal: 'C', type: 'protocol', from: 'c.txt', to: 'autogen_protocol_for_c.txt' },
      { goal: 'GONE', type: 'protocol', from: 'g.txt', to: 'autogen_protocol_for_gone.txt' },
    ]);
    expect(result.outcomes).toEqual(['applied', 'entry-changed', 'already', 'entry-changed']);
    expect(read(fs)).toEqual({ A: { protocol: 'autogen_protocol_for_a.txt' }, B: { protocol: 'b.txt' }, C: { protocol: 'autogen_protocol_for_c.txt' } });
    expect(fs.log.filter((o) => o.t === 'exchange')).toHaveLength(1);
  });

  it('writes nothing when no repoint applies', async () => {
    const fs = lib({ ...BASE, DIAGNOSE_ROOT_CAUSE: { persona: G } });
    expect((await commitRepoints(fs, MAP, [REPOINT])).outcomes).toEqual(['already']);
    expect(fs.log).toEqual([]);
  });

  it('refuses an unparsable map with MapParseError and writes nothing', async () => {
    const fs = lib('{"DIAGNOSE_ROOT_CAUSE": {');
    await expect(commitRepoints(fs, MAP, [REPOINT])).rejects.toBeInstanceOf(MapParseError);
    expect(fs.log).toEqual([]);
  });

  it('refuses a map that is a symlink or a directory, or missing, without writing', async () => {
    const link = new MemFs();
    link.writeFile('/elsewhere/real.json', text(BASE));
    link.mkdirpSync('/lib/config');
    link.symlink('/elsewhere/real.json', MAP);
    link.checkpoint();
    await expect(commitRepoints(link, MAP, [REPOINT])).rejects.toMatchObject({ code: 'EMAPKIND' });
    const dir = new MemFs();
    dir.mkdirpSync(MAP);
    await expect(commitRepoints(dir, MAP, [REPOINT])).rejects.toMatchObject({ code: 'EMAPKIND' });
    const missing = new MemFs();
    missing.mkdirpSync('/lib/config');
    await expect(commitRepoints(missing, MAP, [REPOINT])).rejects.toMatchObject({ code: 'ENOMAP' });
    expect(link.log).toEqual([]);
  });

  it("gives up with EMAPRACE after repeated concurrent saves, leaving the person's latest save and no temp", async () => {
    const mem = lib();
    const hooks: Record<string, () => void> = {};
    for (let i = 1; i <= 30; i++) hooks[`before:fsync:map#${i}`] = () => mem.writeFile(MAP, text({ ...BASE, SAVE: { n: `${i}.txt` } }));
    const fs = faultFs(mem, { classify, hooks });
    await expect(commitRepoints(fs, MAP, [REPOINT])).rejects.toMatchObject({ code: 'EMAPRACE' });
    expect(read(mem).SAVE).toBeDefined();
    expect(read(mem).DIAGNOSE_ROOT_CAUSE.persona).toBe('sre.txt');
    expect(mem.walk('/lib/config')).toEqual([MAP]);
  });
});

describe('commitRepoints changes exactly one file-name string, every other byte kept (invariant 8)', () => {
  /** Commits REPOINT on `original` and answers the bytes on disk afterwards. */
  async function commitOn(original: Buffer | string): Promise<Buffer> {
    const fs = new MemFs();
    fs.writeFile(MAP, original);
    fs.checkpoint();
    const result = await commitRepoints(fs, MAP, [REPOINT]);
    expect(result.outcomes).toEqual(['applied']);
    const after = await fs.readFile(MAP);
    expect(result.written?.equals(after)).toBe(true);
    return after;
  }
  /** `text` with its `n`-th (1-based; default the only) `"sre.txt"` replaced by the generated name. */
  const expected = (text: string, n = 1) => {
    const parts = text.split('"sre.txt"');
    expect(parts.length).toBeGreaterThan(n);
    return `${parts.slice(0, n).join('"sre.txt"')}${JSON.stringify(G)}${parts.slice(n).join('"sre.txt"')}`;
  };

  const cases: [string, string][] = [
    [
      'a number written 1.50',
      '{\n  "DIAGNOSE_ROOT_CAUSE": { "protocol": "rca.txt", "persona": "sre.txt", "weight": 1.50 },\n  "REVIEW": { "protocol": "review.txt" }\n}\n',
    ],
    ['an integer too big for a double', '{\n  "META": { "id": 12345678901234567890, "ratio": 1e+2 },\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" }\n}\n'],
    [
      'a goal named "10" after the others',
      '{\n  "B": { "protocol": "b.txt" },\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" },\n  "10": { "protocol": "ten.txt" }\n}\n',
    ],
    [
      'CRLF line endings',
      '{\r\n  "DIAGNOSE_ROOT_CAUSE": {\r\n    "protocol": "rca.txt",\r\n    "persona": "sre.txt"\r\n  },\r\n  "REVIEW": {\r\n    "protocol": "review.txt"\r\n  }\r\n}\r\n',
    ],
    [
      'escapes such as \\u00e9',
      '{\n  "CAF\\u00c9": { "protocol": "caf\\u00e9.txt", "persona": "\\"quoted\\".txt" },\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt", "note": "line\\nbreak \\/ slash \\ud83d\\ude00" }\n}\n',
    ],
    ['compact one-line entries', '{"REVIEW":{"protocol":"review.txt"},"DIAGNOSE_ROOT_CAUSE":{"protocol":"rca.txt","persona":"sre.txt"},"X":{}}'],
    [
      'tab indentation and no final newline',
      '{\n\t"DIAGNOSE_ROOT_CAUSE": {\n\t\t"persona" :   "sre.txt"\n\t},\n\t"REVIEW": {\n\t\t"protocol": "review.txt"\n\t}\n}',
    ],
    ['non-ASCII text written raw', '{\n  "ÜBERSICHT": { "protocol": "übersicht.txt" },\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" }\n}\n'],
  ];
  for (const [what, original] of cases) {
    it(`keeps ${what}`, async () => {
      expect((await commitOn(original)).toString('utf8')).toBe(expected(original));
    });
  }

  it('keeps a UTF-8 byte-order mark with CRLF line endings', async () => {
    const original = '\uFEFF{\r\n  "DIAGNOSE_ROOT_CAUSE": {\r\n    "persona": "sre.txt"\r\n  }\r\n}\r\n';
    const after = await commitOn(original);
    expect([...after.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(after.toString('utf8')).toBe(expected(original));
  });

  it('edits the occurrence JSON.parse uses when a goal or a type is written twice (the last)', async () => {
    const dupGoal =
      '{\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" },\n  "X": {},\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt", "protocol": "rca.txt" }\n}\n';
    expect((await commitOn(dupGoal)).toString('utf8')).toBe(expected(dupGoal, 2));
    const dupType = '{ "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt", "persona": "sre.txt" } }';
    const after = (await commitOn(dupType)).toString('utf8');
    expect(after).toBe(expected(dupType, 2));
    expect(JSON.parse(after).DIAGNOSE_ROOT_CAUSE.persona).toBe(G);
  });

  it('keeps bytes that are not valid UTF-8 elsewhere in the map', async () => {
    const head = Buffer.from('{\n  "LEGACY": { "protocol": "caf');
    const tail = Buffer.from('.txt" },\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" }\n}\n');
    const original = Buffer.concat([head, Buffer.from([0xe9]), tail]); // a latin1 é
    const after = await commitOn(original);
    expect(
      after.equals(Buffer.concat([head, Buffer.from([0xe9]), Buffer.from(tail.toString('latin1').replace('"sre.txt"', JSON.stringify(G)), 'latin1')])),
    ).toBe(true);
  });

  it('finds an entry whose goal and type are written with escapes, and writes a name that needs escapes as valid JSON', async () => {
    const fs = new MemFs();
    const original = '{"D\\u0049AGNOSE_ROOT_CAUSE":{"pers\\u006fna":"sr\\u0065.txt"},"Q":{"protocol":"q.txt"}}';
    fs.writeFile(MAP, original);
    const odd = 'we "quote"\\ and \u2028 and é.txt';
    const result = await commitRepoints(fs, MAP, [{ ...REPOINT, to: odd }]);
    expect(result.outcomes).toEqual(['applied']);
    expect(fs.read(MAP)).toBe(`{"D\\u0049AGNOSE_ROOT_CAUSE":{"pers\\u006fna":${JSON.stringify(odd)}},"Q":{"protocol":"q.txt"}}`);
    expect(JSON.parse(fs.read(MAP) as string).DIAGNOSE_ROOT_CAUSE.persona).toBe(odd);
  });

  it('refuses a map with comments or trailing commas as not valid JSON, writing nothing', async () => {
    const fs = lib('{ "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt", }, // mine\n}');
    await expect(commitRepoints(fs, MAP, [REPOINT])).rejects.toThrow(/not valid JSON/);
    expect(fs.log).toEqual([]);
  });
});
