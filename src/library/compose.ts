/**
 * `jitctl compose GOAL`: the assembled prompt for a goal — its components in map order.
 * Reads only inside componentsDir (a component that is a symlink pointing out is refused).
 */
import type { FsLayer } from '../fsio/fs-layer.js';
import { hasCode } from '../fsio/fs-layer.js';
import { JitdError } from '../fsio/errors.js';
import type { ParsedMap } from './goal-map.js';
import { componentPath, escapesRoot } from './paths.js';

export interface ComposedPart {
  type: string;
  filename: string;
  path: string;
  status: 'ok' | 'missing' | 'refused';
  text?: string;
}

export interface Composition {
  goal: string;
  parts: ComposedPart[];
  /** The parts' texts joined by a blank line; missing parts are left out. */
  text: string;
}

export class UnknownGoalError extends JitdError {
  constructor(goal: string) {
    super('ENOGOAL', `the map has no goal ${JSON.stringify(goal)}`);
  }
}

export async function compose(fs: FsLayer, componentsDir: string, map: ParsedMap, goal: string): Promise<Composition> {
  const entries = map.entries.filter((e) => e.goal === goal);
  if (!entries.length && !Object.hasOwn(map.json, goal)) throw new UnknownGoalError(goal);
  const parts: ComposedPart[] = [];
  for (const e of entries) {
    const path = componentPath(componentsDir, e.type, e.filename);
    if (await escapesRoot(fs, componentsDir, path)) {
      parts.push({ type: e.type, filename: e.filename, path, status: 'refused' });
      continue;
    }
    try {
      const text = (await fs.readFile(path)).toString('utf8');
      parts.push({ type: e.type, filename: e.filename, path, status: 'ok', text });
    } catch (err) {
      if (!hasCode(err, 'ENOENT', 'EISDIR')) throw err;
      parts.push({ type: e.type, filename: e.filename, path, status: 'missing' });
    }
  }
  const text = parts
    .filter((p) => p.status === 'ok')
    .map((p) => (p.text ?? '').replace(/\n+$/, ''))
    .join('\n\n');
  return { goal, parts, text: text ? `${text}\n` : '' };
}
