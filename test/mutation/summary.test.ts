// The figures and the "stated reason" check of `npm run mutate` (test/mutation/summary.mjs):
// a survivor with no comment naming Stryker is caught, so the check can fail.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module without types (run by node directly)
import { reasonFor, score, summarize } from './summary.mjs';

const source = [
  'export function f(a, b) {', // 1
  '  // Stryker: `a > b` → `a >= b` is equivalent — a tie picks either.', // 2
  '  if (a > b) return a;', // 3
  '  const c = a + b; // Stryker: equivalent — c is only logged', // 4
  '  log(c);', // 5
  '', // 6
  '  return guard(b);', // 7
].join('\n');

const mutant = (id: string, line: number, status: string) => ({
  id,
  mutatorName: 'ConditionalExpression',
  replacement: 'true',
  location: { start: { line, column: 3 }, end: { line, column: 9 } },
  status,
});

describe('mutation summary', () => {
  it('counts each status and scores (killed + timed out) over the valid mutants', () => {
    const report = {
      files: {
        'src/x.ts': {
          source,
          mutants: [
            mutant('1', 3, 'Killed'),
            mutant('2', 3, 'Timeout'),
            mutant('3', 3, 'Survived'),
            mutant('4', 7, 'NoCoverage'),
            mutant('5', 7, 'Ignored'),
            mutant('6', 7, 'CompileError'),
          ],
        },
      },
    };
    const { counts } = summarize(report).get('src/x.ts');
    expect(counts).toEqual({ killed: 1, timeout: 1, survived: 1, noCoverage: 1, ignored: 1, errors: 1 });
    expect(score(counts)).toBe(50);
    expect(score({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 3, errors: 0 })).toBeUndefined();
  });

  it('explains a survivor by a whole-line comment above it or a trailing comment on its own line', () => {
    const lines = source.split('\n');
    expect(reasonFor(lines, 3)).toEqual({ line: 2, text: '// Stryker: `a > b` → `a >= b` is equivalent — a tie picks either.' });
    expect(reasonFor(lines, 4)).toEqual({ line: 4, text: '// Stryker: equivalent — c is only logged' });
  });

  it('does not let a trailing reason on one line speak for the next line, nor a comment past a blank line', () => {
    const lines = source.split('\n');
    // Line 5 sits under line 4's trailing comment and the block comment of line 2: only whole-line
    // comments above count, so line 2's does (same block) …
    expect(reasonFor(lines, 5)?.line).toBe(2);
    // … but line 7 is past the blank line 6: unexplained.
    expect(reasonFor(lines, 7)).toBeUndefined();
    expect(reasonFor(['  x = 1; // Stryker: equivalent', '  y = 2;'], 2)).toBeUndefined();
  });

  it('lists every survivor and no-coverage mutant, each with its reason or none', () => {
    const report = { files: { 'src/x.ts': { source, mutants: [mutant('1', 3, 'Survived'), mutant('2', 7, 'NoCoverage'), mutant('3', 7, 'Killed')] } } };
    const { survivors } = summarize(report).get('src/x.ts');
    expect(survivors).toHaveLength(2);
    expect(survivors[0]).toMatchObject({ line: 3, status: 'Survived', reason: { line: 2 } });
    expect(survivors[1]).toMatchObject({ line: 7, status: 'NoCoverage' });
    expect(survivors[1].reason).toBeUndefined();
  });

  it("explains a block's mutant by the trailing comment of the block's first line, and no other mutant so", () => {
    const lines = ['  try {', '    x = read();', '  } catch {', '    return undefined; // Stryker: equivalent — an empty block answers undefined too', '  }'];
    const report = {
      files: {
        'src/y.ts': {
          source: lines.join('\n'),
          mutants: [
            { ...mutant('1', 3, 'Survived'), mutatorName: 'BlockStatement', replacement: '{}' },
            { ...mutant('2', 3, 'Survived'), mutatorName: 'ConditionalExpression' },
          ],
        },
      },
    };
    const { survivors } = summarize(report).get('src/y.ts');
    expect(survivors[0].reason).toMatchObject({ line: 4 });
    expect(survivors[1].reason).toBeUndefined();
  });
});
