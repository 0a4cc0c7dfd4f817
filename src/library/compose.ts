/**
 * `jitctl compose GOAL`: the assembled prompt for a goal — its components in map order.
 * Reads only inside componentsDir (a component that is a symlink pointing out is refused), and
 * only regular files: a FIFO is refused without being opened for a blocking read (which would
 * hold one of libuv's four pool threads until a writer came, and with four of them every file
 * operation of the daemon).
 */
import type { FsLayer } from '../fsio/fs-layer.js';
import { hasCode } from '../fsio/fs-layer.js';
import { JitdError, NotRegularFileError } from '../fsio/errors.js';
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

/**
 * Reads one component `<type>s/<filename>` as compose does: `ok` with its text, `missing` (absent
 * or a directory), or `refused` (it resolves outside componentsDir, or is a FIFO, socket or
 * device). Never blocks on a FIFO. Used by compose and by generation's library context.
 */
export async function readPart(fs: FsLayer, componentsDir: string, type: string, filename: string): Promise<ComposedPart> {
  const path = componentPath(componentsDir, type, filename);
  const part = { type, filename, path };
  if (await escapesRoot(fs, componentsDir, path)) return { ...part, status: 'refused' };
  try {
    const text = (await fs.readRegularFile(path)).toString('utf8');
    return { ...part, status: 'ok', text };
  } catch (err) {
    if (err instanceof NotRegularFileError) return { ...part, status: err.kind === 'dir' ? 'missing' : 'refused' };
    if (hasCode(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) return { ...part, status: 'missing' };
    if (hasCode(err, 'ENXIO')) return { ...part, status: 'refused' }; // a Unix socket
    throw err;
  }
}

/**
 * Assembles `goal`'s prompt from its components, in map order. Parts that are missing (or a
 * directory) are left out; parts that resolve outside componentsDir or are not regular files
 * are refused. Throws UnknownGoalError for a goal the map does not have.
 */
export async function compose(fs: FsLayer, componentsDir: string, map: ParsedMap, goal: string): Promise<Composition> {
  const entries = map.entries.filter((e) => e.goal === goal);
  if (!entries.length && !Object.hasOwn(map.json, goal)) throw new UnknownGoalError(goal);
  const parts: ComposedPart[] = [];
  for (const e of entries) parts.push(await readPart(fs, componentsDir, e.type, e.filename));
  const text = parts
    .filter((p) => p.status === 'ok')
    .map((p) => (p.text ?? '').replace(/\n+$/, ''))
    .join('\n\n');
  return { goal, parts, text: text ? `${text}\n` : '' };
}
