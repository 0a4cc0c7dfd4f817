import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../src/generation/abort.js';
import type { GenerationInput } from '../../src/generation/provider.js';
import { SCAFFOLD_MARKER, templateProvider } from '../../src/generation/template.js';

const DESCRIPTION = 'walk from the symptom down to the first cause, checking evidence at each level';

function input(type: string, over: Partial<GenerationInput> = {}): GenerationInput {
  return {
    goal: 'DIAGNOSE_ROOT_CAUSE',
    type,
    filename: `autogen_${type}_for_diagnose_root_cause.txt`,
    description: `  ${DESCRIPTION}  `,
    signal: new AbortController().signal,
    ...over,
  };
}

describe('template provider', () => {
  it('is named template', () => {
    expect(templateProvider.name).toBe('template');
  });

  it.each(['protocol', 'persona', 'format', 'checklist'])(
    'a %s scaffold is marked as a scaffold, names the goal, carries the trimmed description and ends in one newline',
    async (type) => {
      const out = await templateProvider.generate(input(type));
      expect(out.split('\n')[0]).toBe(SCAFFOLD_MARKER);
      expect(out).toMatch(/refine me/);
      expect(out).toContain('DIAGNOSE_ROOT_CAUSE');
      expect(out).toContain(DESCRIPTION);
      expect(out).not.toContain(`  ${DESCRIPTION}`);
      expect(out.endsWith('\n')).toBe(true);
      expect(out.endsWith('\n\n')).toBe(false);
      expect(out).not.toMatch(/\r/);
    },
  );

  it('writes a protocol as numbered steps', async () => {
    const out = await templateProvider.generate(input('protocol'));
    const steps = out.split('\n').filter((l) => /^\d+\. /.test(l));
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(steps.map((l) => Number(l.split('.')[0]))).toEqual(steps.map((_, i) => i + 1));
  });

  it('writes a persona as a role statement ("You are …")', async () => {
    const out = await templateProvider.generate(input('persona'));
    expect(out).toMatch(/^You are /m);
  });

  it('writes a format as an output skeleton with placeholders', async () => {
    const out = await templateProvider.generate(input('format'));
    expect(out).toMatch(/^## /m);
    expect(out).toMatch(/<[^>]+>/);
  });

  it('gives an unknown type a generic shape that names the type', async () => {
    const out = await templateProvider.generate(input('checklist'));
    expect(out).toMatch(/^checklist for DIAGNOSE_ROOT_CAUSE/m);
    expect(out).toMatch(/Purpose: /);
    expect(out).not.toMatch(/^You are /m);
  });

  it('is deterministic: the same input gives the same output', async () => {
    for (const type of ['protocol', 'persona', 'format', 'other']) {
      const a = await templateProvider.generate(input(type));
      const b = await templateProvider.generate(input(type));
      expect(a).toBe(b);
    }
  });

  it('differs when the description differs', async () => {
    const a = await templateProvider.generate(input('protocol'));
    const b = await templateProvider.generate(input('protocol', { description: 'something else entirely' }));
    expect(a).not.toBe(b);
  });

  it('throws an AbortError when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(templateProvider.generate(input('protocol', { signal: ac.signal }))).rejects.toSatisfy(isAbortError);
  });
});
