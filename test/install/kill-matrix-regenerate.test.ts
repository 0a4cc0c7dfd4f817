/**
 * The kill matrix (contract §4) for regeneration and the replacement of an installed file
 * (docs/review.md): the crash child installs a component, then asks for a regeneration with
 * feedback (engine.regenerate, as the daemon's handler does) and SIGKILLs itself at one traced
 * step; a recover run on what it left resumes whatever is left (a durable `regenerating` intent,
 * a `replacing` record, a draft to approve). Three flows, every mutating step of each:
 *  - auto: the new candidate replaces the installed file (the map unchanged); its points start
 *    at the first install's publish, so a crash that leaves the install to a roll-forward is
 *    followed by a regeneration too;
 *  - review: the regeneration becomes a draft, which is approved and replaces the file;
 *  - edited: a person saved their own text over the installed file before the regeneration:
 *    the file is never overwritten, the regeneration is a draft, their version a candidate.
 *
 * What a crash may cost: the model is paid for a regeneration's candidate at most once once its
 * text is on disk (the rename of its `<n>.txt`); a crash before that may lose an answer the model
 * gave, and the recover run pays for it once more (at most 2 calls in all, at most 1 in
 * recovery). The model is never called before the intent is on disk.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/install/replace-component.js';
import { requestId } from '../../src/requests/request.js';
import {
  CONTENT,
  FINAL_MAP,
  GENERATED,
  GOAL,
  MISSING,
  TYPE,
  failuresOf,
  firstAfter,
  lastAtOrBefore,
  libraryFiles,
  lines,
  mapProblems,
  mutatingSteps,
  notKilled,
  notRecovered,
  openMatrix,
  pointsOf,
  readTrace,
  regeneratedText,
  runChild,
  runStates,
  statesRun,
  tempsLeft,
  type Case,
  MATRIX_TIMEOUT_MS,
  type Matrix,
  type Point,
} from '../support/kill-matrix.js';

const ID = requestId(GOAL, TYPE, MISSING);
const FEEDBACK = 'shorter, one question per step';
const NEW = regeneratedText(FEEDBACK);
const PERSONS = 'My own persona, saved by hand over the generated one.\n';
const COMPONENT = join('components', `${TYPE}s`, GENERATED);
const RECORD = join('.jitd', 'requests', `${ID}.json`);
const CANDIDATES = join('.jitd', 'candidates', ID);

type Flow = 'auto' | 'review' | 'edited';
const specOf = (flow: Flow) => ({
  regenerate: { feedback: FEEDBACK, ...(flow === 'review' ? { review: true } : {}), ...(flow === 'edited' ? { personEdit: PERSONS } : {}) },
});

interface RecordOnDisk {
  state: string;
  candidate?: number;
  componentSha256?: string;
  regenerating?: unknown;
  replacing?: number;
}

const readOrUndefined = async (path: string) => (existsSync(path) ? readFile(path, 'utf8') : undefined);
const recordOf = async (c: Case) => {
  const text = await readOrUndefined(join(c.lib, RECORD));
  return text === undefined ? undefined : (JSON.parse(text) as RecordOnDisk);
};

/** The candidates on disk: number, text, source (`model` when its provenance says none or is missing). */
async function candidatesOf(c: Case): Promise<{ n: number; text: string; source: string | undefined }[]> {
  const out = [];
  for (const f of (await libraryFiles(c)).filter((f) => f.startsWith(`${CANDIDATES}/`) && /\/[0-9]+\.txt$/.test(f))) {
    const n = Number(/([0-9]+)\.txt$/.exec(f)?.[1]);
    const prov = await readOrUndefined(join(c.lib, CANDIDATES, `${n}.json`));
    out.push({
      n,
      text: await readFile(join(c.lib, f), 'utf8'),
      source: prov === undefined ? undefined : ((JSON.parse(prov) as { source?: string }).source ?? 'model'),
    });
  }
  return out.sort((a, b) => a.n - b.n);
}

const regenCalls = async (c: Case) => (await lines(c.callsFile)).filter((l) => l.endsWith(' regenerate')).length;
const firstCalls = async (c: Case) => (await lines(c.callsFile)).filter((l) => !l.endsWith(' regenerate')).length;

/** Where a flow's traced run takes its durable steps (positions in its steps). */
interface Flowmarks {
  /** The first step after the person asked for the regeneration. */
  asked: number;
  /** The rename of the `regenerating` record: the intent is on disk. */
  intent: number;
  /** The rename of the regeneration's candidate text. */
  candidate: number;
  /** The rename of the record that names the candidate: `replacing` (auto) or the draft (review, edited, after its `replacing`). */
  settled: number;
  /** review: the rename of the approval (`replacing`) record. */
  approval: number;
  /** auto, review: the rename over the installed component. */
  replaced: number;
}

function flowmarks(flow: Flow, steps: readonly string[], marks: ReadonlyMap<string, number>): Flowmarks {
  const asked = (marks.get('regenerate-asked') ?? -2) + 1;
  const intent = firstAfter(steps, asked - 1, 'rename:request#');
  const candidate = firstAfter(steps, marks.get('provider-called') ?? Infinity, 'rename:candidate#');
  // edited: the `replacing` record, the person's version kept as a candidate, then the draft record.
  const replacing = firstAfter(steps, candidate, 'rename:request#');
  const settled = flow === 'edited' ? firstAfter(steps, replacing, 'rename:request#') : replacing;
  const approval = flow === 'review' ? lastAtOrBefore(steps, marks.get('approve-acknowledged') ?? -1, 'rename:request#') : -1;
  const replaced = flow === 'edited' ? -1 : firstAfter(steps, flow === 'review' ? approval : settled, 'rename:component#');
  return { asked, intent, candidate, settled, approval, replaced };
}

/** The checks of one crash point of `flow`. */
async function runPoint(m: Matrix, flow: Flow, at: Flowmarks, p: Point): Promise<{ point: string; problems: string[] }> {
  const c = await m.freshCase();
  const crash = await runChild(c, { JITD_TEST_CRASH_AT: p.name }, specOf(flow));
  const problems = notKilled(crash);
  const regenerating = p.at >= at.asked;
  const crashCalls = await regenCalls(c);
  // What the crash left (a point in the first install leaves that to the main matrix).
  if (regenerating) {
    problems.push(...(await mapProblems(c, FINAL_MAP, 'after the crash, the map changed')));
    const text = await readOrUndefined(join(c.lib, COMPONENT));
    if (flow === 'edited' ? text !== PERSONS : text !== CONTENT && text !== NEW)
      problems.push(`after the crash, the component is not a whole text: ${JSON.stringify(text?.slice(0, 40))}`);
    const replacedBy = flow === 'review' ? at.approval : at.settled;
    if (text === NEW && p.at < replacedBy)
      problems.push(flow === 'review' ? 'a draft nobody approved was installed' : 'replaced before the replacement was recorded');
    if (p.at < at.intent && crashCalls) problems.push('the model was called before the intent was on disk');
    const rec = await recordOf(c);
    if (p.at >= at.intent && !(rec?.regenerating || rec?.replacing !== undefined || rec?.candidate !== undefined))
      problems.push(`after the crash, the durable intent is gone: ${JSON.stringify(rec)}`);
    const mine = (await candidatesOf(c)).find((x) => x.text === NEW);
    if (p.at >= at.candidate && !mine) problems.push("after the crash, the regeneration's candidate is gone");
    if (flow !== 'auto' && p.at >= at.settled && p.at < (flow === 'review' ? at.approval : Infinity) && (rec?.state !== 'draft' || rec.candidate !== mine?.n))
      problems.push(`after the crash, the recorded draft is gone: ${JSON.stringify(rec)}`);
  }
  // A crash between the first install's publish and its done record leaves the close to the
  // restart, which takes the hash of jitd's text from the staged output's sidecar
  // (apply-plan.ts closeFromStaged): the regeneration then replaces the file like any other.
  const crashed = await recordOf(c);
  if (flow === 'auto' && !regenerating && existsSync(join(c.lib, COMPONENT)) && !(crashed?.state === 'done' && crashed.componentSha256))
    closedByRestartAt.push(p.name);
  const recover = await runChild(c, {}, specOf(flow));
  problems.push(...notRecovered(recover));
  // The state it converges to: replaced, or (a person edited the file) a draft beside their text.
  problems.push(...(await mapProblems(c, FINAL_MAP, 'the map is not the installed one')));
  const kept = flow === 'edited' ? PERSONS : undefined;
  const want = kept ?? NEW;
  const text = await readOrUndefined(join(c.lib, COMPONENT));
  if (text !== want)
    problems.push(`the component is ${JSON.stringify(text?.slice(0, 40))}, not ${kept === undefined ? 'the regenerated text' : 'the kept text'}`);
  const rec = await recordOf(c);
  const candidates = await candidatesOf(c);
  const mine = candidates.filter((x) => x.text === NEW);
  if (mine.length !== 1 || mine[0]?.source !== 'model') problems.push(`the regeneration's output is not one model candidate: ${JSON.stringify(candidates)}`);
  const wantState = kept === undefined ? 'done' : 'draft';
  if (rec?.state !== wantState || rec.candidate !== mine[0]?.n || rec.regenerating || rec.replacing !== undefined || rec.componentSha256 !== sha256(want))
    problems.push(`the record is not ${wantState} with the new candidate and the installed text's hash: ${JSON.stringify(rec)}`);
  if (kept !== undefined && !candidates.some((x) => x.text === kept && x.source === 'person'))
    problems.push(`the installed version is not kept as a candidate: ${JSON.stringify(candidates)}`);
  // Never paid twice for a candidate on disk; at most once again for an output a crash lost.
  const total = await regenCalls(c);
  if (total < 1 || total - crashCalls > 1)
    problems.push(`the model was called ${crashCalls} times for the regeneration before the crash and ${total - crashCalls} after`);
  if (p.at >= at.candidate && total !== 1) problems.push(`the model was called ${total} times for a candidate already on disk`);
  if ((await firstCalls(c)) !== 1 || (await lines(c.askedFile)).length !== 1) problems.push('the first install was generated or asked twice');
  const rel = await libraryFiles(c);
  problems.push(...tempsLeft(rel));
  if (rel.some((f) => f.startsWith('.jitd/quarantine/'))) problems.push('something was quarantined');
  await rm(c.dir, { recursive: true, force: true });
  return { point: p.name, problems };
}

let m: Matrix;
/** auto points whose crash left the first install's close to the restart (no done record yet). */
const closedByRestartAt: string[] = [];
const traced = new Map<Flow, { steps: string[]; at: Flowmarks; points: Point[] }>();
const outcomes = new Map<Flow, { point: string; problems: string[]; ranAs?: string }[]>();

beforeAll(async () => {
  m = await openMatrix();
  const flows: Flow[] = ['auto', 'review', 'edited'];
  for (const flow of flows) {
    const c = await m.freshCase();
    const r = await runChild(c, { JITD_TEST_TRACE: c.traceFile }, specOf(flow));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { lines, steps, marks } = await readTrace(c.traceFile);
    const at = flowmarks(flow, steps, marks);
    // auto: from the first install's publish on (earlier points are the main matrix's and leave no component yet).
    const from = flow === 'auto' ? steps.indexOf('link:component#1') : at.asked;
    traced.set(flow, { steps, at, points: pointsOf(lines, from) });
  }
  // The three flows share the file's two crash-child slots (runMatrix).
  await Promise.all(
    flows.map(async (flow) => outcomes.set(flow, await runStates(traced.get(flow)!.points, (p) => runPoint(m, flow, traced.get(flow)!.at, p)))),
  );
}, MATRIX_TIMEOUT_MS);

afterAll(async () => {
  await m?.close();
});

describe('kill -9 at every step of regenerating an installed component', () => {
  it('the traced runs take the intent, the candidate, the record naming it and the replacement in that order', () => {
    for (const [flow, { steps, at }] of traced) {
      expect(at.intent, flow).toBeGreaterThan(at.asked);
      expect(at.candidate, flow).toBeGreaterThan(at.intent);
      expect(at.settled, flow).toBeGreaterThan(at.candidate);
      if (flow === 'review') expect(at.approval).toBeGreaterThan(at.settled);
      if (flow !== 'edited') expect(at.replaced, flow).toBeGreaterThan(flow === 'review' ? at.approval : at.settled);
      else expect(steps.slice(at.asked).some((s) => s.startsWith('rename:component#'))).toBe(false);
    }
  });

  it.each([
    ['auto', 'the new text replaces the installed file (map unchanged), whole, never before the replacement was recorded'],
    ['review', 'the regeneration is a draft that survives the crash; only the approved draft is installed'],
    ['edited', "the person's edited file is never overwritten: the regeneration is a draft, their version a candidate"],
  ] as const)('%s: a crash at any step converges, no candidate on disk is paid for twice: %s', (flow, _what) => {
    const { steps, points } = traced.get(flow)!;
    const results = outcomes.get(flow)!;
    const failures = failuresOf(results);
    const mutating = mutatingSteps(steps.slice(Math.max(0, Math.ceil(points[0]?.at ?? 0))));
    // Counted over every point, a point not run counting as the one run for its state.
    const closedByRestart = results.filter((r) => closedByRestartAt.includes(r.ranAs ?? r.point)).length;
    const lost = flow === 'auto' ? `; ${closedByRestart} left the install's close to the restart` : '';
    console.log(
      `kill matrix (regenerate, ${flow}): ${results.length} crash points (${statesRun(results)}) over ${mutating.length} steps (${mutating.join(' ')}), ${failures.length} failing${lost}`,
    );
    expect(results.length).toBe(points.length);
    expect(failures).toEqual([]);
    if (flow === 'auto') expect(closedByRestart).toBeGreaterThan(0);
  });
});
