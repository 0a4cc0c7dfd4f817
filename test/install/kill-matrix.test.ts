/**
 * The kill matrix (contract §4): a real child process runs jitd's engine on a real library and
 * SIGKILLs itself at one named step of the protocol; a second run on what it left (start-up
 * reconcile + finishing the job) must restore every invariant and converge. A first, traced run
 * enumerates every step, so every crash point of the protocol — before and after each temp
 * create, write, fsync, rename/link, unlink and directory fsync of the request, the answer,
 * the component, the map and the cleanup — is covered, and a new step added to the code is
 * covered automatically. Points a restart cannot tell apart (fsyncs change nothing it can see)
 * share one run per SIGKILL state (runStates, test/support/kill-matrix.ts); "one point per
 * SIGKILL state" below proves that they leave the same library.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestId } from '../../src/requests/request.js';
import {
  ANSWER,
  CONTENT,
  FINAL_MAP,
  GENERATED,
  GOAL,
  MAP,
  MISSING,
  TYPE,
  failuresOf,
  lastAtOrBefore,
  lines,
  makeTemplate,
  mapProblems,
  mutatingSteps,
  notKilled,
  notRecovered,
  openMatrix,
  pointsOf,
  readTrace,
  runChild,
  runMatrix,
  runStates,
  snapshotOf,
  statesRun,
  tempsLeft,
  walk,
  type Case,
  MATRIX_TIMEOUT_MS,
  type Matrix,
  type Point,
} from '../support/kill-matrix.js';

let m: Matrix;
const freshCase = (from?: Case) => m.freshCase(from);

let trace: string[] = [];
let points: Point[] = [];
/** Position of the answer's acknowledgement, of the staged output's rename (it is then on disk). */
let answerDurableAt = -1;
let stagedAt = -1;

beforeAll(async () => {
  m = await openMatrix();
  // The traced run: every step the protocol takes, with marks between them.
  const c = await freshCase();
  const r = await runChild(c, { JITD_TEST_TRACE: c.traceFile });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const traced = await readTrace(c.traceFile);
  trace = traced.steps;
  answerDurableAt = traced.marks.get('answer-acknowledged') ?? -1;
  stagedAt = trace.findIndex((s) => s.startsWith('rename:staged#'));
  expect(stagedAt, 'the model output is staged before it is installed').toBeGreaterThan(answerDurableAt);
  expect(trace.findIndex((s) => s.startsWith('link:component#'))).toBeGreaterThan(stagedAt);
  points = pointsOf(traced.lines);
  results = await runStates(points, (p) => runPoint(p));
}, MATRIX_TIMEOUT_MS);

interface PointResult {
  point: string;
  problems: string[];
  requestProblem?: string;
  /** The point whose run this result is (one point per SIGKILL state runs: runStates). */
  ranAs?: string;
}
let results: PointResult[] = [];

async function runPoint(p: Point, from?: Case, stagedAt_ = stagedAt, answerAt = answerDurableAt): Promise<PointResult> {
  const stagedAt = stagedAt_;
  const answerDurableAt = answerAt;
  const c = await freshCase(from);
  const crash = await runChild(c, { JITD_TEST_CRASH_AT: p.name });
  const problems = notKilled(crash);
  const callsBefore = (await lines(c.callsFile)).length;
  const askedBefore = (await lines(c.askedFile)).length;
  const recover = await runChild(c, {});
  problems.push(...notRecovered(recover));
  const callsAfter = (await lines(c.callsFile)).length;
  const askedAfter = (await lines(c.askedFile)).length;

  problems.push(...(await mapProblems(c, FINAL_MAP, "map not converged (or person's entries lost)")));
  const files = await walk(c.lib);
  const rel = files.map((f) => relative(c.lib, f));
  const copies = [];
  for (const f of files) if ((await readFile(f, 'utf8')) === CONTENT) copies.push(relative(c.lib, f));
  // Besides its place, the one other copy allowed is the request's kept output (staged-output.ts:
  // an answer is jitd's for good), which is the same inode when the install linked it.
  const placed = copies.filter((f) => !/^\.jitd\/staged\/[0-9a-f]{12}\.txt$/.test(f));
  if (JSON.stringify(placed) !== JSON.stringify([`components/personas/${GENERATED}`]) || copies.length - placed.length > 1)
    problems.push(`the component must exist exactly once, at its place: ${JSON.stringify(copies)}`);
  problems.push(...tempsLeft(rel));
  const orphans = rel.filter((f) => f.startsWith('components/') && f.includes('/autogen_') && f !== `components/personas/${GENERATED}`);
  if (orphans.length) problems.push(`orphans left: ${orphans.join(', ')}`);
  if (rel.some((f) => f.startsWith('.jitd/quarantine/'))) problems.push(`something was quarantined: ${rel.filter((f) => f.includes('quarantine')).join(', ')}`);
  // Invariant 3: an answer that reached the disk is never asked for again; one that did not
  // (the person got no acknowledgement) is asked for once more at most.
  if (p.at >= answerDurableAt && askedAfter !== askedBefore) problems.push('the person was asked again after the answer was durable');
  if (askedAfter - askedBefore > 1 || askedAfter < 1) problems.push(`asked ${askedBefore} times before the crash and ${askedAfter - askedBefore} after`);
  // Invariant 3: a generated component is never paid for twice.
  if (callsAfter - callsBefore > 1) problems.push(`the model was called ${callsAfter - callsBefore} times in recovery`);
  if (p.at >= stagedAt && callsAfter !== callsBefore) problems.push('the model was called again although its output was already staged');
  const result: PointResult = { point: p.name, problems };
  const state = JSON.parse(recover.stdout.trim().split('\n').pop() || '{}') as { states?: { goal: string; state: string }[] };
  const mine = state.states?.filter((s) => s.goal === GOAL) ?? [];
  if (mine.length !== 1 || mine[0]?.state !== 'done') result.requestProblem = `request not done exactly once: ${JSON.stringify(mine)}`;
  await rm(c.dir, { recursive: true, force: true });
  return result;
}

afterAll(async () => {
  await m?.close();
});

describe('kill -9 at every step of the protocol', () => {
  it('the traced run names every write, fsync, rename/link and directory fsync of request, answer, component and map', () => {
    const mutating = mutatingSteps(trace);
    for (const step of [
      'open:request#1',
      'write:request#1',
      'fsync:request#1',
      'rename:request#1',
      'fsyncdir:request#1',
      'open:staged#1',
      'write:staged#1',
      'fsync:staged#1',
      'rename:staged#1',
      'fsyncdir:staged#1',
      'mkdir:component#1',
      'fsyncdir:components-root#1',
      'link:component#1',
      'fsyncdir:component#1',
      'open:map#1',
      'write:map#1',
      'fsync:map#1',
      'rename:map#1',
      'fsyncdir:map#1',
    ]) {
      expect(mutating).toContain(step);
    }
    expect(answerDurableAt).toBeGreaterThan(0);
    expect(stagedAt).toBeGreaterThan(answerDurableAt);
    console.log(`kill matrix: ${points.length} crash points over ${mutating.length} steps:\n  ${mutating.join(' ')}`);
  });

  it("after SIGKILL at each point, a restart converges: component once, map repointed, person's entries kept, nothing left over, nobody asked twice, no repeated model call once its output is staged", () => {
    const failures = failuresOf(results);
    console.log(`kill matrix: ${results.length} crash points (${statesRun(results)}), ${failures.length} failing`);
    expect(results.length).toBe(points.length);
    expect(failures).toEqual([]);
  });

  // Was a bug (fixed): a crash after the map write and before the request's `done` record leaves the request
  // `answered` forever: planSync (src/reconcile/plan-sync.ts:69-73) only looks up the request of
  // the entry's *current* file name, which is now the generated one, so the old request is
  // never closed (and `jitctl status` counts it as answered for good). Fix: in planSync, when an
  // entry names a file that exists and equals the generatedName of an in-flight request for the
  // same (goal, type), close that request as done (resolution 'generated').
  it('after SIGKILL at each point, the restart closes the request as done exactly once', () => {
    const failures = results.filter((r) => r.requestProblem).map((r) => `${r.point}: ${r.requestProblem}`);
    expect(failures).toEqual([]);
  });
});

describe('one point per SIGKILL state', () => {
  let byState = new Map<number, Map<string, string[]>>();

  beforeAll(async () => {
    // Every point of the main flow, crash only: the library each leaves, grouped by state.
    const left = await runMatrix(points, async (p) => {
      const c = await freshCase();
      const crash = await runChild(c, { JITD_TEST_CRASH_AT: p.name });
      const snapshot = crash.signal === 'SIGKILL' ? await snapshotOf(c) : `not killed: ${crash.code}`;
      await rm(c.dir, { recursive: true, force: true });
      return { p, snapshot };
    });
    byState = new Map();
    for (const { p, snapshot } of left) {
      const same = byState.get(p.state) ?? byState.set(p.state, new Map()).get(p.state)!;
      same.set(snapshot, [...(same.get(snapshot) ?? []), p.name]);
    }
  }, MATRIX_TIMEOUT_MS);

  it('the points a run skips leave the same library and counters as the one it runs for their state (an fsync changes nothing a restart can see)', () => {
    const split = [...byState.values()]
      .filter((snapshots) => snapshots.size > 1)
      .map((snapshots) => [...snapshots.values()].map((names) => names.join(' ')).join(' ≠ '));
    console.log(`kill matrix: ${points.length} crash points leave ${byState.size} SIGKILL states`);
    expect(split).toEqual([]);
    // The claim has teeth: states are fewer than points, and different states leave different libraries.
    expect(byState.size).toBeLessThan(points.length);
    const distinct = new Set([...byState.values()].flatMap((snapshots) => [...snapshots.keys()]));
    expect(distinct.size).toBeGreaterThan(byState.size / 2);
  });
});

describe('kill -9 again while recovering from a kill -9', () => {
  /** The first crash: the component published, the map not yet repointed (a roll-forward is due). */
  const FIRST = 'after:link:component#1';
  let crashed: Case;
  let recoveryTrace: string[] = [];
  let recoverySteps: string[] = [];
  let second: PointResult[] = [];

  beforeAll(async () => {
    crashed = await freshCase();
    expect((await runChild(crashed, { JITD_TEST_CRASH_AT: FIRST })).signal).toBe('SIGKILL');
    const traced = await freshCase(crashed);
    const r = await runChild(traced, { JITD_TEST_TRACE: traced.traceFile });
    expect(r.code).toBe(0);
    recoveryTrace = await lines(traced.traceFile);
    recoverySteps = recoveryTrace.filter((l) => !l.startsWith('#'));
    // Every point of the recovery is after the answer and after the publish: nothing may be
    // asked or generated again (positions 0 make every such check apply).
    second = await runStates(pointsOf(recoveryTrace), (p) => runPoint({ ...p, at: Math.max(p.at, 0) }, crashed, 0, 0));
  }, MATRIX_TIMEOUT_MS);

  it('a crash at any step of the roll-forward is itself recovered, with no model call and no question repeated', () => {
    const mutating = mutatingSteps(recoverySteps);
    expect(mutating).toContain('rename:map#1');
    const failures = failuresOf(second, `${FIRST} then `);
    console.log(
      `kill matrix, second crash during recovery from ${FIRST}: ${second.length} points (${statesRun(second)}) over ${mutating.join(' ')}, ${failures.length} failing`,
    );
    expect(second.length).toBe(pointsOf(recoveryTrace).length);
    expect(failures).toEqual([]);
  });
});

describe('kill -9 while an in-place save is re-applied', () => {
  // The person's save through a descriptor opened before the install: a new goal, their entry as it was.
  const PERSONS = { ...MAP, BY_HAND: { format: 'release_notes_format.txt' } };
  const PERSONS_TEXT = `${JSON.stringify(PERSONS, null, 2)}\n`;
  const REAPPLIED = { ...PERSONS, [GOAL]: { ...MAP[GOAL], [TYPE]: GENERATED } };
  let reapplyTrace: string[] = [];
  let steps: string[] = [];
  let reapplyAt = -1;
  let outcome: { point: string; problems: string[]; ranAs?: string }[] = [];

  beforeAll(async () => {
    const traced = await freshCase();
    const r = await runChild(traced, { JITD_TEST_TRACE: traced.traceFile }, { inPlace: PERSONS_TEXT });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(traced.lib, 'config', 'goal_map.json'), 'utf8'))).toEqual(REAPPLIED);
    const raw = await lines(traced.traceFile);
    reapplyTrace = raw.slice(raw.indexOf('#in-place-save') + 1);
    steps = reapplyTrace.filter((l) => !l.startsWith('#'));
    reapplyAt = steps.indexOf('rename:map#2');
    outcome = await runStates(pointsOf(reapplyTrace), async (p) => {
      const c = await freshCase();
      const problems: string[] = [];
      const crash = await runChild(c, { JITD_TEST_CRASH_AT: p.name }, { inPlace: PERSONS_TEXT });
      problems.push(...notKilled(crash));
      const recover = await runChild(c, {});
      problems.push(...notRecovered(recover));
      const map = JSON.parse(await readFile(join(c.lib, 'config', 'goal_map.json'), 'utf8'));
      const isReapplied = JSON.stringify(map) === JSON.stringify(REAPPLIED);
      // Before the re-apply's exchange the save exists only in the replaced version, which dies
      // with the process (docs/map-edits.md says so); from the exchange on it is the map.
      if (p.at >= reapplyAt ? !isReapplied : !isReapplied && JSON.stringify(map) !== JSON.stringify(FINAL_MAP)) problems.push(`map: ${JSON.stringify(map)}`);
      const rel = (await walk(c.lib)).map((f) => relative(c.lib, f));
      problems.push(...tempsLeft(rel));
      if (!rel.includes(`components/personas/${GENERATED}`)) problems.push('the installed component is gone');
      if (rel.some((f) => f.startsWith('.jitd/quarantine/'))) problems.push('something was quarantined');
      if ((await lines(c.askedFile)).length !== 1 || (await lines(c.callsFile)).length !== 1) problems.push('asked or generated again');
      await rm(c.dir, { recursive: true, force: true });
      return { point: p.name, problems };
    });
  }, MATRIX_TIMEOUT_MS);

  it("a crash at any step of the re-apply leaves the installed map or the person's save with the repoint, nothing half-done", () => {
    const mutating = mutatingSteps(steps);
    for (const step of ['open:map#2', 'write:map#2', 'fsync:map#2', 'rename:map#2']) expect(mutating).toContain(step);
    const failures = failuresOf(outcome);
    console.log(
      `kill matrix, in-place save re-applied: ${outcome.length} crash points (${statesRun(outcome)}) over ${mutating.join(' ')}, ${failures.length} failing`,
    );
    expect(outcome.length).toBe(pointsOf(reapplyTrace).length);
    expect(failures).toEqual([]);
  });
});

describe('kill -9 at every step of restoring a generated file the map names again', () => {
  // After a branch switch back: the map names the generated file (FINAL_MAP), which the orphan
  // pass had moved to quarantine while the other branch was checked out; the request is done.
  let restoreTemplate: string;
  let steps: string[] = [];
  let points: Point[] = [];
  let outcomes: { point: string; problems: string[]; ranAs?: string }[] = [];
  const record = {
    v: 1,
    id: requestId(GOAL, TYPE, MISSING),
    goal: GOAL,
    type: TYPE,
    filename: MISSING,
    generatedName: GENERATED,
    state: 'done',
    description: ANSWER,
    resolution: 'generated',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    attempts: 1,
    failures: 0,
  };
  const quarantined = `.jitd/quarantine/components/20260101T000000Z-personas-${GENERATED}`;

  async function restoreCase(): Promise<Case> {
    const c = await freshCase();
    await rm(c.lib, { recursive: true, force: true });
    await cp(restoreTemplate, c.lib, { recursive: true });
    return c;
  }

  async function problemsOf(c: Case): Promise<string[]> {
    const problems: string[] = [];
    const map = JSON.parse(await readFile(join(c.lib, 'config', 'goal_map.json'), 'utf8'));
    if (JSON.stringify(map) !== JSON.stringify(FINAL_MAP)) problems.push(`the map changed: ${JSON.stringify(map)}`);
    const files = await walk(c.lib);
    const at = join(c.lib, 'components', 'personas', GENERATED);
    if (!files.includes(at) || (await readFile(at, 'utf8')) !== CONTENT) problems.push('the generated file is not restored whole');
    const rel = files.map((f) => relative(c.lib, f));
    problems.push(...tempsLeft(rel));
    if ((await lines(c.askedFile)).length) problems.push('somebody was asked');
    if ((await lines(c.callsFile)).length) problems.push('the model was called');
    const requests = rel.filter((f) => f.startsWith('.jitd/requests/') && f.endsWith('.json'));
    if (requests.length !== 1) problems.push(`request records: ${requests.join(', ')}`);
    return problems;
  }

  beforeAll(async () => {
    restoreTemplate = join(m.work, 'restore-template');
    await makeTemplate(restoreTemplate);
    await writeFile(join(restoreTemplate, 'config', 'goal_map.json'), `${JSON.stringify(FINAL_MAP, null, 2)}\n`);
    await mkdir(join(restoreTemplate, '.jitd', 'requests'), { recursive: true });
    await mkdir(join(restoreTemplate, '.jitd', 'quarantine', 'components'), { recursive: true });
    await writeFile(join(restoreTemplate, '.jitd', 'requests', `${record.id}.json`), `${JSON.stringify(record)}\n`);
    await writeFile(join(restoreTemplate, quarantined), CONTENT);
    const traced = await restoreCase();
    // Its origin record names the component's real path in each copy of the library.
    const fixOrigin = async (c: Case) =>
      writeFile(join(c.lib, `${quarantined}.origin.json`), `${JSON.stringify({ from: join(c.lib, 'components', 'personas', GENERATED) })}\n`);
    await fixOrigin(traced);
    const r = await runChild(traced, { JITD_TEST_TRACE: traced.traceFile });
    expect(r.code, r.stderr).toBe(0);
    expect(await problemsOf(traced)).toEqual([]);
    const restoreTrace = await lines(traced.traceFile);
    steps = restoreTrace.filter((l) => !l.startsWith('#'));
    points = pointsOf(restoreTrace);
    outcomes = await runStates(points, async (p) => {
      const c = await restoreCase();
      await fixOrigin(c);
      const crash = await runChild(c, { JITD_TEST_CRASH_AT: p.name });
      const problems: string[] = [];
      problems.push(...notKilled(crash));
      const recover = await runChild(c, {});
      problems.push(...notRecovered(recover));
      problems.push(...(await problemsOf(c)));
      await rm(c.dir, { recursive: true, force: true });
      return { point: p.name, problems };
    });
  }, MATRIX_TIMEOUT_MS);

  it('a crash at any step of the restore is recovered: the file whole at its place, the map untouched, nobody asked, no model call', () => {
    const mutating = mutatingSteps(steps);
    expect(mutating).toContain('link:component#1');
    const failures = failuresOf(outcomes);
    console.log(`kill matrix (restore): ${outcomes.length} crash points (${statesRun(outcomes)}) over ${mutating.join(' ')}, ${failures.length} failing`);
    expect(outcomes.length).toBe(points.length);
    expect(failures).toEqual([]);
  });
});

describe('kill -9 at every step of drafting for review and approving the draft', () => {
  // answer --review, the output drafted as candidate 1, then approved and installed. The
  // recover run approves whatever draft it finds (the person approving after the restart).
  let steps: string[] = [];
  let points: Point[] = [];
  let stagedStep = -1;
  let approvedStep = -1;
  let approvalRecordStep = -1;
  let answeredStep = -1;
  let outcomes: { point: string; problems: string[]; ranAs?: string }[] = [];

  beforeAll(async () => {
    const traced = await freshCase();
    const r = await runChild(traced, { JITD_TEST_TRACE: traced.traceFile }, { review: true });
    expect(r.code, r.stderr).toBe(0);
    const trace = await readTrace(traced.traceFile);
    steps = trace.steps;
    approvedStep = trace.marks.get('approve-acknowledged') ?? -1;
    answeredStep = trace.marks.get('answer-acknowledged') ?? -1;
    stagedStep = steps.findIndex((s) => s.startsWith('rename:staged#'));
    expect(stagedStep).toBeGreaterThan(-1);
    expect(approvedStep).toBeGreaterThan(stagedStep);
    // The approval record: the last request-record rename before approve was acknowledged.
    approvalRecordStep = lastAtOrBefore(steps, approvedStep, 'rename:request#');
    expect(approvalRecordStep).toBeGreaterThan(stagedStep);
    expect(steps.some((s) => s.includes('candidate'))).toBe(true);
    const finalOf = async (c: Case) => JSON.parse(await readFile(join(c.lib, 'config', 'goal_map.json'), 'utf8'));
    points = pointsOf(trace.lines);
    outcomes = await runStates(points, async (p) => {
      const c = await freshCase();
      const problems: string[] = [];
      const crash = await runChild(c, { JITD_TEST_CRASH_AT: p.name }, { review: true });
      problems.push(...notKilled(crash));
      const at = join(c.lib, 'components', TYPE + 's', GENERATED);
      // Killed before the approval record was renamed into place: nothing may be installed.
      if (p.at < approvalRecordStep && (JSON.stringify(await finalOf(c)) !== JSON.stringify(MAP) || existsSync(at)))
        problems.push('installed before anybody approved');
      const callsBefore = (await lines(c.callsFile)).length;
      const recover = await runChild(c, {}, { review: true });
      problems.push(...notRecovered(recover));
      if (JSON.stringify(await finalOf(c)) !== JSON.stringify(FINAL_MAP)) problems.push('the map was not repointed');
      if (!existsSync(at) || (await readFile(at, 'utf8')) !== CONTENT) problems.push('the component is not installed whole');
      const calls = (await lines(c.callsFile)).length;
      if (p.at >= stagedStep && calls > 1) problems.push(`the model was called ${calls} times although its output was staged`);
      if (calls > callsBefore + 1) problems.push('the recover run called the model more than once');
      // Killed before the answer was acknowledged, asking again is right: nobody was told it was kept.
      if (p.at >= answeredStep && (await lines(c.askedFile)).length > 1) problems.push('somebody was asked twice after the answer was acknowledged');
      problems.push(...tempsLeft(await walk(c.lib)));
      await rm(c.dir, { recursive: true, force: true });
      return { point: p.name, problems };
    });
  }, MATRIX_TIMEOUT_MS);

  it('a crash at any step of drafting or approval converges to the approved component installed once, with no second model call for a staged output and nobody asked twice', () => {
    const failures = failuresOf(outcomes);
    const mutating = mutatingSteps(steps);
    console.log(
      `kill matrix (review: draft + approve): ${outcomes.length} crash points (${statesRun(outcomes)}) over ${mutating.length} steps (${mutating.join(' ')}), ${failures.length} failing`,
    );
    expect(outcomes.length).toBe(points.length);
    expect(failures).toEqual([]);
  });
});
