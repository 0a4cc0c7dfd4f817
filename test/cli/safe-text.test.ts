/**
 * The escaping rules of src/cli/safe-text.ts: what is made visible, what is kept, and that
 * `safeJson` changes spelling only, never meaning.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { guardHuman, safeJson, showLine, showName, showText } from '../../src/cli/safe-text.js';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('safe text', () => {
  it('showName escapes C0, DEL, C1, bidi and separators, and doubles backslashes so names stay distinct', () => {
    expect(showName('A\u001b[2J\r\n\t\u0007\u007f\u009b\u202e\u2066\u200f\u061c\u2028Z')).toBe(
      'A\\e[2J\\r\\n\\t\\x07\\x7f\\x9b\\u202e\\u2066\\u200f\\u061c\\u2028Z',
    );
    expect(showName('A\rB')).not.toBe(showName('A\\rB'));
    expect(showName('résumé · 日本')).toBe('résumé · 日本');
  });

  it('showLine escapes line breaks but leaves backslashes; showText keeps LF, TAB and CRLF', () => {
    expect(showLine('a\\b\nc')).toBe('a\\b\\nc');
    expect(showText('a\tb\r\nc\rd\u001b[1m\n')).toBe('a\tb\r\nc\\rd\\e[1m\n');
  });

  it('no output of the three contains an unsafe character, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(showName(s)).not.toMatch(UNSAFE);
        expect(showLine(s)).not.toMatch(UNSAFE);
        expect(showText(s).replace(/\r\n|\n|\t/g, '')).not.toMatch(UNSAFE);
      }),
    );
  });

  it('safeJson parses back to exactly the value and carries no raw C1 or bidi character', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (v, s) => {
        const value = { v, s };
        const text = safeJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(text.replace(/\n/g, '')).not.toMatch(UNSAFE);
      }),
    );
  });

  it("guardHuman keeps jitctl's own SGR colors and escapes any other sequence", () => {
    expect(guardHuman('\u001b[1mbold\u001b[22m \u001b[2J \u001b]0;t\u0007 \u009b')).toBe('\u001b[1mbold\u001b[22m \\e[2J \\e]0;t\\x07 \\x9b');
  });
});
