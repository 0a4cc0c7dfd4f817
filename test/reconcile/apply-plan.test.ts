/**
 * Carrying out a plan (apply-plan.ts), alone, on the in-memory disk: the type directories are
 * durable before the map names a file in them, only a file on disk (or a link that stays inside
 * the components tree) is adopted, a hold stops the library writes and nothing else, and every
 * record change is saved without a directory fsync (the reconciler can derive it again), counted
 * and reported once. Found by mutation testing (docs/mutation-testing.md).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { applyPlan, type ApplyContext } from '../../src/reconcile/apply-plan.js';
import { planSync, type SyncPlan } from '../../src/reconcile/plan-sync.js';
import { ComponentIndex } from '../../src/library/component-index.js';
import { RequestStore } from '../../src/requests/request-store.js';
import { StagedOutputs } from '../../src/requests/staged-output.js';
import { newRequest, type Request } from '../../src/requests/request.js';
import { faultFs, libraryClassifier, type FaultFs } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const COMP = '/lib/components';
const STATE = '/lib/.jitd';
const classify = libraryClassifier({ mapFile: MAP, componentsDir: COMP, stateDir: STATE });
const GA = 'autogen_persona_for_a.txt';
const BASE = { A: { persona: 'a.txt' }, B: { persona: 'b.txt' } };
const text = (m: unknown) => `${JSON.stringify(m, null, 2)}\n`;

/** The planner's own empty plan (no entries, no records), with `patch` on top. */
const emptyPlan = (patch: Partial<SyncPlan> = {}): SyncPlan => ({ ...planSync([], new ComponentIndex(), new Map()), ...patch });
const rollA = (request?: Request) => ({ repoint: { goal: 'A', type: 'persona', from: 'a.txt', to: GA }, ...(request ? { request } : {}) });

async function setUp(prepare: (mem: MemFs) => void = () => undefined): Promise<{ mem: MemFs; fs: FaultFs; ctx: ApplyContext; events: string[] }> {
  const mem = new MemFs();
  mem.writeFile(MAP, text(BASE));
  mem.mkdirpSync(`${STATE}/requests`);
  mem.mkdirpSync(COMP);
  prepare(mem);
  mem.checkpoint();
  const fs = faultFs(mem, { classify });
  const store = new RequestStore(fs, STATE);
  await store.load();
  const events: string[] = [];
  const ctx: ApplyContext = { fs, mapFile: MAP, componentsDir: COMP, store, stateDir: STATE, onChange: (r, what) => events.push(`${what} ${r.goal}`) };
  return { mem, fs, ctx, events };
}
const mapOf = (mem: MemFs) => JSON.parse(mem.read(MAP) as string);

describe('applyPlan: the roll-forward', () => {
  it("makes the generated file's type directory durable before the map names it, and closes the request as adopted", async () => {
    const { mem, fs, ctx, events } = await setUp((m) => m.writeFile(`${COMP}/personas/${GA}`, 'made\n'));
    const summary = await applyPlan(ctx, emptyPlan({ rollForward: [rollA()] }));
    expect(summary.rolledForward).toEqual([`A.persona: a.txt -> ${GA}`]);
    expect(mapOf(mem)).toEqual({ ...BASE, A: { persona: GA } });
    const synced = fs.steps.indexOf('fsyncdir:component#1');
    expect(synced).toBeGreaterThan(-1);
    expect(synced).toBeLessThan(fs.steps.indexOf('open:map#1'));
    expect(ctx.store.all().map((r) => [r.goal, r.state, r.resolution])).toEqual([['A', 'done', 'adopted']]);
    expect(events).toEqual(['adopted A']);
    // The adopted record is saved without a directory fsync (the reconciler derives it again).
    expect(fs.steps.filter((x) => x.startsWith('fsyncdir:request'))).toEqual([]);
  });

  it('adopts a link that stays inside the components tree, but not a dangling link, one leading out, or a directory', async () => {
    const cases: [string, (m: MemFs) => void, boolean][] = [
      ['inside', (m) => (m.writeFile(`${COMP}/personas/real.txt`, 'x\n'), m.symlink('real.txt', `${COMP}/personas/${GA}`)), true],
      ['dangling', (m) => (m.mkdirpSync(`${COMP}/personas`), m.symlink('gone.txt', `${COMP}/personas/${GA}`)), false],
      ['outside', (m) => (m.writeFile('/outside.txt', 'x\n'), m.mkdirpSync(`${COMP}/personas`), m.symlink('/outside.txt', `${COMP}/personas/${GA}`)), false],
      ['directory', (m) => m.mkdirpSync(`${COMP}/personas/${GA}`), false],
    ];
    for (const [what, prepare, adopted] of cases) {
      const { mem, ctx, events } = await setUp(prepare);
      const summary = await applyPlan(ctx, emptyPlan({ rollForward: [rollA()] }));
      expect([what, summary.rolledForward.length, mapOf(mem).A.persona, events]).toEqual([
        what,
        adopted ? 1 : 0,
        adopted ? GA : 'a.txt',
        adopted ? ['adopted A'] : [],
      ]);
    }
  });

  it('an entry a person changed meanwhile is neither reported rolled forward nor its request closed', async () => {
    const { mem, ctx, events } = await setUp((m) => {
      m.writeFile(`${COMP}/personas/${GA}`, 'made\n');
      m.writeFile(MAP, text({ ...BASE, A: { persona: 'theirs.txt' } }));
    });
    const r = { ...newRequest('A', 'persona', 'a.txt'), state: 'answered' as const, description: 'd' };
    const summary = await applyPlan(ctx, emptyPlan({ rollForward: [rollA(r)] }));
    expect(summary.rolledForward).toEqual([]);
    expect(events).toEqual([]);
    expect(mapOf(mem).A.persona).toBe('theirs.txt');
  });

  it('a done request rolled forward again (a save that dropped jitd’s change) keeps its record as it is', async () => {
    const { ctx, events } = await setUp((m) => m.writeFile(`${COMP}/personas/${GA}`, 'made\n'));
    const done = { ...newRequest('A', 'persona', 'a.txt'), state: 'done' as const, resolution: 'generated' as const, description: 'd' };
    const summary = await applyPlan(ctx, emptyPlan({ rollForward: [rollA(done)] }));
    expect(summary.rolledForward).toHaveLength(1);
    expect(events).toEqual([]);
    expect(ctx.store.all()).toEqual([]);
  });

  it("closes a request a crash cut short with the staged output's provenance and the SHA-256 of its text, and without a hash when the sidecar no longer matches", async () => {
    const staged = 'Made by the model.\n';
    for (const matches of [true, false]) {
      const { mem, ctx } = await setUp((m) => m.writeFile(`${COMP}/personas/${GA}`, staged));
      ctx.staged = new StagedOutputs(ctx.fs, STATE);
      const r = { ...newRequest('A', 'persona', 'a.txt'), state: 'answered' as const, description: 'd' };
      await ctx.staged.put(r.id, staged, { provider: 'fake', model: 'm-1', at: '2026-12-01T00:00:00.000Z' });
      // A person's in-place edit of the component changes the staged output too (one inode).
      if (!matches) mem.writeFile(ctx.staged.pathOf(r.id), 'edited\n');
      await applyPlan(ctx, emptyPlan({ rollForward: [rollA(r)] }));
      const [done] = ctx.store.all();
      expect(done).toMatchObject({ state: 'done', resolution: 'adopted' });
      if (matches) {
        expect(done?.componentSha256).toBe(createHash('sha256').update(staged).digest('hex'));
        expect(done?.installed).toMatchObject({ provider: 'fake', model: 'm-1' });
      } else {
        expect(done?.componentSha256).toBeUndefined();
        expect(done?.installed).toBeUndefined();
      }
    }
  });

  it('hands the map bytes it writes to onMapWrite', async () => {
    const { mem, ctx } = await setUp((m) => m.writeFile(`${COMP}/personas/${GA}`, 'made\n'));
    const written: string[] = [];
    await applyPlan({ ...ctx, onMapWrite: (bytes) => written.push(bytes.toString()) }, emptyPlan({ rollForward: [rollA()] }));
    expect(written).toEqual([mem.read(MAP)]);
  });
});

describe('applyPlan: a hold (git busy)', () => {
  it('holds the library writes and says why; the records go ahead', async () => {
    const { mem, ctx, events } = await setUp((m) => m.writeFile(`${COMP}/personas/${GA}`, 'made\n'));
    const create = newRequest('B', 'persona', 'b.txt');
    const summary = await applyPlan({ ...ctx, hold: () => 'merge in progress' }, emptyPlan({ rollForward: [rollA()], create: [create] }));
    expect(summary).toMatchObject({ held: 'merge in progress', rolledForward: [], created: 1 });
    expect(mapOf(mem)).toEqual(BASE);
    expect(events).toEqual(['created B']);
  });

  it('is not asked for, nor reported, when the plan has no library write', async () => {
    const { ctx } = await setUp();
    let asked = 0;
    const summary = await applyPlan({ ...ctx, hold: () => (asked++, 'merge in progress') }, emptyPlan({ create: [newRequest('B', 'persona', 'b.txt')] }));
    expect(asked).toBe(0);
    expect(summary.held).toBeUndefined();
  });
});

describe('applyPlan: the records', () => {
  it('saves every record change without a directory fsync, counts each in the summary and reports each once', async () => {
    const { fs, ctx, events } = await setUp();
    const rec = (goal: string, patch: Partial<Request>) => ({ ...newRequest(goal, 'persona', `${goal.toLowerCase()}.txt`), ...patch }) as Request;
    const withdrawn = rec('W', {});
    const forgotten = rec('F', { state: 'rejected' });
    await ctx.store.save(withdrawn, { durable: true });
    await ctx.store.save(forgotten, { durable: true });
    const before = fs.steps.length;
    const plan = emptyPlan({
      create: [rec('C', {})],
      closeInstalled: [rec('I', { state: 'installing', description: 'd' })],
      resolvedByPerson: [rec('P', {})],
      reopen: [rec('R', { state: 'done', resolution: 'generated', description: 'd' }), rec('Q', { state: 'done', resolution: 'person' })],
      withdraw: [withdrawn],
      forget: [forgotten],
    });
    const summary = await applyPlan(ctx, plan);
    expect(summary).toEqual({ created: 1, resolvedByPerson: 1, rolledForward: [], restored: [], reopened: 2, withdrawn: 1 });
    expect(events).toEqual(['created C', 'adopted I', 'resolved P', 'reopened R', 'reopened Q', 'withdrawn W', 'forgotten F']);
    expect(fs.steps.slice(before).filter((s) => s.startsWith('fsyncdir:'))).toEqual([]);
    const byGoal = new Map(ctx.store.all().map((r) => [r.goal, r]));
    expect([...byGoal.keys()].sort()).toEqual(['C', 'I', 'P', 'Q', 'R']);
    expect([byGoal.get('I')?.resolution, byGoal.get('P')?.resolution]).toEqual(['generated', 'person']);
    // A reopened request with an answer is generated again without asking; one without waits for a person.
    expect(plan.generate.map((r) => r.goal)).toEqual(['R']);
    expect([byGoal.get('R')?.state, byGoal.get('Q')?.state]).toEqual(['answered', 'waiting']);
  });
});

describe('applyPlan: without an onChange listener', () => {
  it('every kind of record change is made all the same', async () => {
    const { ctx } = await setUp();
    const { onChange: _none, ...quiet } = ctx;
    const w = newRequest('W', 'persona', 'w.txt');
    const f = { ...newRequest('F', 'persona', 'f.txt'), state: 'rejected' as const };
    await quiet.store.save(w, { durable: true });
    await quiet.store.save(f, { durable: true });
    const p = newRequest('P', 'persona', 'p.txt');
    const summary = await applyPlan(quiet, emptyPlan({ resolvedByPerson: [p], withdraw: [w], forget: [f] }));
    expect(summary).toMatchObject({ resolvedByPerson: 1, withdrawn: 1 });
    expect(quiet.store.all().map((r) => [r.goal, r.state])).toEqual([['P', 'done']]);
  });
});

describe('applyPlan: restores', () => {
  const entry = { goal: 'A', type: 'persona', filename: GA };

  it('a restored file is added to the index and reported restored for its request; with no copy a request is created', async () => {
    const quarantined = `${STATE}/quarantine/components/20260101T000000Z-personas-${GA}`;
    const { mem, fs, ctx, events } = await setUp((m) => {
      m.writeFile(quarantined, 'kept\n');
      m.writeFile(`${quarantined}.origin.json`, `${JSON.stringify({ from: `${COMP}/personas/${GA}` })}\n`);
    });
    const index = new ComponentIndex();
    const source = { ...newRequest('A', 'persona', 'a.txt'), state: 'done' as const, resolution: 'generated' as const, description: 'd' };
    const missing = { goal: 'B', type: 'persona', filename: 'autogen_persona_for_b.txt' };
    const heard: unknown[] = [];
    const summary = await applyPlan(
      { ...ctx, index, onComponentWrite: (dir, name, present) => heard.push([dir, name, present]) },
      emptyPlan({ restore: [{ entry, source }, { entry: missing }] }),
    );
    expect(summary.restored).toEqual([`personas/${GA} <- ${quarantined}`]);
    expect(mem.read(`${COMP}/personas/${GA}`)).toBe('kept\n');
    expect(index.files('personas')).toEqual([GA]);
    expect(heard).toEqual([['personas', GA, true]]);
    expect(events).toEqual(['restored A', 'created B']);
    expect(summary.created).toBe(1);
    expect(fs.steps.filter((x) => x.startsWith('fsyncdir:request'))).toEqual([]);
  });

  it('a restore without a source record reports no request', async () => {
    const quarantined = `${STATE}/quarantine/components/20260101T000000Z-personas-${GA}`;
    const { ctx, events } = await setUp((m) => {
      m.writeFile(quarantined, 'kept\n');
      m.writeFile(`${quarantined}.origin.json`, `${JSON.stringify({ from: `${COMP}/personas/${GA}` })}\n`);
    });
    const summary = await applyPlan(ctx, emptyPlan({ restore: [{ entry }] }));
    expect(summary.restored).toHaveLength(1);
    expect(events).toEqual([]);
  });
});
