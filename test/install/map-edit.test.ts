/**
 * Byte-exact map edits (install/map-edit.ts, invariant 8): an edit replaces exactly the value
 * token of the entry JSON.parse reads, and only while that entry still names `from`; every other
 * byte stays as the person wrote it. An entry that no longer names `from` (the person changed it,
 * removed it, or wrote it again later in the file) is reported missed and left alone.
 */
import { describe, expect, it } from 'vitest';
import { editMapBytes, type EntryEdit } from '../../src/install/map-edit.js';

const FROM = 'review.txt';
const TO = 'autogen_protocol_for_review.txt';
const BOM = '\ufeff';
const repoint = (over: Partial<EntryEdit> = {}): EntryEdit => ({ goal: 'REVIEW', type: 'protocol', from: FROM, to: TO, ...over });

/** Edits `text` (UTF-8) and answers the result as text and the missed edits. */
function edit(text: string | Buffer, edits: EntryEdit[]) {
  const input = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const out = editMapBytes(input, edits);
  return { input, out, text: out.bytes.toString('utf8'), missed: out.missed };
}

/** The repoint of REVIEW.protocol is missed on `text`, and the text is left as it was. */
function expectMissed(text: string): void {
  const { text: out, missed } = edit(text, [repoint()]);
  expect(missed, text).toEqual([repoint()]);
  expect(out).toBe(text);
}

describe('editMapBytes: what is replaced', () => {
  it('replaces only the value token of the entry, keeping every other byte (spacing, CRLF, number spelling, key order)', () => {
    const text = '{\r\n\t"B": {"n": 1.50, "big": 12345678901234567890},\r\n\t"REVIEW" :  { "protocol" :\t"review.txt" , "persona": "review.txt" }\r\n}';
    const { text: out, missed } = edit(text, [repoint()]);
    expect(missed).toEqual([]);
    expect(out).toBe(text.replace('"protocol" :\t"review.txt"', `"protocol" :\t"${TO}"`));
  });

  it('answers the input bytes themselves when nothing is replaced', () => {
    const { input, out } = edit('{"REVIEW": {"protocol": "mine.txt"}}', [repoint()]);
    expect(out.bytes).toBe(input);
    expect(out.missed).toEqual([repoint()]);
    expect(editMapBytes(input, []).bytes).toBe(input);
  });

  it('keeps a UTF-8 byte-order mark, and finds a token whose escapes are decoded after it at the right offset', () => {
    const text = `${BOM}{"REVIEW": {"protocol": "rev\\u0069ew.txt"}}`;
    const { text: out, missed } = edit(text, [repoint()]);
    expect(missed).toEqual([]);
    expect(out).toBe(`${BOM}{"REVIEW": {"protocol": "${TO}"}}`);
  });

  it('a map without a byte-order mark gets none', () => {
    const { out } = edit('{"REVIEW": {"protocol": "review.txt"}}', [repoint()]);
    expect(out.bytes.toString('utf8')).toBe(`{"REVIEW": {"protocol": "${TO}"}}`);
    expect(out.bytes.subarray(0, 1).toString()).toBe('{');
  });

  it('keeps bytes that are not valid UTF-8 and characters outside ASCII elsewhere in the map', () => {
    const before = Buffer.from('{"NOTE": {"x": "caf', 'utf8');
    const bad = Buffer.from([0xff, 0xfe, 0xc3]);
    const after = Buffer.from('"}, "RÉSUMÉ": {"persona": "é.txt"}, "REVIEW": {"protocol": "review.txt"}}', 'utf8');
    const input = Buffer.concat([before, bad, after]);
    const { out } = edit(input, [repoint()]);
    expect(out.missed).toEqual([]);
    expect(out.bytes.equals(Buffer.from(input.toString('latin1').replace('"review.txt"', `"${TO}"`), 'latin1'))).toBe(true);
  });

  it('finds goal, type and name written with escapes or in UTF-8, and writes a name that needs escapes as valid JSON', () => {
    const text = '{"R\\u00c9SUM\\u00c9": {"\\u0070rotocol": "caf\\u00e9.txt"}, "ÉTÉ": {"persona": "été.txt"}}';
    const to = 'new "quoted" \\ é.txt';
    const { text: out, missed } = edit(text, [
      { goal: 'RÉSUMÉ', type: 'protocol', from: 'café.txt', to },
      { goal: 'ÉTÉ', type: 'persona', from: 'été.txt', to: 'ö.txt' },
    ]);
    expect(missed).toEqual([]);
    expect(out).toBe(`{"R\\u00c9SUM\\u00c9": {"\\u0070rotocol": ${JSON.stringify(to)}}, "ÉTÉ": {"persona": "ö.txt"}}`);
    expect(JSON.parse(out)).toEqual({ RÉSUMÉ: { protocol: to }, ÉTÉ: { persona: 'ö.txt' } });
  });

  it('applies several edits, of one goal and of several', () => {
    const text = '{"A": {"protocol": "a.txt", "persona": "p.txt"}, "B": {"protocol": "b.txt"}}';
    const { text: out, missed } = edit(text, [
      { goal: 'A', type: 'protocol', from: 'a.txt', to: 'a2.txt' },
      { goal: 'A', type: 'persona', from: 'p.txt', to: 'p2.txt' },
      { goal: 'B', type: 'protocol', from: 'b.txt', to: 'b2.txt' },
    ]);
    expect(missed).toEqual([]);
    expect(out).toBe('{"A": {"protocol": "a2.txt", "persona": "p2.txt"}, "B": {"protocol": "b2.txt"}}');
  });

  it('a goal or type whose scanned bytes equal the wanted bytes but whose escapes make it longer is still compared by its value', () => {
    // `"\u0041"` is "A" written with an escape: a token of 8 characters, not 3.
    const { text: out, missed } = edit('{"\\u0041": {"protocol": "a.txt"}, "B": {"\\u0041": "a.txt"}}', [
      { goal: 'A', type: 'protocol', from: 'a.txt', to: 'x.txt' },
      { goal: 'B', type: 'A', from: 'a.txt', to: 'y.txt' },
    ]);
    expect(missed).toEqual([]);
    expect(out).toBe('{"\\u0041": {"protocol": "x.txt"}, "B": {"\\u0041": "y.txt"}}');
  });
});

describe('editMapBytes: only where the entry still names the missing file', () => {
  it('misses an entry that names another file now, and changes nothing', () => {
    expectMissed('{"REVIEW": {"protocol": "my-own.txt"}}');
  });

  it('misses a goal or a type that is not in the map, while applying the others', () => {
    const text = '{"REVIEW": {"protocol": "review.txt"}}';
    const gone = [repoint({ goal: 'GONE' }), repoint({ type: 'persona' })];
    const { text: out, missed } = edit(text, [gone[0]!, repoint(), gone[1]!]);
    expect(missed).toEqual(gone);
    expect(out).toBe(`{"REVIEW": {"protocol": "${TO}"}}`);
  });

  it('misses an entry whose value is not a string, even one that reads like the name', () => {
    for (const value of ['null', '1', 'true', '["review.txt"]', '{"protocol": "review.txt"}']) expectMissed(`{"REVIEW": {"protocol": ${value}}}`);
  });

  it('edits the last occurrence of a goal written twice: the one JSON.parse keeps', () => {
    const text = '{"REVIEW": {"protocol": "review.txt"}, "X": {}, "REVIEW": {"protocol": "review.txt"}}';
    const { text: out, missed } = edit(text, [repoint()]);
    expect(missed).toEqual([]);
    expect(out).toBe(`{"REVIEW": {"protocol": "review.txt"}, "X": {}, "REVIEW": {"protocol": "${TO}"}}`);
  });

  it('misses an entry whose goal is written again later without it (JSON.parse drops the first)', () => {
    for (const later of ['{"persona": "p.txt"}', '"not an object"', '{"protocol": "mine.txt"}'])
      expectMissed(`{"REVIEW": {"protocol": "review.txt"}, "REVIEW": ${later}}`);
  });

  it('a goal written again later with escapes in its key drops the earlier occurrence all the same', () => {
    expectMissed('{"REVIEW": {"protocol": "review.txt"}, "R\\u0045VIEW": {"persona": "p.txt"}}');
  });

  it('edits the last occurrence of a type written twice in the goal, and misses when that one names another file', () => {
    const twice = '{"REVIEW": {"protocol": "mine.txt", "protocol": "review.txt"}}';
    expect(edit(twice, [repoint()]).text).toBe(`{"REVIEW": {"protocol": "mine.txt", "protocol": "${TO}"}}`);
    expectMissed('{"REVIEW": {"protocol": "review.txt", "protocol": "mine.txt"}}');
  });

  it('does not take a name nested deeper in the goal, or in another goal, for the entry', () => {
    for (const text of [
      '{"REVIEW": {"protocol": {"protocol": "review.txt"}}}',
      '{"REVIEW": {"protocol": ["review.txt"]}}',
      '{"REVIEW": {"other": {"protocol": "review.txt"}}}',
      '{"REVIEW": {"protocol": [], "x": "review.txt"}}',
      '{"REVIEW": {"protocol": {}, "x": "review.txt"}}',
      '{"OTHER": {"protocol": "review.txt"}}',
      '{"REVIEW": "x", "OTHER": {"protocol": "review.txt"}}',
      '{"REVIEW": {}, "OTHER": {"protocol": "review.txt"}}',
      '{"protocol": "review.txt", "REVIEW": {}}',
    ])
      expectMissed(text);
  });

  it('an escaped token is compared by its value: a goal, type or name that only differs once decoded is not the entry', () => {
    for (const text of [
      '{"R\\u0045VIEWS": {"protocol": "review.txt"}}',
      '{"REVIEW": {"p\\u0065rsona": "review.txt"}}',
      '{"REVIEW": {"protocol": "rev\\u0069ew2.txt"}}',
      '{"REVIEW": {"protocol": "caf\\u00e9.txt"}}',
    ])
      expectMissed(text);
  });

  it('a key of the same type nested deeper after the entry does not undo the find', () => {
    const text = '{"REVIEW": {"protocol": "review.txt", "x": {"protocol": "mine.txt"}}}';
    expect(edit(text, [repoint()]).text).toBe(`{"REVIEW": {"protocol": "${TO}", "x": {"protocol": "mine.txt"}}}`);
  });

  it('finds the entry after other goals with nested objects and arrays, wherever it stands among its types', () => {
    const text = '{"A": {"protocol": {"deep": [1, {"x": "review.txt"}]}}, "REVIEW": {"x": [1, [2]], "y": {"z": {}}, "protocol": "review.txt"}}';
    const { text: out, missed } = edit(text, [repoint()]);
    expect(missed).toEqual([]);
    expect(out).toBe(text.replace('"protocol": "review.txt"', `"protocol": "${TO}"`));
  });

  it('throws on text the scanner finds a syntax error in (the caller parsed the same bytes: a bug)', () => {
    expect(() => editMapBytes(Buffer.from('{"REVIEW": {"protocol": "review.txt"},}'), [repoint()])).toThrow(
      /^map-edit: the scanner found [1-9]\d* syntax error/,
    );
    expect(() => editMapBytes(Buffer.from('{"REVIEW": {"protocol": "review.txt"} // note\n}'), [repoint()])).toThrow(/syntax error/);
  });
});
