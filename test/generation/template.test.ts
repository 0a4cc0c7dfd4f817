import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../src/generation/abort.js';
import type { GenerationInput } from '../../src/generation/provider.js';
import { isScaffold } from '../../src/generation/context.js';
import { SCAFFOLD_MARKER, sectionsOf, templateProvider } from '../../src/generation/template.js';
import { contextFor } from '../support/library-context.js';
import { makeLibrary } from '../support/library-fixture.js';

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

describe('template provider with library context', () => {
  const EXAMPLE = [
    '## When to use',
    'Whenever an alert fires twice in an hour.',
    '',
    '## Steps',
    '1. Scope the impact.',
    '2. Find the first change.',
    '3. Confirm with a metric.',
    '',
    '## Report',
    '- what broke',
    '- why',
    '',
  ].join('\n');

  async function withLibrary<T>(components: Record<string, string>, fn: (lib: Awaited<ReturnType<typeof makeLibrary>>) => Promise<T>): Promise<T> {
    const lib = await makeLibrary({
      map: { DIAGNOSE_ROOT_CAUSE: { protocol: 'root_cause_analysis_drilldown.txt' }, TRIAGE_ALERTS: { protocol: 'alert_triage.txt' } },
      components,
    });
    try {
      return await fn(lib);
    } finally {
      await lib.cleanup();
    }
  }

  it('follows the section layout of a same-type example: its headings, in order, each with a placeholder of the same shape', async () => {
    const out = await withLibrary({ 'protocols/alert_triage.txt': EXAMPLE }, async (lib) =>
      templateProvider.generate({
        ...input('protocol'),
        filename: 'root_cause_analysis_drilldown.txt',
        context: await contextFor(lib, 'DIAGNOSE_ROOT_CAUSE', 'protocol', 'root_cause_analysis_drilldown.txt'),
      }),
    );
    expect(out.split('\n')[0]).toBe(SCAFFOLD_MARKER);
    expect(out).toContain('# layout: follows the sections of alert_triage.txt');
    expect(out.split('\n').filter((l) => l.startsWith('## '))).toEqual(['## When to use', '## Steps', '## Report']);
    const after = (heading: string) => out.split('\n').slice(out.split('\n').indexOf(heading) + 1);
    expect(after('## Steps').slice(0, 3)).toEqual([
      '1. <step 1 of "steps" for diagnose root cause>',
      '2. <step 2 of "steps" for diagnose root cause>',
      '3. <step 3 of "steps" for diagnose root cause>',
    ]);
    expect(after('## Report').slice(0, 2)).toEqual(['- <point 1 of "report" for diagnose root cause>', '- <point 2 of "report" for diagnose root cause>']);
    expect(out).toContain(DESCRIPTION);
    // Its own output is a scaffold: never an example for the next generation.
    expect(isScaffold(out)).toBe(true);
  });

  it('keeps the built-in shape when no example has sections to follow', async () => {
    const out = await withLibrary({ 'protocols/alert_triage.txt': 'Just one paragraph of prose, no headings.\n' }, async (lib) =>
      templateProvider.generate({
        ...input('protocol'),
        context: await contextFor(lib, 'DIAGNOSE_ROOT_CAUSE', 'protocol', 'root_cause_analysis_drilldown.txt'),
      }),
    );
    expect(out).not.toContain('# layout:');
    expect(out).toBe(await templateProvider.generate(input('protocol')));
  });

  it('reads Markdown headings, "Label:" lines and CAPS lines as headings, and not list items or sentences', () => {
    const sections = sectionsOf(
      [
        'CONTEXT',
        'Some prose.',
        'Follow these steps:',
        '1. a',
        '2. b',
        '- Note: not a heading:',
        'A sentence that goes on and on and on and on and on and ends with a colon:',
      ].join('\n'),
    );
    expect(sections).toEqual([
      { heading: 'CONTEXT', shape: 'text', items: 1 },
      { heading: 'Follow these steps:', shape: 'numbered', items: 2 },
    ]);
  });
});
