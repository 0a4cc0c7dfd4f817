/**
 * The library context of a generation (contract §8): what the model sees of the library besides the
 * person's description. Owns the choice of context and its budget; reads only, through the
 * library model (compose's `readPart`: inside componentsDir, regular files only, never a blocking
 * read of a FIFO). The result is plain data (JSON-safe): `messages.ts` turns it into the exact
 * messages, `jitctl preview` shows it, the template provider follows it.
 *
 * What goes in, in this priority, while `generation.contextBytes` lasts:
 *  1. the goal's other components (siblings), in map order: the parts the new component is
 *     composed with;
 *  2. up to {@link MAX_EXAMPLES} existing components of the same type, as examples of the
 *     library's style, chosen by {@link rankCandidates}.
 * The budget counts the UTF-8 bytes of the component texts as sent. A component is included
 * whole or not at all: one that does not fit is left out (and later, smaller ones may still
 * fit) and listed in `omitted` with its size; a sibling left out is also named in the message.
 *
 * Never used as examples: the request's own files (the missing name, its generated name), and
 * scaffolds of the `template` provider, recognised by the first line the template writes
 * ({@link SCAFFOLD_MARKER}): a scaffold shows jitd's placeholder shape, not the library's style.
 * A person who refines a scaffold and drops that line has made it theirs.
 */
import { join } from 'node:path';
import type { FsLayer } from '../fsio/fs-layer.js';
import { readPart } from '../library/compose.js';
import type { ParsedMap } from '../library/goal-map.js';
import type { ComponentIndex } from '../library/component-index.js';
import { normalizeText } from './clean-output.js';
import { loadInstructions, type Instructions } from './instructions.js';
import { SCAFFOLD_MARKER } from './template.js';

/** At most this many same-type examples are sent. */
const MAX_EXAMPLES = 3;
/** At most this many candidates are looked at (stat, read) per generation, however large the library. */
const MAX_CANDIDATES = 24;

/** A component whose text is in the context. */
export interface ContextComponent {
  type: string;
  filename: string;
  /** As sent: control characters removed, LF line ends, no trailing newline. */
  text: string;
  /** UTF-8 bytes of `text` (what the budget counts). */
  bytes: number;
}

/** An example, with why it was chosen. */
export interface ContextExample extends ContextComponent {
  /** Goals whose map entry names this file. */
  goals: string[];
  /** The words it shares with the goal and the missing file name (stems, see `nameWords`). */
  overlap: string[];
}

export type OmitReason = 'budget' | 'scaffold' | 'missing' | 'refused' | 'empty';

/** Something that could have been in the context and is not. */
export interface OmittedComponent {
  kind: 'sibling' | 'example';
  type: string;
  filename: string;
  reason: OmitReason;
  /** Its size in bytes, where known. */
  bytes?: number;
}

/** One entry of the goal in map order: the component being written, or a sibling and its fate. */
export interface GoalPart {
  type: string;
  filename: string;
  status: 'target' | 'included' | OmitReason;
}

/** Everything the messages say about the library. JSON-safe. */
export interface GenerationContext {
  instructions: Instructions;
  /** `generation.contextBytes`. */
  budgetBytes: number;
  /** Bytes of the component texts included (≤ budgetBytes). */
  usedBytes: number;
  /** The goal's map entries in order (empty when the map no longer has the goal). */
  goalParts: GoalPart[];
  siblings: ContextComponent[];
  examples: ContextExample[];
  omitted: OmittedComponent[];
}

/** What the context is built from: the library as the engine knows it. */
export interface ContextSources {
  fs: FsLayer;
  componentsDir: string;
  promptsDir: string;
  contextBytes: number;
  /** The last good map; undefined when none has parsed yet (then there are no siblings). */
  map: ParsedMap | undefined;
  index: ComponentIndex;
}

/** The request the context is for. */
export interface ContextTarget {
  goal: string;
  type: string;
  filename: string;
  /** The name jitd gives the generated component; never an example of itself. */
  generatedName?: string;
}

const STOP_WORDS = new Set(['the', 'and', 'for', 'with', 'from', 'into', 'of', 'to', 'in', 'on', 'an', 'txt', 'md', 'autogen']);

/**
 * The words of a goal or file name, for relevance: camelCase and `_-. ` split, lowercased, a file
 * extension and stop words dropped, each cut to its first five letters — a crude stem that makes
 * `review`/`reviewer`/`reviews` and `incident`/`incidents` meet without a dictionary.
 */
export function nameWords(name: string): Set<string> {
  const out = new Set<string>();
  const base = name.replace(/\.[A-Za-z0-9]{1,5}$/, '');
  for (const w of base
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)) {
    if (w.length < 2 || STOP_WORDS.has(w)) continue;
    out.add(w.slice(0, 5));
  }
  return out;
}

/** A same-type file that could serve as an example. */
export interface Candidate {
  filename: string;
  goals: string[];
  overlap: string[];
}

/**
 * Orders the same-type files by relevance to the target: most words shared with the goal and the
 * missing file name (the candidate's own name and the goals that use it both count), then files
 * the map uses before unused ones (an unreferenced file may be a leftover), then by name for a
 * stable order. Recency breaks the remaining ties later, among the few candidates looked at
 * (it needs a stat). Words of the type itself (`protocol`) are ignored: every candidate has them.
 * Cheap on a large library: names only, no file is opened here.
 */
export function rankCandidates(target: ContextTarget, files: Iterable<string>, goalsByFile: ReadonlyMap<string, string[]>): Candidate[] {
  const typeWords = new Set([...nameWords(target.type), ...nameWords(`${target.type}s`)]);
  const queryList = [...new Set([...nameWords(target.goal), ...nameWords(target.filename)])].filter((w) => !typeWords.has(w));
  const out: Candidate[] = [];
  for (const filename of files) {
    if (filename === target.filename || filename === target.generatedName) continue;
    const goals = goalsByFile.get(filename) ?? [];
    // Fast path: a stem that is not even a substring of the lowercased names cannot be shared,
    // so most files of a large directory cost one lowercase and a few `includes`.
    const haystack = goals.length ? `${filename} ${goals.join(' ')}`.toLowerCase() : filename.toLowerCase();
    let overlap: string[] = [];
    if (queryList.some((w) => haystack.includes(w))) {
      const words = nameWords(filename);
      for (const g of goals) for (const w of nameWords(g)) words.add(w);
      overlap = queryList.filter((w) => words.has(w));
    }
    out.push({ filename, goals, overlap });
  }
  return out.sort(
    (a, b) =>
      b.overlap.length - a.overlap.length ||
      Number(b.goals.length > 0) - Number(a.goals.length > 0) ||
      (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0),
  );
}

/** True for a scaffold of the template provider (its first line is the marker). */
export function isScaffold(text: string): boolean {
  return text.replace(/^\uFEFF/, '').startsWith(SCAFFOLD_MARKER);
}

/** Size and mtime of what `path` resolves to; undefined when it cannot be stat'ed. */
async function statOf(fs: FsLayer, path: string): Promise<{ size: number; mtimeMs: number } | undefined> {
  try {
    const st = await fs.lstat(await fs.realpath(path));
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined; // missing, a loop...: readPart then says what it is
  }
}

/**
 * True when a file of `size` bytes cannot fit in `left` even after normalisation shrinks it
 * (CRLF, control characters): such a file is left out without being read, so a person's
 * multi-megabyte file costs one stat. Anything closer is read and measured exactly as sent.
 */
const cannotFit = (size: number, left: number) => size > Math.max(0, left) + 65_536;

/** The text as sent: normalised (as model output is), without trailing newlines. */
const asSent = (text: string) => normalizeText(text).replace(/\n+$/, '');

/**
 * Builds the context for `target` from the library as it is now.
 * @throws InstructionsError when a file of promptsDir exists but cannot be used.
 */
export async function gatherContext(src: ContextSources, target: ContextTarget): Promise<GenerationContext> {
  const { fs, componentsDir } = src;
  const instructions = await loadInstructions(fs, src.promptsDir, target.type);
  const budget = src.contextBytes;
  let used = 0;
  const goalParts: GoalPart[] = [];
  const siblings: ContextComponent[] = [];
  const examples: ContextExample[] = [];
  const omitted: OmittedComponent[] = [];
  const goalsByFile = new Map<string, string[]>();

  for (const e of src.map?.entries ?? []) {
    if (e.type === target.type) {
      const list = goalsByFile.get(e.filename);
      if (list) list.push(e.goal);
      else goalsByFile.set(e.filename, [e.goal]);
    }
    if (e.goal !== target.goal) continue;
    if (e.type === target.type) {
      goalParts.push({ type: e.type, filename: e.filename, status: 'target' });
      continue;
    }
    const part: GoalPart = { type: e.type, filename: e.filename, status: 'included' };
    goalParts.push(part);
    const omit = (reason: OmitReason, bytes?: number) => {
      part.status = reason;
      omitted.push({ kind: 'sibling', type: e.type, filename: e.filename, reason, ...(bytes !== undefined ? { bytes } : {}) });
    };
    const st = await statOf(fs, join(componentsDir, `${e.type}s`, e.filename));
    if (st && cannotFit(st.size, budget - used)) {
      omit('budget', st.size);
      continue;
    }
    const read = await readPart(fs, componentsDir, e.type, e.filename);
    if (read.status !== 'ok') {
      omit(read.status);
      continue;
    }
    const text = asSent(read.text ?? '');
    const bytes = Buffer.byteLength(text);
    if (bytes > budget - used) {
      omit('budget', bytes);
      continue;
    }
    used += bytes;
    siblings.push({ type: e.type, filename: e.filename, text, bytes });
  }

  const ranked = rankCandidates(target, src.index.files(`${target.type}s`), goalsByFile).slice(0, MAX_CANDIDATES);
  const stats = new Map<string, { size: number; mtimeMs: number } | undefined>();
  for (const c of ranked) stats.set(c.filename, await statOf(fs, join(componentsDir, `${target.type}s`, c.filename)));
  // Among equally relevant files, the newest first: the library's current style.
  const rank = new Map(ranked.map((c, i) => [c.filename, i]));
  const ordered = [...ranked].sort(
    (a, b) =>
      b.overlap.length - a.overlap.length ||
      Number(b.goals.length > 0) - Number(a.goals.length > 0) ||
      (stats.get(b.filename)?.mtimeMs ?? 0) - (stats.get(a.filename)?.mtimeMs ?? 0) ||
      rank.get(a.filename)! - rank.get(b.filename)!,
  );
  for (const c of ordered) {
    if (examples.length >= MAX_EXAMPLES) break;
    const omit = (reason: OmitReason, bytes?: number) =>
      omitted.push({ kind: 'example', type: target.type, filename: c.filename, reason, ...(bytes !== undefined ? { bytes } : {}) });
    const size = stats.get(c.filename)?.size;
    if (size !== undefined && cannotFit(size, budget - used)) {
      omit('budget', size);
      continue;
    }
    const read = await readPart(fs, componentsDir, target.type, c.filename);
    if (read.status !== 'ok') {
      omit(read.status);
      continue;
    }
    if (isScaffold(read.text ?? '')) {
      omit('scaffold');
      continue;
    }
    const text = asSent(read.text ?? '');
    const bytes = Buffer.byteLength(text);
    if (text.trim() === '') {
      omit('empty');
      continue;
    }
    if (bytes > budget - used) {
      omit('budget', bytes);
      continue;
    }
    used += bytes;
    examples.push({ type: target.type, filename: c.filename, text, bytes, goals: c.goals, overlap: c.overlap });
  }

  return { instructions, budgetBytes: budget, usedBytes: used, goalParts, siblings, examples, omitted };
}
