/**
 * The goal map model (contract §1): valid entries in map order, bad entries reported and skipped
 * (never a crash, never repaired), unparsable text a typed error; strict JSON, with a BOM allowed
 * and the person's key order kept even for keys that look like numbers.
 */
import { describe, expect, it } from 'vitest';
import { MAX_MAP_DEPTH, MapParseError, parseGoalMap } from '../../src/library/goal-map.js';

describe('parseGoalMap', () => {
  it('lists the entries in map order', () => {
    const m = parseGoalMap(JSON.stringify({ B: { protocol: 'b.txt', persona: 'p.txt' }, A: { format: 'a.txt' } }));
    expect(m.entries).toEqual([
      { goal: 'B', type: 'protocol', filename: 'b.txt' },
      { goal: 'B', type: 'persona', filename: 'p.txt' },
      { goal: 'A', type: 'format', filename: 'a.txt' },
    ]);
    expect(m.goals).toBe(2);
    expect(m.problems).toEqual([]);
  });

  it('reports and skips unsafe or malformed entries while keeping the good ones', () => {
    const m = parseGoalMap(
      JSON.stringify({
        OK: {
          protocol: 'ok.txt',
          persona: '../../etc/passwd',
          format: '/abs.txt',
          style: 'a\\b.txt',
          tone: 'nul\u0000.txt',
          'bad/type': 'x.txt',
          rule: 42,
          long: 'x'.repeat(300),
        },
        NOT_AN_OBJECT: 'x.txt',
        AN_ARRAY: ['x'],
        EMPTY: {},
      }),
    );
    expect(m.entries).toEqual([{ goal: 'OK', type: 'protocol', filename: 'ok.txt' }]);
    expect(m.problems.map((p) => `${p.goal}.${p.type ?? ''}`).sort()).toEqual(
      ['AN_ARRAY.', 'NOT_AN_OBJECT.', 'OK.bad/type', 'OK.format', 'OK.long', 'OK.persona', 'OK.rule', 'OK.style', 'OK.tone'].sort(),
    );
    expect(m.goals).toBe(4);
  });

  it('throws a MapParseError for text that is not JSON, or not an object of goals', () => {
    for (const text of ['', '{', '{"a":', '[]', 'null', '42', '"x"']) expect(() => parseGoalMap(text)).toThrow(MapParseError);
  });

  it(`refuses a map nesting deeper than ${MAX_MAP_DEPTH} levels anywhere, naming the goal, and accepts one at the bound`, () => {
    const nest = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    // The map is level 1, a goal's value level 2.
    const atBound = parseGoalMap(`{"DEEP":${nest(MAX_MAP_DEPTH - 1)},"G":{"protocol":"g.txt"}}`);
    expect(atBound.entries).toEqual([{ goal: 'G', type: 'protocol', filename: 'g.txt' }]);
    for (const text of [
      `{"G":{"protocol":"g.txt"},"DEEP":${nest(MAX_MAP_DEPTH)}}`,
      `{"G":{"protocol":"g.txt","deep":${nest(MAX_MAP_DEPTH - 1)}}}`,
      `{"${'L'.repeat(2000)}":${nest(100_000)}}`,
    ]) {
      expect(() => parseGoalMap(text)).toThrow(MapParseError);
    }
    expect(() => parseGoalMap(`{"DEEP":${nest(MAX_MAP_DEPTH)}}`)).toThrow(/nests deeper than 64 levels under goal "DEEP"/);
  });

  it('reports an over-long goal name instead of using it', () => {
    const m = parseGoalMap(JSON.stringify({ ['G'.repeat(2000)]: { protocol: 'x.txt' } }));
    expect(m.entries).toEqual([]);
    expect(m.problems).toHaveLength(1);
  });
});

describe('parseGoalMap on text a person wrote', () => {
  it('keeps the written order of goals and types that look like numbers (Object.entries would put them first)', () => {
    const m = parseGoalMap('{"B":{"protocol":"b.txt"},"10":{"2":"x.txt","format":"f.txt","1":"y.txt"},"A":{"protocol":"a.txt"}}');
    expect(m.entries.map((e) => `${e.goal}.${e.type}`)).toEqual(['B.protocol', '10.2', '10.format', '10.1', 'A.protocol']);
  });

  it('reads a duplicate key as JSON.parse does: the last occurrence wins, at the place of the first', () => {
    const m = parseGoalMap('{"10":{"protocol":"old.txt"},"A":{"protocol":"a.txt"},"10":{"persona":"new.txt"}}');
    expect(m.entries).toEqual([
      { goal: '10', type: 'persona', filename: 'new.txt' },
      { goal: 'A', type: 'protocol', filename: 'a.txt' },
    ]);
  });

  it('accepts a UTF-8 byte-order mark', () => {
    expect(parseGoalMap('\uFEFF{"A":{"protocol":"a.txt"}}').entries).toEqual([{ goal: 'A', type: 'protocol', filename: 'a.txt' }]);
  });

  it('refuses comments and trailing commas: the map is strict JSON', () => {
    for (const text of ['{"A":{"protocol":"a.txt"}, // note\n}', '{"A":{"protocol":"a.txt",}}', '/* x */{"A":{}}']) {
      expect(() => parseGoalMap(text)).toThrow(/not valid JSON/);
    }
  });
});
