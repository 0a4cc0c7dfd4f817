/**
 * The goal map (SPEC §1): `{ "<GOAL>": { "<type>": "<filename>" } }`. Parsing never throws for
 * bad entries: each one becomes a {@link MapProblem} and is skipped; only text that is not a
 * JSON object at all, or that nests deeper than {@link MAX_MAP_DEPTH}, is a {@link MapParseError}
 * (the caller keeps its last good map). Serialising keeps the person's key order and indentation.
 */
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

export type GoalMapJson = Record<string, Record<string, unknown>>;

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
 * two). JSON.parse takes any depth, but JSON.stringify recurses and overflows the stack a few
 * thousand levels down, and a pretty-printed deep value grows quadratically: jitd could not write
 * such a map back, so it is refused whole rather than crash or balloon on the first install.
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
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MapParseError(`map is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MapParseError('map must be a JSON object of goals');
  }
  const entries: MapEntry[] = [];
  const problems: MapProblem[] = [];
  const obj = json as Record<string, unknown>;
  let goals = 0;
  for (const [goal, value] of Object.entries(obj)) {
    goals++;
    if (nestsDeeperThan(value, 2, MAX_MAP_DEPTH)) {
      throw new MapParseError(`map nests deeper than ${MAX_MAP_DEPTH} levels under goal ${JSON.stringify(goal.slice(0, 80))}; jitd cannot safely write such a map back`);
    }
    if (goal.length > MAX_GOAL_LENGTH || goal.includes('\0')) {
      problems.push({ goal: goal.slice(0, 80), message: `goal name is over ${MAX_GOAL_LENGTH} characters or contains NUL` });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ goal, message: 'expected an object of "<type>": "<filename>"' });
      continue;
    }
    for (const [type, filename] of Object.entries(value as Record<string, unknown>)) {
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

/** Detects the indentation a person used (tab, or N spaces), default two spaces. */
export function detectIndent(text: string): string | number {
  const m = /^[{[]\s*\n([ \t]+)\S/.exec(text);
  if (!m?.[1]) return 2;
  return m[1].startsWith('\t') ? '\t' : m[1].length;
}

/**
 * Serialises the map as a person would keep it: same indentation, trailing newline. Safe for any
 * map {@link parseGoalMap} returned (its depth is bounded).
 */
export function serializeGoalMap(json: Record<string, unknown>, indent: string | number = 2): string {
  return `${JSON.stringify(json, null, indent)}\n`;
}
