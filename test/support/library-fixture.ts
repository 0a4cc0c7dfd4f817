/**
 * A throw-away library on disk: config, map, components and state in a fresh temp directory.
 */
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempLibrary {
  root: string;
  configFile: string;
  mapFile: string;
  componentsDir: string;
  stateDir: string;
  socketPath: string;
  cleanup(): Promise<void>;
}

export interface LibraryOptions {
  map?: Record<string, Record<string, string>>;
  components?: Record<string, string>; // "protocols/x.txt" -> text
  config?: Record<string, unknown>;
}

export const DEFAULT_MAP = {
  DIAGNOSE_ROOT_CAUSE: { protocol: 'root_cause_analysis_drilldown.txt', persona: 'sre.txt' },
  REVIEW: { protocol: 'review.txt' },
};

export async function makeLibrary(opts: LibraryOptions = {}): Promise<TempLibrary> {
  // Short root: Unix socket paths are limited to 107 bytes.
  const root = await mkdtemp(join(tmpdir(), 'jitd-'));
  const configDir = join(root, 'config');
  const componentsDir = join(root, 'components');
  await mkdir(configDir, { recursive: true });
  await mkdir(join(componentsDir, 'protocols'), { recursive: true });
  await mkdir(join(componentsDir, 'personas'), { recursive: true });
  const components = opts.components ?? { 'personas/sre.txt': 'You are an SRE.\n', 'protocols/review.txt': 'Review it.\n' };
  for (const [rel, text] of Object.entries(components)) {
    await mkdir(join(componentsDir, rel, '..'), { recursive: true });
    await writeFile(join(componentsDir, rel), text);
  }
  const mapFile = join(configDir, 'goal_map.json');
  await writeFile(mapFile, `${JSON.stringify(opts.map ?? DEFAULT_MAP, null, 2)}\n`);
  const configFile = join(configDir, 'jitd.json');
  const config = { debounceMs: 50, log: { level: 'debug' }, ...opts.config };
  await writeFile(configFile, JSON.stringify(config, null, 2));
  return {
    root,
    configFile,
    mapFile,
    componentsDir,
    stateDir: join(root, '.jitd'),
    socketPath: join(root, '.jitd', 'jitd.sock'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
