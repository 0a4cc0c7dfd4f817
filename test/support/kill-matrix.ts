/**
 * The kill matrix's shared set-up (contract §4): a template library, cases copied from it, the
 * crash child (crash-child.mjs) run on a case, its trace read into steps and marks, the crash
 * points of a trace, and the checks every point makes (killed at the point, recovered, no temp
 * left). test/install/kill-matrix.test.ts (install, review, restore) and
 * test/install/kill-matrix-regenerate.test.ts (regeneration, replacement) are built from it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import PQueue from 'p-queue';
import { MUTATING_OPS, type StepOp } from './fault-fs.js';
import { generatedName } from '../../src/library/names.js';

const CHILD = fileURLToPath(new URL('./crash-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist-test/test/support/fault-fs.js', import.meta.url));

/**
 * The time a matrix's set-up may take. Its work is CPU-bound (two Node processes per crash
 * point: ~200 s alone on 2 cores), so a loaded or slow machine must not turn it into a failure.
 */
export const MATRIX_TIMEOUT_MS = 900_000;

export const GOAL = 'DIAGNOSE_ROOT_CAUSE';
export const TYPE = 'persona';
export const MISSING = 'skeptical_sre.txt';
export const GENERATED = generatedName(GOAL, TYPE);
export const ANSWER = 'A skeptical SRE who asks for evidence';
/** What the crash child's fake provider writes for the first generation. */
export const CONTENT = `You are ${GOAL} ${TYPE}.\nDescription: ${ANSWER}\n`;
/** What it writes for a regeneration with `feedback` (it names the feedback). */
export const regeneratedText = (feedback: string) => `You are ${GOAL} ${TYPE}, regenerated.\nFeedback: ${feedback}\n`;
export const MAP = {
  [GOAL]: { protocol: 'root_cause_analysis_drilldown.txt', [TYPE]: MISSING },
  WRITE_RELEASE_NOTES: { format: 'release_notes_format.txt' },
};
export const FINAL_MAP = { ...MAP, [GOAL]: { ...MAP[GOAL], [TYPE]: GENERATED } };

/** A copy of a library with the crash child's counters: model calls and questions asked. */
export interface Case {
  dir: string;
  lib: string;
  callsFile: string;
  askedFile: string;
  traceFile: string;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A crash point of the matrix: `before:`/`after:` a traced step, with its position. */
export interface Point {
  name: string;
  /** Position of the state it leaves: before step i = i - 0.5, after step i = i. */
  at: number;
  /** The SIGKILL state it leaves (see {@link pointsOf}): points of one state leave the same library. */
  state: number;
}

/** A matrix's working directory: the template library and the cases made from it. */
export interface Matrix {
  work: string;
  template: string;
  /** A new case: a copy of the template library, or of an earlier case (library and counters). */
  freshCase(from?: Case): Promise<Case>;
  close(): Promise<void>;
}

export async function makeTemplate(dir: string): Promise<void> {
  await mkdir(join(dir, 'config'), { recursive: true });
  await mkdir(join(dir, 'components', 'protocols'), { recursive: true });
  await mkdir(join(dir, 'components', 'formats'), { recursive: true });
  await writeFile(join(dir, 'config', 'jitd.json'), '{}\n');
  await writeFile(join(dir, 'config', 'goal_map.json'), `${JSON.stringify(MAP, null, 2)}\n`);
  await writeFile(join(dir, 'components', 'protocols', 'root_cause_analysis_drilldown.txt'), 'Drill down.\n');
  await writeFile(join(dir, 'components', 'formats', 'release_notes_format.txt'), '## Notes\n');
}

/** A temp directory with the template library (the child's fault layer must be built: dist-test/). */
export async function openMatrix(): Promise<Matrix> {
  if (!existsSync(DIST)) throw new Error('dist-test/ is missing: run `npx tsc -p tsconfig.support.json` (npm test builds first)');
  const work = await mkdtemp(join(tmpdir(), 'jitd-kill-'));
  const template = join(work, 'template');
  await makeTemplate(template);
  let caseNo = 0;
  return {
    work,
    template,
    async freshCase(from) {
      const dir = join(work, `c${caseNo++}`);
      const lib = join(dir, 'lib');
      await cp(from?.lib ?? template, lib, { recursive: true });
      const c = { dir, lib, callsFile: join(dir, 'calls'), askedFile: join(dir, 'asked'), traceFile: join(dir, 'trace') };
      await writeFile(c.callsFile, from ? await readFile(from.callsFile) : '');
      await writeFile(c.askedFile, from ? await readFile(from.askedFile) : '');
      return c;
    },
    close: () => rm(work, { recursive: true, force: true }),
  };
}

/** Runs the crash child on `c` (crash-child.mjs documents `extra`: review, inPlace, regenerate). */
export function runChild(c: Case, env: Record<string, string>, extra: Record<string, unknown> = {}): Promise<ChildResult> {
  const spec = {
    configFile: join(c.lib, 'config', 'jitd.json'),
    goal: GOAL,
    type: TYPE,
    answer: ANSWER,
    callsFile: c.callsFile,
    askedFile: c.askedFile,
    ...extra,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(spec)], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export const lines = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter(Boolean);

export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/**
 * What a restarted process would find in a case: every directory and file of the library (temp
 * names' random tails and ISO timestamps masked: they differ from run to run) and the child's
 * counters. Two crash points leave the same state when their snapshots are equal.
 */
export async function snapshotOf(c: Case): Promise<string> {
  const mask = (t: string) => t.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>').replace(/(\.jitd-tmp\.[^/]*\.)[0-9a-f]{12}/g, '$1<rand>');
  const out: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        out.push(`${mask(relative(c.lib, p))}/`);
        await visit(p);
      } else out.push(`${mask(relative(c.lib, p))}: ${mask(await readFile(p, 'utf8'))}`);
    }
  };
  await visit(c.lib);
  out.push(`calls: ${await readFile(c.callsFile, 'utf8')}`, `asked: ${await readFile(c.askedFile, 'utf8')}`);
  return out.join('\n');
}

/** A traced run: its lines (marks included), its steps, and for each `#mark` the position of the last step before it (first occurrence). */
export interface Trace {
  lines: string[];
  steps: string[];
  marks: Map<string, number>;
}

export async function readTrace(file: string): Promise<Trace> {
  const all = await lines(file);
  const steps: string[] = [];
  const marks = new Map<string, number>();
  for (const line of all) {
    if (!line.startsWith('#')) steps.push(line);
    else if (!marks.has(line.slice(1))) marks.set(line.slice(1), steps.length - 1);
  }
  return { lines: all, steps, marks };
}

/** The first step after position `from` that starts with `prefix` (-1: none). */
export const firstAfter = (steps: readonly string[], from: number, prefix: string) => steps.findIndex((s, i) => i > from && s.startsWith(prefix));

/** The last step at or before position `at` that starts with `prefix` (-1: none). */
export function lastAtOrBefore(steps: readonly string[], at: number, prefix: string): number {
  for (let i = Math.min(at, steps.length - 1); i >= 0; i--) if (steps[i]?.startsWith(prefix)) return i;
  return -1;
}

export const isMutating = (step: string) => MUTATING_OPS.has(step.slice(0, step.indexOf(':')) as StepOp);
export const mutatingSteps = (steps: readonly string[]) => steps.filter(isMutating);

/**
 * The steps a SIGKILL cannot tell apart. It leaves the page cache as it was: an fsync makes data
 * survive a power cut (the power-loss simulation's part, test/install/power-loss*.test.ts) and
 * changes nothing a restarted process can read.
 */
const INVISIBLE_TO_SIGKILL = new Set(['fsync', 'fsyncdir']);

/**
 * Crash points of a trace: before and after each mutating step at or after step position
 * `from`, positioned. `trace` is the trace's lines, marks included (a `#mark` line records
 * what the child did outside the file-system layer: a model call, an acknowledgement, a
 * person's save).
 *
 * Each point also gets its SIGKILL state: a number that changes after every step a restarted
 * process can see (every mutating step but an fsync) and at every mark. Two points of one
 * state leave the same library, the same counters and the same acknowledgements, so a restart
 * cannot tell them apart; {@link runStates} runs one point per state.
 */
export function pointsOf(trace: readonly string[], from = 0): Point[] {
  const out: Point[] = [];
  let i = -1;
  let state = 0;
  for (const line of trace) {
    if (line.startsWith('#')) {
      state++;
      continue;
    }
    i++;
    if (!isMutating(line)) continue;
    if (i >= from) out.push({ name: `before:${line}`, at: i - 0.5, state });
    if (!INVISIBLE_TO_SIGKILL.has(line.slice(0, line.indexOf(':')))) state++;
    if (i >= from) out.push({ name: `after:${line}`, at: i, state });
  }
  return out;
}

/**
 * Crash children at once, across every matrix of a test file: two, for 2 cores (each child is
 * CPU-bound: Node's start, jitd's imports, the engine's work).
 */
const children = new PQueue({ concurrency: 2 });

/** Runs `run` on every element, two child processes at a time across the file; results in `list`'s order. */
export function runMatrix<P, R>(list: readonly P[], run: (p: P) => Promise<R>): Promise<R[]> {
  return Promise.all(list.map((p) => children.add(() => run(p))));
}

/** `JITD_MATRIX_EVERY_POINT=1` runs every crash point, not one per SIGKILL state. */
export const EVERY_POINT = process.env.JITD_MATRIX_EVERY_POINT === '1';

/**
 * Runs one point per SIGKILL state ({@link pointsOf}) and answers a result for every point: a
 * point not run shares the result of the one run for its state, `ranAs` naming it. The one run
 * is the state's last point, the furthest on: a check that starts to apply from a position
 * (`p.at >= x`, x a mark) applies to it if to any point of its state. Every point runs with
 * {@link EVERY_POINT}.
 */
export async function runStates<R extends { point: string }>(points: readonly Point[], run: (p: Point) => Promise<R>): Promise<(R & { ranAs?: string })[]> {
  const last = new Map<number, Point>();
  for (const p of points) last.set(p.state, p);
  const runs = EVERY_POINT ? points : [...last.values()];
  const results = new Map((await runMatrix(runs, run)).map((r, k) => [runs[k], r] as const));
  return points.map((p) => {
    const own = results.get(p);
    if (own) return own;
    const rep = last.get(p.state)!;
    return { ...results.get(rep)!, point: p.name, ranAs: rep.name };
  });
}

/** How many SIGKILL states the points leave, and how many points were run for them. */
export function statesRun(results: readonly { ranAs?: string }[]): string {
  const ran = results.filter((r) => r.ranAs === undefined).length;
  return EVERY_POINT ? `every point run` : `${ran} run, one per SIGKILL state`;
}

/** The problem of a crash run that did not end by SIGKILL at its point. */
export function notKilled(crash: ChildResult): string[] {
  return crash.signal === 'SIGKILL' ? [] : [`child was not killed at the point (code ${crash.code}, signal ${crash.signal}): ${crash.stderr.slice(0, 300)}`];
}

/** The problem of a recover run that did not exit 0. */
export function notRecovered(recover: ChildResult): string[] {
  return recover.code === 0 ? [] : [`recover run failed (code ${recover.code}, signal ${recover.signal}): ${recover.stderr.slice(0, 500)}`];
}

/** jitd temps left anywhere in the library (`rel`: its files, relative). */
export function tempsLeft(rel: readonly string[]): string[] {
  const temps = rel.filter((f) => f.includes('.jitd-tmp.') || f.endsWith('goal_map.json.tmp'));
  return temps.length ? [`temp files left: ${temps.join(', ')}`] : [];
}

/** The library's files, relative to it. */
export async function libraryFiles(c: Case): Promise<string[]> {
  return (await walk(c.lib)).map((f) => relative(c.lib, f));
}

/** The map parsed, or the problem (`what` names the check) if it is not `expected`. */
export async function mapProblems(c: Case, expected: unknown, what = 'map'): Promise<string[]> {
  const text = await readFile(join(c.lib, 'config', 'goal_map.json'), 'utf8');
  let map: unknown;
  try {
    map = JSON.parse(text);
  } catch {
    return [`${what}: unparsable: ${text.slice(0, 80)}`];
  }
  return JSON.stringify(map) === JSON.stringify(expected) ? [] : [`${what}: ${JSON.stringify(map)}`];
}

/** The failures of a matrix's results, one line each. */
export const failuresOf = (results: readonly { point: string; problems: string[] }[], prefix = '') =>
  results.filter((r) => r.problems.length).map((r) => `${prefix}${r.point}: ${r.problems.join('; ')}`);
