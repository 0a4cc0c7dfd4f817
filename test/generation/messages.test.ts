/** messages.ts on its own: the shape of the messages for the cases the library tests do not reach. */
import { describe, expect, it } from 'vitest';
import type { GenerationContext } from '../../src/generation/context.js';
import { builtinInstructions } from '../../src/generation/instructions.js';
import { buildMessages, estimateTokens, measureMessages } from '../../src/generation/messages.js';

const base = { goal: 'G', type: 'protocol', filename: 'f.txt', description: 'do it' };

function context(over: Partial<GenerationContext> = {}): GenerationContext {
  return { instructions: builtinInstructions('protocol'), budgetBytes: 100, usedBytes: 0, goalParts: [], siblings: [], examples: [], omitted: [], ...over };
}

describe('buildMessages', () => {
  it('without context: the built-in system message and the request alone', () => {
    const [system, user] = buildMessages(base);
    expect(system!.role).toBe('system');
    expect(system!.content).toMatch(/ONE reusable component and nothing else/);
    expect(user).toEqual({
      role: 'user',
      content:
        'Goal: G\nComponent type: protocol\nFile name the library expects: f.txt\nDescription from the person who asked for this component:\ndo it\n\nWrite the protocol component now.',
    });
  });

  it('escapes file names and goals in the tags that wrap component texts', () => {
    const ctx = context({
      goalParts: [
        { type: 'persona', filename: 'a "q".txt', status: 'included' },
        { type: 'protocol', filename: 'f.txt', status: 'target' },
      ],
      siblings: [{ type: 'persona', filename: 'a "q".txt', text: 'You are Q.', bytes: 10 }],
      examples: [{ type: 'protocol', filename: 'x>y.txt', text: 'Step.', bytes: 5, goals: ['A "B"'], overlap: [] }],
    });
    const user = buildMessages({ ...base, context: ctx })[1]!.content;
    expect(user).toContain('<component type="persona" file="a \\"q\\".txt">\nYou are Q.\n</component>');
    expect(user).toContain('<example file="x>y.txt" goals="A \\"B\\"">\nStep.\n</example>');
  });

  it('for a regeneration carries the previous candidate and the feedback, and asks for a new candidate', () => {
    const user = buildMessages({ ...base, regeneration: { previous: 'Old text.\n', feedback: ' shorter ' } })[1]!.content;
    expect(user).toContain("<previous>\nOld text.\n</previous>\nThe person's feedback on it: shorter");
    expect(user.endsWith('Write a new candidate of the protocol component now.')).toBe(true);
  });

  it('sends no system message when the library empties both instruction files', () => {
    const empty = { common: { text: '', source: '/p/system.md' }, type: { text: '', source: '/p/protocol.md' } };
    const messages = buildMessages({ ...base, context: context({ instructions: empty }) });
    expect(messages.map((m) => m.role)).toEqual(['user']);
  });
});

describe('measureMessages', () => {
  it('counts UTF-8 bytes per message and estimates tokens as ceil(bytes / 4)', () => {
    const m = measureMessages([
      { role: 'system', content: 'abcde' },
      { role: 'user', content: 'é' },
    ]);
    expect(m.sizes).toEqual([
      { role: 'system', bytes: 5, tokens: 2 },
      { role: 'user', bytes: 2, tokens: 1 },
    ]);
    expect(m.bytes).toBe(7);
    expect(m.tokens).toBe(3);
    expect(estimateTokens(0)).toBe(0);
  });
});
