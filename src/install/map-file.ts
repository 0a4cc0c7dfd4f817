/**
 * Reading the map file safely. The map must be a regular file: a FIFO would block a read
 * forever, a directory cannot be parsed, and jitd will not replace a symlink with a file
 * (it would write somewhere a person did not point it). Each case is a typed, reportable error.
 *
 * Read-if-changed ({@link readMapIfChanged}) is the one way a known parse is reused: the bytes
 * are always read, the parse is made again only when they differ (a 50,000-goal map costs
 * ~200 ms to parse). The daemon's copy of the map as last read is map-state.ts.
 */
import { createHash } from 'node:crypto';
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

/** The SHA-256 (hex) of map bytes: how a parse made earlier is recognised as still current. */
export const mapHash = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A parse made earlier, known by its bytes or by their {@link mapHash}. */
export type KnownMap = MapSnapshot | { sha256: string; map: ParsedMap };

/**
 * Reads the map; reuses `known`'s parse (the same object) if the bytes are the ones it was made
 * from, else parses them. Throws MapUnavailableError or MapParseError.
 */
export async function readMapIfChanged(fs: FsLayer, mapFile: string, known: KnownMap | undefined): Promise<MapSnapshot> {
  if (!known) return readMap(fs, mapFile);
  const bytes = await readMapBytes(fs, mapFile);
  const same = 'bytes' in known ? bytes.equals(known.bytes) : mapHash(bytes) === known.sha256;
  return { bytes, map: same ? known.map : parseGoalMap(bytes.toString('utf8')) };
}
