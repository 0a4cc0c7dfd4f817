/**
 * Byte-exact map edits (invariant 8: jitd's change to the map is the file-name strings it
 * repoints, every other byte untouched). A person's `1.50`, `12345678901234567890`, key order,
 * CRLF line endings, tabs, `\u00e9` escapes, compact one-line entries, a UTF-8 byte-order mark,
 * even bytes that are not valid UTF-8 — all stay exactly as they were.
 *
 * How: the map's bytes are scanned with jsonc-parser's `visit` (the parser editors use to edit
 * settings files in place) over a latin1 view of the bytes — one character per byte, so every
 * offset is a byte offset and nothing is decoded and re-encoded; JSON's structure is ASCII, so the
 * scan is the same as over the UTF-8 text. The value token of each (goal, type) to repoint is
 * located, and replaced with `applyEdits` by the JSON string of the new name (`JSON.stringify`:
 * a name that needs escapes is written as valid JSON).
 *
 * Why not jsonc-parser's `modify`: it parses the whole text again for every edit (a 50,000-goal
 * map costs ~0.4 s a parse), and for a duplicate key it edits the first occurrence, while
 * JSON.parse — which decides what the map means — keeps the last. This module edits the
 * occurrence JSON.parse used: for a goal written twice, the type inside the last occurrence.
 * An entry it cannot locate (which text JSON.parse accepted cannot produce) is reported, not
 * guessed at.
 */
import { applyEdits, visit, type Edit } from 'jsonc-parser';

/** One file-name string to replace: the entry `goal.type` must name `from` now. */
export interface EntryEdit {
  goal: string;
  type: string;
  from: string;
  to: string;
}

export interface EditResult {
  /** The edited bytes: the input with the located values replaced. */
  bytes: Buffer;
  /** Edits whose entry is not in the text as a string naming `from` (nothing was changed for them). */
  missed: EntryEdit[];
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The latin1 view of a string's UTF-8 bytes: how it appears in the scanned text when unescaped. */
// Stryker: `'utf8'` → `''` is equivalent — Buffer.from's default encoding is utf8.
const asScanned = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

/** The value of a string token as JSON.parse (over the UTF-8 text) sees it (tokens with escapes). */
function decodeToken(bytes: Buffer, start: number, length: number): string {
  return JSON.parse(bytes.toString('utf8', start, start + length)) as string;
}

/** An edit with its strings as they appear, unescaped, in the latin1 view. */
interface Wanted {
  edit: EntryEdit;
  type: string;
  from: string;
}

/**
 * Replaces each edit's value token in `bytes` (a map JSON.parse accepted). Throws if the scan
 * finds a syntax error (the caller parsed the same bytes, so that is a bug, not input).
 */
export function editMapBytes(bytes: Buffer, edits: readonly EntryEdit[]): EditResult {
  const bom = bytes.subarray(0, 3).equals(BOM) ? 3 : 0;
  const text = bytes.toString('latin1', bom);
  // A key or value token without escapes is compared as scanned (no allocation per token: the
  // scan passes 800,000 tokens on a 50,000-goal map); one with escapes is decoded first.
  const byScannedGoal = new Map<string, Wanted[]>();
  const byGoal = new Map<string, Wanted[]>();
  for (const edit of edits) {
    const w: Wanted = { edit, type: asScanned(edit.type), from: asScanned(edit.from) };
    const list = byGoal.get(edit.goal) ?? [];
    list.push(w);
    byGoal.set(edit.goal, list);
    byScannedGoal.set(asScanned(edit.goal), list);
  }
  /** Whether a token, scanned as `scanned` at [offset, offset+length), has the value `plain`/`view`. */
  // Stryker: the fast path's test (`length === scanned.length + 2`) → false or `- 2` is equivalent —
  // decoding a token without escapes answers the same value, only slower.
  const tokenIs = (scanned: string, offset: number, length: number, view: string, plain: string) =>
    length === scanned.length + 2 ? scanned === view : decodeToken(bytes, bom + offset, length) === plain;

  /** The located value token of each edit, in the last occurrence of its goal and type. */
  const found = new Map<EntryEdit, { offset: number; length: number }>();
  let depth = 0;
  let goal: Wanted[] | undefined; // the wanted edits of the goal key just read (depth 1)
  // Stryker: `inGoal` is equivalent to `goal !== undefined` at every depth-2 callback (both are set
  // at the goal's key and its object's begin), so its start value, its reset in onObjectEnd and
  // `inGoal = true` in onObjectBegin are equivalent: `&& goal` decides. It exists for the skip.
  let inGoal = false; // inside the object value of a wanted goal
  let pending: Wanted | undefined; // the edit whose value token comes next
  let errors = 0;
  visit(
    text,
    {
      onObjectBegin: () => {
        pending = undefined;
        depth++;
        if (depth === 2) {
          inGoal = goal !== undefined; // Stryker: → true is equivalent (see `inGoal` above).
          // Not a goal to edit: its insides are scanned without a callback (a third of the scan's cost).
          // Stryker: not skipping (`if (false)`, `return true`) is equivalent — only slower: with
          // `goal` undefined, no callback inside matches anything.
          if (!inGoal) return false;
        }
        return true;
      },
      onObjectEnd: () => {
        depth--;
        if (depth === 1) inGoal = false; // Stryker: dropping the reset is equivalent (see `inGoal` above).
      },
      onArrayBegin: () => {
        pending = undefined;
        depth++;
      },
      onArrayEnd: () => void depth--,
      onObjectProperty: (property, offset, length) => {
        if (depth === 1) {
          // Stryker: the fast path's test → false or `- 2` is equivalent (decoding answers the same key).
          goal = length === property.length + 2 ? byScannedGoal.get(property) : byGoal.get(decodeToken(bytes, bom + offset, length));
          // A later occurrence of a goal replaces the earlier one whole (JSON.parse keeps the last).
          // Stryker: `?? []` → `["Stryker was here"]` is equivalent — deleting `undefined.edit` deletes nothing.
          for (const w of goal ?? []) found.delete(w.edit);
        } else if (depth === 2 && inGoal && goal) {
          pending = goal.find((w) => tokenIs(property, offset, length, w.type, w.edit.type));
          if (pending) found.delete(pending.edit);
        }
      },
      onLiteralValue: (value, offset, length) => {
        // Stryker: `depth === 2` → true is equivalent — `pending` is set only by a depth-2 key and
        // cleared by the object or array begin of a value that is not a literal.
        if (depth === 2 && pending && typeof value === 'string' && tokenIs(value, offset, length, pending.from, pending.edit.from)) {
          found.set(pending.edit, { offset, length });
        }
        pending = undefined;
      },
      onError: () => void errors++,
    },
    { disallowComments: true },
  );
  if (errors) throw new Error(`map-edit: the scanner found ${errors} syntax error(s) in a map JSON.parse accepted`);

  const textEdits: Edit[] = [];
  const missed: EntryEdit[] = [];
  for (const e of edits) {
    const at = found.get(e);
    if (!at) missed.push(e);
    else textEdits.push({ offset: at.offset, length: at.length, content: asScanned(JSON.stringify(e.to)) });
  }
  if (!textEdits.length) return { bytes, missed };
  const edited = Buffer.from(applyEdits(text, textEdits), 'latin1');
  return { bytes: bom ? Buffer.concat([BOM, edited]) : edited, missed };
}
