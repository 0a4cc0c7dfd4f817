/**
 * Names that reach the disk: component types, component file names, and the generated-name
 * rule. A name that passes these checks is a single, harmless path segment; anything else is
 * reported and skipped, never "repaired" (contract §1).
 */
import { createHash } from 'node:crypto';

/** The longest file name Linux file systems accept, in bytes. */
export const MAX_NAME_BYTES = 255;
/** Types become directory names `<type>s`; keep them short and plain. */
const TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** A goal in the seed's canonical style lowercases injectively and needs no hash. */
const CANONICAL_GOAL_RE = /^[A-Z0-9_-]{1,100}$/;

const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Bidirectional formatting characters: they reorder how a name is shown (`txt.exe` shown for
 * `exe.txt`), so a person could not tell which file they are answering for.
 */
const BIDI_RE = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Why `type` cannot be a component type, or undefined if it can. */
export function typeProblem(type: string): string | undefined {
  if (TYPE_RE.test(type)) return undefined;
  return 'a type must be 1-63 characters of letters, digits, "_" or "-", starting with a letter or digit';
}

/** Why `name` cannot be a component file name, or undefined if it can. */
export function filenameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty file name';
  if (name === '.' || name === '..') return `"${name}" is not a file name`;
  if (name.includes('/') || name.includes('\\')) return 'a file name may not contain "/" or "\\"';
  if (name.includes('\0')) return 'a file name may not contain NUL';
  if (CONTROL_RE.test(name)) return 'a file name may not contain control characters (C0, DEL or C1)';
  if (BIDI_RE.test(name)) return 'a file name may not contain bidirectional formatting characters (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069)';
  if (name.startsWith('.')) return 'a file name may not start with "." (reserved for temporary files)';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `a file name may be at most ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/** A short stable hash: the first 8 hex digits of SHA-256. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 8);
}

/** The suffix a hashed slug ends with; a plain (lowercased canonical) slug never does. */
const HASH_SUFFIX_RE = /-[0-9a-f]{8}$/;
/** Exactly the shape `generatedName` produces: `autogen_<type>_for_<slug>.txt`. */
const GENERATED_RE = /^autogen_[A-Za-z0-9][A-Za-z0-9_-]{0,62}_for_[a-z0-9_-]{1,100}\.txt$/;

/**
 * The seed's generated name `autogen_<type>_for_<goal lowercased>.txt`. A goal in the canonical
 * upper-case style (`DIAGNOSE_ROOT_CAUSE`) maps to its lowercase form unchanged; any other goal
 * (lowercase letters, spaces, unicode, over 100 characters) is slugged to `[a-z0-9_-]` and gets
 * `-<hash>` of the goal appended. A canonical goal whose lowercase form already ends like such a
 * hash (`A-1F2E3D4C`) is hashed too, so a plain slug never looks like a hashed one and two
 * distinct goals never share a generated name (per type, up to a collision of the 32-bit hash).
 */
export function generatedName(goal: string, type: string): string {
  const lower = goal.toLowerCase();
  if (CANONICAL_GOAL_RE.test(goal) && !HASH_SUFFIX_RE.test(lower)) return `autogen_${type}_for_${lower}.txt`;
  const slug = lower
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
  return `autogen_${type}_for_${slug || 'goal'}-${shortHash(goal)}.txt`;
}

/**
 * True for names of the shape the generated-name rule produces (candidates for adoption or
 * orphaning); a person's `autogen_notes.txt` or `autogen_x_for_Y.txt` is not one of ours.
 */
export function isGeneratedName(name: string): boolean {
  return GENERATED_RE.test(name);
}
