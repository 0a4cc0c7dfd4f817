/**
 * The library context of a request on a temp library (library-fixture.ts), built the way the
 * engine builds it: the real component scan, the real map parser, the real file system.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { gatherContext, type ContextTarget, type GenerationContext } from '../../src/generation/context.js';
import { parseGoalMap } from '../../src/library/goal-map.js';
import { generatedName } from '../../src/library/names.js';
import { scanComponents } from '../../src/library/component-index.js';
import type { TempLibrary } from './library-fixture.js';

export interface ContextOptions {
  contextBytes?: number;
  /** Default `<config dir>/prompts`, as the config's default. */
  promptsDir?: string;
}

/** The context for `(goal, type, filename)` on `lib` as it is on disk now. */
export async function contextFor(lib: TempLibrary, goal: string, type: string, filename: string, opts: ContextOptions = {}): Promise<GenerationContext> {
  const map = parseGoalMap(await readFile(lib.mapFile, 'utf8'));
  const { index } = await scanComponents(nodeFs, lib.componentsDir);
  const target: ContextTarget = { goal, type, filename, generatedName: generatedName(goal, type) };
  return gatherContext(
    {
      fs: nodeFs,
      componentsDir: lib.componentsDir,
      promptsDir: opts.promptsDir ?? join(dirname(lib.configFile), 'prompts'),
      contextBytes: opts.contextBytes ?? 32_768,
      map,
      index,
    },
    target,
  );
}
