/**
 * A small library on the in-memory file system, and the checks of contract §4 run on a crash image.
 */
import { join } from 'node:path';
import pino from 'pino';
import type { FsLayer } from '../../src/fsio/fs-layer.js';
import type { Provider } from '../../src/generation/provider.js';
import { resolveConfig, type Config } from '../../src/library/config.js';
import { isGeneratedName } from '../../src/library/names.js';
import { Engine } from '../../src/jobs/engine.js';
import { MemFs } from '../support/mem-fs.js';

export const ROOT = '/lib';
export const CONFIG_FILE = `${ROOT}/config/jitd.json`;
export const MAP_FILE = `${ROOT}/config/goal_map.json`;
export const COMPONENTS = `${ROOT}/components`;
export const STATE = `${ROOT}/.jitd`;

export const GOAL = 'DIAGNOSE_ROOT_CAUSE';
export const TYPE = 'persona';
export const MISSING = 'skeptical_sre.txt';
export const GENERATED = 'autogen_persona_for_diagnose_root_cause.txt';
export const GENERATED_PATH = `${COMPONENTS}/personas/${GENERATED}`;
export const ANSWER = 'A skeptical SRE who asks for evidence before any conclusion';

/** The person's map: one missing component among entries that must all be kept. */
export const ORIGINAL_MAP = {
  [GOAL]: { protocol: 'root_cause_analysis_drilldown.txt', [TYPE]: MISSING },
  WRITE_RELEASE_NOTES: { format: 'release_notes_format.txt' },
  REVIEW_CODE: { protocol: 'code_review_checklist.txt', persona: 'reviewer.txt' },
};
export const ORIGINAL_MAP_TEXT = `${JSON.stringify(ORIGINAL_MAP, null, 2)}\n`;
export const REPOINTED_MAP = { ...ORIGINAL_MAP, [GOAL]: { ...ORIGINAL_MAP[GOAL], [TYPE]: GENERATED } };

export const expectedContent = (description: string) => `You are ${GOAL} persona.\nDescription: ${description}\n`;

export function config(): Config {
  return resolveConfig({ orphans: 'quarantine' }, CONFIG_FILE, {});
}

/**
 * A fresh library: the map, the components the map names (but not the persona dir, so the
 * install has to create it), and optionally an existing state directory. Checkpointed: all
 * of it is durable.
 */
export function makeMemLibrary(opts: { stateDir?: boolean } = {}): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP_FILE, ORIGINAL_MAP_TEXT);
  fs.writeFile(CONFIG_FILE, '{}\n');
  fs.writeFile(`${COMPONENTS}/protocols/root_cause_analysis_drilldown.txt`, 'Drill down.\n');
  fs.writeFile(`${COMPONENTS}/protocols/code_review_checklist.txt`, 'Check the code.\n');
  fs.writeFile(`${COMPONENTS}/formats/release_notes_format.txt`, '## Notes\n');
  fs.mkdirpSync(`${COMPONENTS}/reviewers`); // an unrelated empty dir
  fs.writeFile(`${COMPONENTS}/personas-archive/old.txt`, 'x\n');
  if (opts.stateDir ?? true) fs.mkdirpSync(`${STATE}/requests`, 0o700);
  fs.checkpoint();
  return fs;
}

/** A provider that writes a fixed text from the description and counts its calls. */
/** Writes expectedContent(description), or `regenerated` for a regeneration if given; counts its calls. */
export function countingProvider(regenerated?: string): Provider & { calls: number } {
  const p = {
    name: 'fake',
    calls: 0,
    async generate(input: { goal: string; type: string; description: string; regeneration?: unknown }) {
      p.calls++;
      return input.regeneration && regenerated !== undefined ? regenerated : expectedContent(input.description);
    },
  };
  return p;
}

const silent = pino({ level: 'silent' });

export function engineOn(fs: FsLayer, provider: Provider): Engine {
  return new Engine({ fs, config: config(), provider, log: silent });
}

/** Drives the whole flow to done: start (reconcile), answer if asked, generate, install. */
export async function runToDone(fs: FsLayer, provider: Provider, hooks: { afterAnswer?: () => void } = {}): Promise<{ asked: number }> {
  const engine = engineOn(fs, provider);
  await engine.start();
  let asked = 0;
  for (const r of engine.store.all()) {
    if (r.state === 'waiting' && r.goal === GOAL && r.type === TYPE) {
      asked++;
      await engine.answer(r.id, ANSWER);
      hooks.afterAnswer?.();
    }
  }
  await engine.idle();
  await engine.stop();
  return { asked };
}

/** Files of `fs` that violate invariant 2: temps, seed temps, unreferenced generated files. */
export function leftovers(fs: MemFs): string[] {
  const bad: string[] = [];
  let map: Record<string, Record<string, string>> = {};
  try {
    map = JSON.parse(fs.read(MAP_FILE) ?? '');
  } catch {
    /* reported by the caller */
  }
  const referenced = new Set<string>();
  for (const entries of Object.values(map)) for (const [type, file] of Object.entries(entries)) referenced.add(join(COMPONENTS, `${type}s`, file));
  for (const path of fs.walk(ROOT)) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (name.startsWith('.jitd-tmp.')) bad.push(`temp file left: ${path}`);
    if (path === `${MAP_FILE}.tmp`) bad.push(`seed temp left: ${path}`);
    if (path.startsWith(`${COMPONENTS}/`) && isGeneratedName(name) && !referenced.has(path)) bad.push(`unreferenced generated file: ${path}`);
  }
  return bad;
}

/**
 * Invariants 1 and 4 on an image: the map parses, equals the person's map with the one entry
 * either as it was or repointed, and a repointed entry names a complete file.
 */
export function mapViolations(fs: MemFs, content: string): string[] {
  const text = fs.read(MAP_FILE);
  if (text === undefined) return ['map missing'];
  let map: unknown;
  try {
    map = JSON.parse(text);
  } catch {
    return [`map unparsable: ${JSON.stringify(text.slice(0, 60))}`];
  }
  const asStr = JSON.stringify(map);
  if (asStr !== JSON.stringify(ORIGINAL_MAP) && asStr !== JSON.stringify(REPOINTED_MAP)) return [`map is neither old nor new: ${asStr}`];
  if (asStr === JSON.stringify(REPOINTED_MAP)) {
    const g = fs.read(GENERATED_PATH);
    if (g === undefined) return ['invariant 1: the map names the generated file, which is missing'];
    if (g !== content) return [`invariant 1: the map names the generated file, which is incomplete: ${JSON.stringify(g.slice(0, 40))}`];
  }
  return [];
}

export const mapNamesGenerated = (fs: MemFs) =>
  fs.read(MAP_FILE) !== undefined && JSON.stringify(JSON.parse(fs.read(MAP_FILE) as string)) === JSON.stringify(REPOINTED_MAP);

export { MemFs, STATE as STATE_DIR };
export const REQUESTS_DIR = join(STATE, 'requests');

/**
 * Every crash image after each operation of `fs`'s log (`statesPerPoint` seeded images per
 * point), checked by `check`: the points, the states explored and every violation, named by the
 * operation it followed. The loop the power-loss tests share.
 */
export async function exploreCrashStates(fs: MemFs, seed: number, statesPerPoint: number, check: (image: MemFs) => Promise<string[]>) {
  let states = 0;
  const violations: string[] = [];
  for (let k = 0; k <= fs.log.length; k++) {
    for (const [i, image] of fs.crashStates(seed + k * 7919, statesPerPoint, { at: k }).entries()) {
      states++;
      const op = k > 0 ? fs.log[k - 1] : undefined;
      for (const m of await check(image)) violations.push(`after op ${k} (${op ? `${op.t} ${op.path}` : 'start'}), state ${i}: ${m}`);
    }
  }
  return { points: fs.log.length + 1, states, violations };
}
