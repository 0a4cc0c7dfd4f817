/**
 * The one builder of throw-away libraries on disk: config, map, components and state in a fresh
 * temp directory. Every test that needs a library on the real file system builds it here (the
 * in-process daemon of daemon-fixture.ts, the real daemons of e2e/ and hardening/).
 *
 * With `sentinel`, the library is built inside an *outer* directory that also holds a sentinel
 * tree: anything jitd writes outside its three places lands in the outer directory (or, through a
 * symlink, in the sentinel), where a before/after snapshot sees it (hardening/support.ts).
 */
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface TempLibrary {
  /** The directory removed by `cleanup`: `root`, or with `sentinel` the directory holding it. */
  outer: string;
  /** The library root: config/, components/, .jitd/ */
  root: string;
  configFile: string;
  mapFile: string;
  componentsDir: string;
  stateDir: string;
  socketPath: string;
  /** With `sentinel`: a directory outside the library that symlinks may point at; jitd must never write in it. */
  sentinel?: string;
  cleanup(): Promise<void>;
}

export interface LibraryOptions {
  /** The goal map (default {@link DEFAULT_MAP}). */
  map?: unknown;
  /** Raw map text (wins over `map`). */
  mapText?: string;
  components?: Record<string, string>; // "protocols/x.txt" -> text
  /** Merged over `{ debounceMs: 50, log: { level: 'debug' } }`. */
  config?: Record<string, unknown>;
  /** Build the library at `<outer>/lib` beside a sentinel tree `<outer>/outside`. */
  sentinel?: boolean;
  /** The temp directory's name prefix. */
  prefix?: string;
}

export const DEFAULT_MAP = {
  DIAGNOSE_ROOT_CAUSE: { protocol: 'root_cause_analysis_drilldown.txt', persona: 'sre.txt' },
  REVIEW: { protocol: 'review.txt' },
};

export const DEFAULT_COMPONENTS: Record<string, string> = {
  'personas/sre.txt': 'You are an SRE.\n',
  'protocols/review.txt': 'Review it.\n',
};

/** The paths of a library at `root` (its socket where the config puts it: `<root>/<socketPath>`). */
export function libraryAt(outer: string, root: string, socketPath = join(root, '.jitd', 'jitd.sock')): TempLibrary {
  return {
    outer,
    root,
    configFile: join(root, 'config', 'jitd.json'),
    mapFile: join(root, 'config', 'goal_map.json'),
    componentsDir: join(root, 'components'),
    stateDir: join(root, '.jitd'),
    socketPath,
    ...(outer === root ? {} : { sentinel: join(outer, 'outside') }),
    cleanup: () => rm(outer, { recursive: true, force: true }),
  };
}

export async function makeLibrary(opts: LibraryOptions = {}): Promise<TempLibrary> {
  // Short root: Unix socket paths are limited to 107 bytes.
  const outer = await mkdtemp(join(tmpdir(), opts.prefix ?? 'jitd-'));
  const root = opts.sentinel ? join(outer, 'lib') : outer;
  if (opts.sentinel) {
    const sentinel = join(outer, 'outside');
    await mkdir(join(sentinel, 'protocols'), { recursive: true });
    await writeFile(join(sentinel, 'secret.txt'), 'do not touch\n');
    await writeFile(join(sentinel, 'protocols', 'leak.txt'), 'outside the library\n');
  }
  const config: Record<string, unknown> = { debounceMs: 50, log: { level: 'debug' }, ...opts.config };
  const socketPath = typeof config.socketPath === 'string' ? resolve(root, 'config', config.socketPath) : undefined;
  const lib = libraryAt(outer, root, socketPath);
  await mkdir(join(root, 'config'), { recursive: true });
  await mkdir(join(lib.componentsDir, 'protocols'), { recursive: true });
  await mkdir(join(lib.componentsDir, 'personas'), { recursive: true });
  for (const [rel, text] of Object.entries(opts.components ?? DEFAULT_COMPONENTS)) {
    await mkdir(join(lib.componentsDir, rel, '..'), { recursive: true });
    await writeFile(join(lib.componentsDir, rel), text);
  }
  await writeFile(lib.mapFile, opts.mapText ?? `${JSON.stringify(opts.map ?? DEFAULT_MAP, null, 2)}\n`);
  await writeFile(lib.configFile, JSON.stringify(config, null, 2));
  return lib;
}
