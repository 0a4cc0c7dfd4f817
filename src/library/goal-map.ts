/**
 * The goal map (contract §1): `{ "<GOAL>": { "<type>": "<filename>" } }`. Parsing never throws for
 * bad entries: each one becomes a {@link MapProblem} and is skipped; only text that is not a
 * JSON object at all, or that nests deeper than {@link MAX_MAP_DEPTH}, is a {@link MapParseError}
 * (the caller keeps its last good map).
 *
 * The map is strict JSON (RFC 8259), as `JSON.parse` reads it: comments and trailing commas make
 * it "not valid JSON"; a leading UTF-8 byte-order mark is allowed (and kept when jitd edits the
 * map, see src/install/map-edit.ts). Duplicate keys mean what they mean to `JSON.parse`: the last
 * occurrence wins. Entries keep the order the person wrote them in, even for goals or types that
 * look like numbers (which a plain JavaScript object would move to the front).
 */
import { visit } from 'jsonc-parser';
import { JitdError } from '../fsio/errors.js';
import { filenameProblem, typeProblem } from './names.js';

export interface MapEntry {
  goal: string;
  type: string;
  filename: string;
}

export interface MapProblem {
  goal: string;
  type?: string;
  message: string;
}

export interface ParsedMap {
  /** The JSON as parsed, for writing back with jitd's change applied. */
  json: Record<string, unknown>;
  /** Valid entries in map order. */
  entries: MapEntry[];
  problems: MapProblem[];
  goals: number;
}

export class MapParseError extends JitdError {
  constructor(message: string) {
    super('EMAP', message);
  }
}

/** Longest goal name accepted; longer goals are reported and skipped. */
const MAX_GOAL_LENGTH = 1024;

/**
 * Deepest nesting of arrays and objects accepted, the map itself being level 1 (a real map has
 * two). JSON.parse takes any depth, but anything that walks such a value recursively (a
 * debugger, a log serialiser, a person's own tooling) overflows the stack a few thousand levels
 * down: a map like that is refused whole rather than carried around.
 */
export const MAX_MAP_DEPTH = 64;

/** True if `value` (at nesting level `level`) holds arrays/objects deeper than `limit`; iterative. */
function nestsDeeperThan(value: unknown, level: number, limit: number): boolean {
  const stack: [unknown, number][] = [[value, level]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [v, depth] = item;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Parses the map text. Bad entries become problems and are skipped; throws MapParseError for
 * text that is not a JSON object or that nests deeper than {@link MAX_MAP_DEPTH}.
 */
export function parseGoalMap(text: string): ParsedMap {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MapParseError(`map is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MapParseError('map must be a JSON object of goals');
  }
  const obj = json as Record<string, unknown>;
  // Key order puts array-index keys ("0", "10") first whatever the text says; only a map that has
  // one pays for a second pass in the order of its text (rare: goals are names, not numbers).
  return readEntries(obj, undefined) ?? readEntries(obj, textOrder(text));
}

/** Throws if `value`, at nesting level `level`, nests deeper than the map may. */
function checkDepth(value: unknown, level: number, goal: string): void {
  if (nestsDeeperThan(value, level, MAX_MAP_DEPTH)) {
    throw new MapParseError(
      `map nests deeper than ${MAX_MAP_DEPTH} levels under goal ${JSON.stringify(goal.slice(0, 80))}; jitd cannot safely write such a map back`,
    );
  }
}

/**
 * The entries and problems of `obj`, in key order (`order` undefined) or in the text's order.
 * Undefined, in key order, if an index key makes key order differ from the text's. The depth
 * check runs inside this one walk: a well-formed map has only strings at level 3, so only a
 * non-string value costs a walk of its own (one pass over 50,000 goals instead of two).
 */
function readEntries(obj: Record<string, unknown>, order: TextOrder): ParsedMap;
function readEntries(obj: Record<string, unknown>, order: undefined): ParsedMap | undefined;
function readEntries(obj: Record<string, unknown>, order: TextOrder | undefined): ParsedMap | undefined {
  const entries: MapEntry[] = [];
  const problems: MapProblem[] = [];
  const goalKeys = orderedKeys(obj, order?.goals);
  if (!order && goalKeys.length > 0 && isIndexKey(goalKeys[0] as string)) return undefined;
  let goals = 0;
  for (const goal of goalKeys) {
    const value = obj[goal];
    goals++;
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (goal.length > MAX_GOAL_LENGTH || goal.includes('\0')) {
      checkDepth(value, 2, goal);
      problems.push({ goal: goal.slice(0, 80), message: `goal name is over ${MAX_GOAL_LENGTH} characters or contains NUL` });
      continue;
    }
    if (!isObject) {
      checkDepth(value, 2, goal);
      problems.push({ goal, message: 'expected an object of "<type>": "<filename>"' });
      continue;
    }
    const types = order ? orderedKeys(value as Record<string, unknown>, order.types.get(goal)) : Object.keys(value);
    if (!order && types.length > 0 && isIndexKey(types[0] as string)) return undefined;
    for (const type of types) {
      const filename = (value as Record<string, unknown>)[type];
      if (typeof filename === 'object' && filename !== null) checkDepth(filename, 3, goal);
      const tp = typeProblem(type);
      if (tp) {
        problems.push({ goal, type: type.slice(0, 80), message: tp });
        continue;
      }
      if (typeof filename !== 'string') {
        problems.push({ goal, type, message: 'file name must be a string' });
        continue;
      }
      const fp = filenameProblem(filename);
      if (fp) {
        problems.push({ goal, type, message: `${fp}: ${JSON.stringify(filename.slice(0, 80))}` });
        continue;
      }
      entries.push({ goal, type, filename });
    }
  }
  return { json: obj, entries, problems, goals };
}

/** An array-index key ("0", "10"...): JavaScript objects list these first, whatever the text says. */
function isIndexKey(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 0x30 && c <= 0x39 && /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1;
}

/** Key order as written: goals, and each goal's types. */
interface TextOrder {
  goals: string[];
  types: Map<string, string[]>;
}

/**
 * The order the keys appear in the text: goals by first occurrence, and for each goal the keys
 * of its last occurrence (the one JSON.parse keeps). Only called on text JSON.parse accepted.
 */
function textOrder(text: string): TextOrder {
  const goals: string[] = [];
  const seen = new Set<string>();
  const types = new Map<string, string[]>();
  let depth = 0;
  let goal: string | undefined;
  let keys: string[] | undefined;
  visit(
    text,
    {
      onObjectBegin: () => {
        depth++;
        if (depth === 2 && goal !== undefined) types.set(goal, (keys = []));
      },
      onObjectEnd: () => {
        depth--;
        if (depth === 1) keys = undefined;
      },
      onArrayBegin: () => void depth++,
      onArrayEnd: () => void depth--,
      onObjectProperty: (property: string) => {
        if (depth === 1) {
          goal = property;
          types.delete(property);
          if (!seen.has(property)) {
            seen.add(property);
            goals.push(property);
          }
        } else if (depth === 2 && keys && !keys.includes(property)) keys.push(property);
      },
    },
    { disallowComments: true },
  );
  return { goals, types };
}

/** The keys of `obj` in `order` where given (own keys only; each once), else in key order. */
function orderedKeys(obj: Record<string, unknown>, order: readonly string[] | undefined): string[] {
  const keys = Object.keys(obj);
  if (!order) return keys;
  const out = order.filter((k) => Object.hasOwn(obj, k));
  // Anything the text scan did not name (it cannot happen for text JSON.parse read) still counts.
  return out.length === keys.length ? out : keys;
}
