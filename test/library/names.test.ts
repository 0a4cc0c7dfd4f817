/**
 * Names that reach the disk (contract §1): the generated-name rule, its slug and hash, and the
 * refusal of unsafe type and file names.
 */
import { describe, expect, it } from 'vitest';
import { filenameProblem, generatedName, isGeneratedName, MAX_NAME_BYTES, shortHash, typeProblem } from '../../src/library/names.js';

describe('generatedName', () => {
  it('names a canonical goal as the seed does: autogen_<type>_for_<goal lowercased>.txt', () => {
    expect(generatedName('DIAGNOSE_ROOT_CAUSE', 'protocol')).toBe('autogen_protocol_for_diagnose_root_cause.txt');
    expect(generatedName('WRITE-RELEASE-NOTES2', 'persona')).toBe('autogen_persona_for_write-release-notes2.txt');
  });

  it('slugs any other goal to [a-z0-9_-] and adds a short stable hash of the goal', () => {
    const name = generatedName('Diagnose root cause: über/../etc', 'protocol');
    expect(name).toMatch(/^autogen_protocol_for_[a-z0-9_-]+-[0-9a-f]{8}\.txt$/);
    expect(name).toBe(`autogen_protocol_for_diagnose_root_cause_ber_etc-${shortHash('Diagnose root cause: über/../etc')}.txt`);
    expect(generatedName('Diagnose root cause: über/../etc', 'protocol')).toBe(name);
  });

  it('keeps names unique where slugging would make them collide', () => {
    const goals = ['DIAGNOSE_ROOT_CAUSE', 'diagnose_root_cause', 'Diagnose Root Cause', 'diagnose root cause', 'DIAGNOSE ROOT CAUSE', 'diagnose-root-cause'];
    const names = goals.map((g) => generatedName(g, 'protocol'));
    expect(new Set(names).size).toBe(goals.length);
  });

  it('hashes a canonical goal that ends like a hash suffix, so no plain name looks like a hashed one', () => {
    const crafted = `A-${shortHash('a').toUpperCase()}`;
    expect(generatedName(crafted, 'protocol')).toBe(`autogen_protocol_for_a-${shortHash('a')}-${shortHash(crafted)}.txt`);
    expect(generatedName(crafted, 'protocol')).not.toBe(generatedName('a', 'protocol'));
    // Only an exact `-<8 hex>` ending triggers it.
    expect(generatedName('A-1F2E3D4', 'protocol')).toBe('autogen_protocol_for_a-1f2e3d4.txt');
    expect(generatedName('A_1F2E3D4C', 'protocol')).toBe('autogen_protocol_for_a_1f2e3d4c.txt');
  });

  it('gives a goal with nothing sluggable a placeholder plus its hash', () => {
    expect(generatedName('ü', 'persona')).toBe(`autogen_persona_for_goal-${shortHash('ü')}.txt`);
    expect(generatedName('ü', 'persona')).not.toBe(generatedName('é', 'persona'));
  });

  it('bounds the length of names of over-long goals, which stay distinct by their hash', () => {
    const a = generatedName('G'.repeat(300), 'protocol');
    const b = generatedName(`${'G'.repeat(299)}H`, 'protocol');
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(a).not.toBe(b);
    expect(filenameProblem(a)).toBeUndefined();
  });

  it('always produces a safe, recognisable generated file name', () => {
    for (const goal of ['A', 'x/y', '..', '\0', 'a\\b', ' ', '/etc/passwd', 'ÀÉÎ'.repeat(50)]) {
      const name = generatedName(goal, 'protocol');
      expect(filenameProblem(name)).toBeUndefined();
      expect(isGeneratedName(name)).toBe(true);
    }
  });
});

describe('shortHash', () => {
  it('is the first 8 hex digits of SHA-256, stable across calls', () => {
    expect(shortHash('abc')).toBe('ba7816bf');
  });
});

describe('isGeneratedName', () => {
  it('recognises exactly the shape autogen_<type>_for_<slug>.txt and nothing else', () => {
    expect(isGeneratedName('autogen_protocol_for_x.txt')).toBe(true);
    expect(isGeneratedName(`autogen_protocol_for_x_y-${shortHash('X y')}.txt`)).toBe(true);
    expect(isGeneratedName('autogen_protocol_for_x.md')).toBe(false);
    expect(isGeneratedName('my_protocol.txt')).toBe(false);
    expect(isGeneratedName('autogen_notes.txt')).toBe(false);
    expect(isGeneratedName('autogen_protocol_for_My Notes.txt')).toBe(false);
    expect(isGeneratedName('autogen_protocol_for_.txt')).toBe(false);
  });
});

describe('unsafe names are refused, never repaired', () => {
  it.each([
    ['..', '"..'],
    ['.', '"."'],
    ['a/b.txt', '"/"'],
    ['/etc/passwd', '"/"'],
    ['a\\b.txt', '"/" or "\\"'],
    ['a\0b', ''],
    ['', 'empty'],
    ['.hidden', 'start with "."'],
    ['tab\there', 'control'],
    ['csi\u009b2J.txt', 'control characters (C0, DEL or C1)'],
    ['osc\u009d0;title.txt', 'C1'],
    ['del\u007f.txt', 'DEL'],
    ['invoice\u202etxt.exe', 'bidirectional'],
    ['ltr-isolate\u2066x\u2069.txt', 'bidirectional'],
    ['mark\u200f.txt', 'bidirectional'],
    ['arabic-mark\u061c.txt', 'bidirectional'],
    ['x'.repeat(300), `${MAX_NAME_BYTES} bytes`],
    ['é'.repeat(128), `${MAX_NAME_BYTES} bytes`],
  ])('file name %j is refused with a reason', (name, reason) => {
    const problem = filenameProblem(name);
    expect(problem).toBeDefined();
    expect(problem).toContain(reason);
  });

  it('accepts ordinary file names, including unicode within 255 bytes', () => {
    for (const name of ['root_cause_analysis_drilldown.txt', 'x', 'résumé.txt', 'a b.txt', 'x'.repeat(255)]) expect(filenameProblem(name)).toBeUndefined();
  });

  it.each(['', '..', 'a/b', 'a\\b', 'a\0', '-x', '_x', 'x'.repeat(64), 'per sona', 'persona.'])('type %j is refused', (type) => {
    expect(typeProblem(type)).toBeDefined();
  });

  it('accepts plain types', () => {
    for (const type of ['protocol', 'persona', 'format', 'x1', 'A_b-c', 'x'.repeat(63)]) expect(typeProblem(type)).toBeUndefined();
  });
});
