/**
 * Terminal safety for text jitctl did not write itself (contract §6): a goal, type or file name
 * from the map, a description, a model's output, a daemon message. Such text is printed with
 * every character that could drive a terminal made visible — C0 controls (ESC, CR, BS, BEL,
 * ...), DEL, C1 controls (U+0080–U+009F, among them the 8-bit CSI U+009B and OSC U+009D), and
 * the bidirectional formatting characters that reorder what is shown (U+202A–U+202E,
 * U+2066–U+2069, U+200E/U+200F, U+061C), plus the Unicode line and paragraph separators.
 *
 * Invariant: what these functions return contains none of those characters, so an escape
 * sequence can only come from jitctl's own styling ({@link guardHuman} enforces that for
 * whole human outputs, as a second line of defence). `--json` output stays exact JSON: JSON
 * already escapes C0; {@link safeJson} also writes C1, DEL, bidi and separators as `\uXXXX`,
 * which any JSON parser reads back as the very same characters.
 */

/** Every character that must never reach a terminal raw (see the header). */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, but keeping LF and TAB (and a CR directly before LF), for blocks of text. */

const UNSAFE_IN_BLOCK = /\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

/** `\e`, `\r`, `\n`, `\t`, else `\xHH` (below U+0100) or `\uHHHH`. */
function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A name (goal, type, file name, request id) on one line, unambiguously: every unsafe
 * character escaped, and a backslash doubled, so the goal `A<CR>B` (shown `A\rB`) never
 * looks like the goal spelled `A\rB` (shown `A\\rB`).
 */
export function showName(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(UNSAFE, escapeChar);
}

/** A message or one-line text (a description, an error): every unsafe character escaped, LF included. */
export function showLine(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** A block of text (a component, a prompt): like {@link showLine}, but LF, TAB and CRLF line ends stay. */
export function showText(s: string): string {
  return s.replace(UNSAFE_IN_BLOCK, escapeChar);
}

const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `JSON.stringify(value, null, indent)` with C1, DEL, bidi and separator characters written as
 * `\uXXXX`. Outside strings JSON has no such characters, so this changes only how strings are
 * spelled, never what they mean: the output parses to exactly `value`.
 */
export function safeJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** jitctl's own styling: SGR sequences (`ESC [ digits ; m`) and nothing else. */

const OWN_SGR = /\u001b\[[0-9;]*m/y;

/**
 * The last line of defence for a whole human output: keeps jitctl's own SGR color sequences,
 * LF and TAB, and escapes every other unsafe character. Fields are escaped where they are
 * formatted (so alignment is computed on what is shown); this only catches a field that was not.
 */
export function guardHuman(text: string): string {
  let out = '';
  let last = 0;
  UNSAFE_IN_BLOCK.lastIndex = 0;
  for (let m = UNSAFE_IN_BLOCK.exec(text); m; m = UNSAFE_IN_BLOCK.exec(text)) {
    if (m[0] === '\u001b') {
      OWN_SGR.lastIndex = m.index;
      const sgr = OWN_SGR.exec(text);
      if (sgr) {
        UNSAFE_IN_BLOCK.lastIndex = m.index + sgr[0].length;
        continue;
      }
    }
    out += text.slice(last, m.index) + escapeChar(m[0]);
    last = m.index + m[0].length;
  }
  return out + text.slice(last);
}
