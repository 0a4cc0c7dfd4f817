/**
 * The goal map (SPEC §1): `{ "<GOAL>": { "<type>": "<filename>" } }`. Parsing never throws for
 * bad entries: each one becomes a {@link MapProblem} and is skipped; only text that is not a
 * JSON object at all is a {@link MapParseError} (the caller keeps its last good map).
 * Serialising keeps the person's key order and indentation style.
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

/** Serialises the map as a person would keep it: same indentation, trailing newline. */
export function serializeGoalMap(json: Record<string, unknown>, indent: string | number = 2): string {
  return `${JSON.stringify(json, null, indent)}\n`;
}
