import { describe, expect, it } from 'vitest';
import { cleanOutput, normalizeText, UnusableOutputError } from '../../src/generation/clean-output.js';

const MAX = 10_000;

function rejected(text: string, max = MAX): UnusableOutputError {
  try {
    cleanOutput(text, max);
  } catch (err) {
    expect(err).toBeInstanceOf(UnusableOutputError);
    return err as UnusableOutputError;
  }
  throw new Error('expected cleanOutput to throw');
}

describe('cleanOutput', () => {
  it('keeps plain content and ends it with exactly one newline', () => {
    expect(cleanOutput('1. Observe.\n2. Drill down.', MAX)).toBe('1. Observe.\n2. Drill down.\n');
    expect(cleanOutput('Body.\n\n\n', MAX)).toBe('Body.\n');
    expect(cleanOutput('\n\n  Indented first line.\n', MAX)).toBe('  Indented first line.\n');
  });

  it('strips a surrounding code fence with a language tag', () => {
    expect(cleanOutput('```text\nYou are a tester.\nBe precise.\n```', MAX)).toBe('You are a tester.\nBe precise.\n');
    expect(cleanOutput('~~~\nBody\n~~~\n', MAX)).toBe('Body\n');
  });

  it('keeps fences that are part of the content (inner fence, outer fence longer)', () => {
    const inner = 'Answer with:\n```json\n{"a": 1}\n```\nNothing else.';
    expect(cleanOutput(inner, MAX)).toBe(`${inner}\n`);
    expect(cleanOutput('````markdown\nUse:\n```json\n{}\n```\n````', MAX)).toBe('Use:\n```json\n{}\n```\n');
  });

  it('strips chat preambles before the content', () => {
    expect(cleanOutput('Sure! Here is the component:\n\n1. Observe.', MAX)).toBe('1. Observe.\n');
    expect(cleanOutput("Here's the component:\n1. Observe.", MAX)).toBe('1. Observe.\n');
    expect(cleanOutput('Certainly.\nHere is a reusable protocol:\n\n1. Observe.', MAX)).toBe('1. Observe.\n');
  });

  it('strips a preamble, a fence and trailing chatter together', () => {
    const raw = "Sure! Here's the component:\n\n```text\n1. Observe.\n2. Drill down.\n```\n\nLet me know if you want changes!\nHappy to help.";
    expect(cleanOutput(raw, MAX)).toBe('1. Observe.\n2. Drill down.\n');
  });

  it('strips trailing chatter after unfenced content', () => {
    expect(cleanOutput('1. Observe.\n\nI hope this helps!', MAX)).toBe('1. Observe.\n');
    expect(cleanOutput('1. Observe.\n\nFeel free to adjust.\n\nLet me know if…', MAX)).toBe('1. Observe.\n');
  });

  it('does not strip content that merely resembles a preamble', () => {
    expect(cleanOutput('Here is how to proceed when a build fails.\n1. Read the log.', MAX)).toBe(
      'Here is how to proceed when a build fails.\n1. Read the log.\n',
    );
    expect(cleanOutput('Sure-footed reasoning matters.', MAX)).toBe('Sure-footed reasoning matters.\n');
    expect(cleanOutput('Great engineers verify assumptions.\nYou do too.', MAX)).toBe('Great engineers verify assumptions.\nYou do too.\n');
  });

  it('drops a leading <think> block from a reasoning model', () => {
    expect(cleanOutput('<think>\nplanning...\n</think>\n\nYou are a tester.', MAX)).toBe('You are a tester.\n');
  });

  it('normalises CRLF and lone CR to LF, strips the BOM and NUL and other control characters', () => {
    expect(cleanOutput('\uFEFFline 1\r\nline\u00002\rline 3\u001b[31m', MAX)).toBe('line 1\nline2\nline 3[31m\n');
  });

  it('replaces lone surrogates so the text is valid UTF-8', () => {
    const out = cleanOutput('bad \uD800 surrogate, good 😀', MAX);
    expect(out).toBe('bad \uFFFD surrogate, good 😀\n');
    expect(Buffer.from(out, 'utf8').toString('utf8')).toBe(out);
  });

  it('rejects empty output (after cleaning) as retryable', () => {
    for (const raw of ['', '   \n\t\n', '```\n```', '```text\n\n```', 'Sure! Here is the component:\n']) {
      const err = rejected(raw);
      expect(err.reason).toBe('empty');
      expect(err.retryable).toBe(true);
    }
  });

  it('rejects refusals as retryable', () => {
    for (const raw of [
      "I'm sorry, but I can't help with that.",
      'I’m sorry, but I can’t help with that request.',
      'I cannot help with creating that.',
      'Sorry, I am unable to write this.',
      'As an AI language model, I cannot do that.',
      'Unfortunately, I cannot comply.',
    ]) {
      const err = rejected(raw);
      expect(err.reason).toBe('refusal');
      expect(err.retryable).toBe(true);
    }
  });

  it('does not mistake a long component that starts like a refusal for one', () => {
    const long = `I cannot stress enough: verify every claim.\n${'1. Check the evidence.\n'.repeat(40)}`;
    expect(cleanOutput(long, MAX)).toBe(long);
  });

  it('rejects output over maxBytes (in UTF-8 bytes) as not retryable, and accepts exactly maxBytes', () => {
    const err = rejected('é'.repeat(600), 1_000); // 1 200 bytes + newline
    expect(err.reason).toBe('too-large');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/provider\.maxOutputBytes/);
    expect(cleanOutput('a'.repeat(999), 1_000)).toHaveLength(1_000);
    expect(rejected('a'.repeat(1_000), 1_000).reason).toBe('too-large');
  });

  it('rejects a huge answer quickly without cleaning it', () => {
    const err = rejected('x'.repeat(5_000_000), 1_000);
    expect(err.reason).toBe('too-large');
  });
});

describe('normalizeText', () => {
  it('keeps tabs and newlines and removes other control characters', () => {
    expect(normalizeText('a\tb\nc\u0007d\u007f')).toBe('a\tb\ncd');
  });
});
