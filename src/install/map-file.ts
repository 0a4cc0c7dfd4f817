/**
 * Reading the map file safely. The map must be a regular file: a FIFO would block a read
 * forever, a directory cannot be parsed, and jitd will not replace a symlink with a file
 * (it would write somewhere a person did not point it). Each case is a typed, reportable error.
 */
import { hasCode, type FsLayer } from '../fsio/fs-layer.js';
import { JitdError } from '../fsio/errors.js';
import { parseGoalMap, type ParsedMap } from '../library/goal-map.js';

/** Largest map jitd reads (a guard against a runaway file, not a product limit). */
export const MAX_MAP_BYTES = 64 * 1024 * 1024;

export class MapUnavailableError extends JitdError {
  constructor(code: 'ENOMAP' | 'EMAPKIND' | 'EMAPSIZE', message: string) {
    super(code, message);
  }
}

export interface MapSnapshot {
  /** The exact bytes read; a later re-read is compared against them. */
  bytes: Buffer;
  map: ParsedMap;
}

/** Reads the raw bytes of the map after checking it is a regular file of sane size. */
export async function readMapBytes(fs: FsLayer, mapFile: string): Promise<Buffer> {
  let kind: string;
  try {
    const st = await fs.lstat(mapFile);
    kind = st.kind;
    if (st.kind === 'file' && st.size > MAX_MAP_BYTES) {
      throw new MapUnavailableError('EMAPSIZE', `map ${mapFile} is ${st.size} bytes, over the ${MAX_MAP_BYTES}-byte limit`);
    }
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) throw new MapUnavailableError('ENOMAP', `map ${mapFile} does not exist`);
    throw err;
  }
  if (kind !== 'file') {
    throw new MapUnavailableError('EMAPKIND', `map ${mapFile} is a ${kind}, not a regular file; jitd reads and writes only a regular file there`);
  }
  try {
    return await fs.readFile(mapFile);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) throw new MapUnavailableError('ENOMAP', `map ${mapFile} does not exist`);
    throw err;
  }
}

/** Reads and parses the map; throws MapUnavailableError or MapParseError. */
export async function readMap(fs: FsLayer, mapFile: string): Promise<MapSnapshot> {
  const bytes = await readMapBytes(fs, mapFile);
  return { bytes, map: parseGoalMap(bytes.toString('utf8')) };
}
