/**
 * The reconcile plan (pure): for every map entry and request record, the one right action.
 */
import { describe, expect, it } from 'vitest';
import { generatedName } from '../../src/library/names.js';
import { planSync } from '../../src/reconcile/plan-sync.js';
import { ComponentIndex } from '../../src/library/component-index.js';
import { newRequest, requestId, type Request } from '../../src/requests/request.js';

const E = (goal: string, type: string, filename: string) => ({ goal, type, filename });
const index = (...files: string[]) => {
  const ix = new ComponentIndex();
  for (const f of files) {
    const [dir, name] = f.split('/') as [string, string];
    ix.add(dir, name);
  }
  return ix;
};
const records = (...rs: Request[]) => new Map(rs.map((r) => [r.id, r] as const));
const req = (goal: string, type: string, filename: string, patch: Partial<Request> = {}): Request => ({ ...newRequest(goal, type, filename), ...patch });
const G = generatedName('GOAL', 'protocol');

describe('planSync', () => {
  it('a request belongs to its own (goal, type) only: one of the same file name for another goal or type is neither matched nor resolved', () => {
    // Same file name, different goal / different type: matching on goal OR type would take
    // these for the entry's own request (a mutant of the matcher that no other test killed).
    const otherGoal = req('OTHER', 'protocol', 'p.txt', { state: 'answered', description: 'for OTHER' });
    const otherType = req('GOAL', 'persona', 'p.txt', { state: 'answered', description: 'a persona' });
    const plan = planSync([E('GOAL', 'protocol', 'p.txt')], index(), records(otherGoal, otherType));
    expect(plan.generate).toEqual([]);
    expect(plan.create.map((r) => [r.goal, r.type, r.filename])).toEqual([['GOAL', 'protocol', 'p.txt']]);
    const present = planSync([E('GOAL', 'protocol', 'p.txt')], index('protocols/p.txt'), records(otherGoal, otherType));
    expect(present.resolvedByPerson).toEqual([]);
  });

  it('a present file is satisfied and referenced; an open request for it is resolved (a person wrote it)', () => {
    const r = req('GOAL', 'protocol', 'p.txt', { state: 'waiting' });
    const plan = planSync([E('GOAL', 'protocol', 'p.txt')], index('protocols/p.txt'), records(r));
    expect(plan.resolvedByPerson.map((x) => x.id)).toEqual([r.id]);
    expect([...plan.referenced]).toEqual([['protocol', 'p.txt']]);
    expect(plan.create).toEqual([]);
  });

  it('a present file with a done request needs nothing', () => {
    const plan = planSync([E('GOAL', 'protocol', 'p.txt')], index('protocols/p.txt'), records(req('GOAL', 'protocol', 'p.txt', { state: 'done' })));
    expect(plan.resolvedByPerson).toEqual([]);
  });

  it('a missing file whose generated file exists is rolled forward (no request needed), and the generated file is referenced', () => {
    const plan = planSync([E('GOAL', 'protocol', 'p.txt')], index(`protocols/${G}`), records());
    expect(plan.rollForward).toEqual([{ repoint: { goal: 'GOAL', type: 'protocol', from: 'p.txt', to: G } }]);
    expect(plan.referenced.has('protocol', G)).toBe(true);
    expect(plan.create).toEqual([]);
    expect(plan.generate).toEqual([]);
  });

  it('rolls forward to the generated name recorded in the request, with the request to close', () => {
    const r = req('GOAL', 'protocol', 'p.txt', { state: 'answered', description: 'd', generatedName: 'autogen_protocol_for_old_rule.txt' });
    const plan = planSync([E('GOAL', 'protocol', 'p.txt')], index('protocols/autogen_protocol_for_old_rule.txt'), records(r));
    expect(plan.rollForward).toEqual([{ repoint: { goal: 'GOAL', type: 'protocol', from: 'p.txt', to: 'autogen_protocol_for_old_rule.txt' }, request: r }]);
    expect(plan.generate).toEqual([]);
  });

  it('a gap with no request creates exactly one waiting request with the deterministic id', () => {
    const plan = planSync([E('GOAL', 'protocol', 'p.txt')], index(), records());
    expect(plan.create).toHaveLength(1);
    expect(plan.create[0]).toMatchObject({ id: requestId('GOAL', 'protocol', 'p.txt'), state: 'waiting', generatedName: G });
    const again = planSync([E('GOAL', 'protocol', 'p.txt')], index(), records(plan.create[0] as Request));
    expect(again.create).toEqual([]);
  });

  it('an answered request is (re)started; a waiting or rejected one is left alone', () => {
    const answered = req('A', 'protocol', 'a.txt', { state: 'answered', description: 'd' });
    const waiting = req('B', 'protocol', 'b.txt');
    const rejected = req('C', 'protocol', 'c.txt', { state: 'rejected' });
    const plan = planSync(
      [E('A', 'protocol', 'a.txt'), E('B', 'protocol', 'b.txt'), E('C', 'protocol', 'c.txt')],
      index(),
      records(answered, waiting, rejected),
    );
    expect(plan.generate.map((r) => r.id)).toEqual([answered.id]);
    expect(plan.create).toEqual([]);
  });

  it('a failed request is retried when its back-off has ended, scheduled when not, and waits for `retry` when permanent', () => {
    const due = req('A', 'protocol', 'a.txt', { state: 'failed', description: 'd', nextAttemptAt: 1000 });
    const later = req('B', 'protocol', 'b.txt', { state: 'failed', description: 'd', nextAttemptAt: 5000 });
    const permanent = req('C', 'protocol', 'c.txt', { state: 'failed', description: 'd' });
    const entries = [E('A', 'protocol', 'a.txt'), E('B', 'protocol', 'b.txt'), E('C', 'protocol', 'c.txt')];
    const plan = planSync(entries, index(), records(due, later, permanent), { now: 2000 });
    expect(plan.generate.map((r) => r.id)).toEqual([due.id]);
    expect(plan.retryLater.map((r) => r.id)).toEqual([later.id]);
    const startup = planSync(entries, index(), records(due, later, permanent), { now: 2000, retryAllFailed: true });
    expect(startup.generate.map((r) => r.id).sort()).toEqual([due.id, later.id, permanent.id].sort());
  });

  it('a done request whose component vanished is reopened (its answer kept: apply-plan fills it without asking)', () => {
    const done = req('A', 'protocol', 'a.txt', { state: 'done', description: 'd', resolution: 'generated' });
    expect(planSync([E('A', 'protocol', 'a.txt')], index(), records(done)).reopen.map((r) => r.id)).toEqual([done.id]);
  });

  it('requests whose entry left the map: waiting withdrawn, rejected forgotten, answered and failed kept (an answer is never thrown away)', () => {
    const waiting = req('A', 'protocol', 'a.txt');
    const rejected = req('B', 'protocol', 'b.txt', { state: 'rejected' });
    const answered = req('C', 'protocol', 'c.txt', { state: 'answered', description: 'd' });
    const failed = req('D', 'protocol', 'd.txt', { state: 'failed', description: 'd' });
    const plan = planSync([], index(), records(waiting, rejected, answered, failed));
    expect(plan.withdraw.map((r) => r.id)).toEqual([waiting.id]);
    expect(plan.forget.map((r) => r.id)).toEqual([rejected.id]);
    expect(plan.generate).toEqual([]);
  });

  it('two goals naming the same missing file get one request each', () => {
    const plan = planSync([E('A', 'protocol', 'same.txt'), E('B', 'protocol', 'same.txt')], index(), records());
    expect(plan.create.map((r) => r.goal)).toEqual(['A', 'B']);
    expect(new Set(plan.create.map((r) => r.id)).size).toBe(2);
  });

  it('leaves the entries of an unreadable type directory alone: nothing created, rolled forward or withdrawn', () => {
    const ix = index('personas/sre.txt');
    ix.markUnreadable('protocols');
    const r = req('GOAL', 'protocol', 'p.txt', { state: 'waiting' });
    const plan = planSync([E('GOAL', 'protocol', 'p.txt'), E('OTHER', 'protocol', 'q.txt'), E('GOAL', 'persona', 'sre.txt')], ix, records(r));
    expect(plan.create).toEqual([]);
    expect(plan.rollForward).toEqual([]);
    expect(plan.withdraw).toEqual([]);
    expect([...plan.referenced]).toEqual([['persona', 'sre.txt']]);
    ix.setDir('protocols', ['p.txt']);
    expect(planSync([E('GOAL', 'protocol', 'p.txt')], ix, records(r)).resolvedByPerson.map((x) => x.id)).toEqual([r.id]);
  });

  describe('a name a person wrote is theirs (invariant 4): roll forward only onto the file generated for exactly that name', () => {
    // X.protocol = x_missing.txt was answered and installed: the map named G, the request is done.
    const installed = req('X', 'protocol', 'x_missing.txt', { state: 'done', description: 'd', resolution: 'generated' });
    const GX = generatedName('X', 'protocol');

    it('a new name for the entry, not yet written, gets its own waiting request with a generated name of its own; the map is not touched', () => {
      const plan = planSync([E('X', 'protocol', 'x_by_hand.txt')], index(`protocols/${GX}`), records(installed));
      expect(plan.rollForward).toEqual([]);
      expect(plan.create).toHaveLength(1);
      const r = plan.create[0] as Request;
      expect(r).toMatchObject({ id: requestId('X', 'protocol', 'x_by_hand.txt'), filename: 'x_by_hand.txt', state: 'waiting' });
      // Answered, it must not "install" the old component that already sits under the plain name.
      expect(r.generatedName).not.toBe(GX);
      expect(r.generatedName).toMatch(/^autogen_protocol_for_x-[0-9a-f]{8}\.txt$/);
      // The old component is still referenced by nothing but is not the new entry's either.
      expect(plan.referenced.has('protocol', GX)).toBe(false);
    });

    it('a typo of the name is not "fixed" back either', () => {
      const plan = planSync([E('X', 'protocol', 'x_mising.txt')], index(`protocols/${GX}`), records(installed));
      expect(plan.rollForward).toEqual([]);
      expect(plan.create.map((r) => r.filename)).toEqual(['x_mising.txt']);
    });

    it("the very name the component was generated for comes back (a save that dropped jitd's change): rolled forward, nobody asked", () => {
      const plan = planSync([E('X', 'protocol', 'x_missing.txt')], index(`protocols/${GX}`), records(installed));
      expect(plan.rollForward).toEqual([{ repoint: { goal: 'X', type: 'protocol', from: 'x_missing.txt', to: GX }, request: installed }]);
      expect(plan.create).toEqual([]);
    });

    it('an install cut short after publishing (the request still answered or failed) is rolled forward', () => {
      for (const state of ['answered', 'failed'] as const) {
        const r = req('X', 'protocol', 'x_missing.txt', { state, description: 'd' });
        expect(planSync([E('X', 'protocol', 'x_missing.txt')], index(`protocols/${GX}`), records(r)).rollForward).toHaveLength(1);
      }
    });

    it('a waiting request, or one a person resolved by writing the file, owns no generated file: never rolled forward onto one', () => {
      const waiting = req('X', 'protocol', 'x_missing.txt');
      const waitingPlan = planSync([E('X', 'protocol', 'x_missing.txt')], index(`protocols/${GX}`), records(waiting));
      expect(waitingPlan.rollForward).toEqual([]);
      const byPerson = req('X', 'protocol', 'x_missing.txt', { state: 'done', resolution: 'person' });
      const personPlan = planSync([E('X', 'protocol', 'x_missing.txt')], index(`protocols/${GX}`), records(byPerson));
      expect(personPlan.rollForward).toEqual([]);
      expect(personPlan.reopen.map((r) => r.id)).toEqual([byPerson.id]);
    });

    it('with no record of the entry at all (state directory lost, a seed-era crash between its two steps) the plain generated file is adopted', () => {
      const plan = planSync([E('X', 'protocol', 'x_missing.txt')], index(`protocols/${GX}`), records());
      expect(plan.rollForward.map((x) => x.repoint.to)).toEqual([GX]);
      // A record of another entry says nothing about this one.
      const other = req('Y', 'protocol', 'y.txt', { state: 'done', resolution: 'generated' });
      expect(planSync([E('X', 'protocol', 'x_missing.txt')], index(`protocols/${GX}`), records(other)).rollForward).toHaveLength(1);
    });

    it('a map entry naming a missing generated file jitd made is restored from its output, not asked for', () => {
      const plan = planSync([E('X', 'protocol', GX)], index(), records(installed));
      expect(plan.create).toEqual([]);
      expect(plan.restore).toEqual([{ entry: E('X', 'protocol', GX), source: installed }]);
      expect(plan.referenced.has('protocol', GX)).toBe(true);
      // Without a record (state lost) it is still tried (quarantine), with no source.
      expect(planSync([E('X', 'protocol', GX)], index(), records()).restore).toEqual([{ entry: E('X', 'protocol', GX) }]);
    });
  });

  describe('the branches of an entry (each one found by mutation testing, docs/mutation-testing.md)', () => {
    const GX = generatedName('X', 'protocol');

    it('a failed request whose back-off ends exactly now is retried now, not scheduled', () => {
      const r = req('A', 'protocol', 'a.txt', { state: 'failed', description: 'd', nextAttemptAt: 2000 });
      const plan = planSync([E('A', 'protocol', 'a.txt')], index(), records(r), { now: 2000 });
      expect(plan.generate.map((x) => x.id)).toEqual([r.id]);
      expect(plan.retryLater).toEqual([]);
    });

    it('a permanent failure is neither generated nor scheduled before `retry`', () => {
      const r = req('A', 'protocol', 'a.txt', { state: 'failed', description: 'd' });
      const plan = planSync([E('A', 'protocol', 'a.txt')], index(), records(r), { now: 2000 });
      expect(plan.generate).toEqual([]);
      expect(plan.retryLater).toEqual([]);
    });

    it('a generating or installing request of a missing file is left to the pipeline: nothing generated, created, reopened or withdrawn', () => {
      for (const state of ['generating', 'installing'] as const) {
        const r = req('A', 'protocol', 'a.txt', { state, description: 'd' });
        const plan = planSync([E('A', 'protocol', 'a.txt')], index(), records(r));
        expect([plan.generate, plan.create, plan.reopen, plan.withdraw, plan.retryLater, plan.rollForward]).toEqual([[], [], [], [], [], []]);
      }
    });

    it('an open request whose generated file the map already names (its done record lost) is closed as installed, not resolved by a person', () => {
      const r = req('X', 'protocol', 'x_missing.txt', { state: 'installing', description: 'd' });
      const plan = planSync([E('X', 'protocol', GX)], index(`protocols/${GX}`), records(r));
      expect(plan.closeInstalled.map((x) => x.id)).toEqual([r.id]);
      expect(plan.resolvedByPerson).toHaveLength(0);
      // With a done record of the entry's own name beside it, that one is not resolved again.
      const own = req('X', 'protocol', GX, { state: 'done', resolution: 'generated' });
      const both = planSync([E('X', 'protocol', GX)], index(`protocols/${GX}`), records(r, own));
      expect(both.closeInstalled.map((x) => x.id)).toEqual([r.id]);
      expect(both.resolvedByPerson).toHaveLength(0);
      expect(plan.withdraw).toEqual([]);
      // An entry of another goal naming that file is not this request's install.
      const other = planSync([E('Y', 'protocol', GX)], index(`protocols/${GX}`), records(r));
      expect(other.closeInstalled).toEqual([]);
    });

    it('a request no longer in flight (done, waiting, rejected) is never closed as installed by the map naming its generated file', () => {
      for (const r of [
        req('X', 'protocol', 'x_missing.txt', { state: 'done', resolution: 'generated', description: 'd' }),
        req('X', 'protocol', 'x_missing.txt', { state: 'waiting' }),
        req('X', 'protocol', 'x_missing.txt', { state: 'rejected' }),
      ]) {
        expect(planSync([E('X', 'protocol', GX)], index(`protocols/${GX}`), records(r)).closeInstalled).toHaveLength(0);
      }
    });

    it('an open request for an entry that names its own generated name, present, is resolved once and not also closed as installed', () => {
      const r = req('X', 'protocol', GX, { state: 'answered', description: 'd' });
      expect(r.generatedName).toBe(GX);
      const plan = planSync([E('X', 'protocol', GX)], index(`protocols/${GX}`), records(r));
      expect(plan.resolvedByPerson.map((x) => x.id)).toEqual([r.id]);
      expect(plan.closeInstalled).toEqual([]);
    });

    it('an entry listed twice acts once: one resolution, one request created', () => {
      const r = req('A', 'protocol', 'a.txt', { state: 'waiting' });
      const present = planSync([E('A', 'protocol', 'a.txt'), E('A', 'protocol', 'a.txt')], index('protocols/a.txt'), records(r));
      expect(present.resolvedByPerson.map((x) => x.id)).toEqual([r.id]);
      const missing = planSync([E('B', 'protocol', 'b.txt'), E('B', 'protocol', 'b.txt')], index(), records());
      expect(missing.create.map((x) => x.filename)).toEqual(['b.txt']);
    });

    it('a new name for an entry gets the plain generated name unless that name is on disk or another request of the entry has an answer for it', () => {
      const entry = [E('X', 'protocol', 'x_new.txt')];
      const plainName = (rs: Request[], files: string[] = []) => planSync(entry, index(...files), records(...rs)).create.map((x) => x.generatedName);
      const distinct = expect.stringMatching(/^autogen_protocol_for_x-[0-9a-f]{8}\.txt$/);
      expect(plainName([])).toEqual([GX]);
      const waitingOld = req('X', 'protocol', 'x_old.txt', { state: 'waiting' });
      expect(plainName([waitingOld])).toEqual([GX]);
      expect(plainName([waitingOld], [`protocols/${GX}`])).toEqual([distinct]);
      expect(plainName([req('X', 'protocol', 'x_old.txt', { state: 'answered', description: 'd' })])).toEqual([distinct]);
      expect(plainName([req('X', 'protocol', 'x_old.txt', { state: 'done', resolution: 'person' })])).toEqual([distinct]);
      // One answered record among others of the entry is enough to take the plain name.
      expect(plainName([waitingOld, req('X', 'protocol', 'x_older.txt', { state: 'answered', description: 'd' })])).toEqual([distinct]);
      // Another generated name (a hash of its own) leaves the plain one free.
      expect(
        plainName([req('X', 'protocol', 'x_old.txt', { state: 'answered', description: 'd', generatedName: 'autogen_protocol_for_x-0badc0de.txt' })]),
      ).toEqual([GX]);
    });

    it('a restored generated file is taken from the newest installed output of the entry, never from one a person resolved or one not done', () => {
      const at = (s: number) => new Date(s * 1000).toISOString();
      const older = req('X', 'protocol', 'x1.txt', { state: 'done', resolution: 'generated', description: 'd', updatedAt: at(1) });
      const newer = req('X', 'protocol', 'x2.txt', { state: 'done', resolution: 'adopted', description: 'd', updatedAt: at(2) });
      const byPerson = req('X', 'protocol', 'x3.txt', { state: 'done', resolution: 'person', updatedAt: at(3) });
      const open = req('X', 'protocol', 'x4.txt', { state: 'answered', description: 'd', updatedAt: at(4) });
      const otherName = req('X', 'protocol', 'x5.txt', {
        state: 'done',
        resolution: 'generated',
        description: 'd',
        updatedAt: at(5),
        generatedName: 'autogen_protocol_for_x-0badc0de.txt',
      });
      for (const order of [
        [older, newer, byPerson, open, otherName],
        [otherName, open, byPerson, newer, older],
      ]) {
        const plan = planSync([E('X', 'protocol', GX)], index(), records(...order));
        expect(plan.restore.map((x) => x.source?.id)).toEqual([newer.id]);
      }
    });

    it('the referenced names are the same however often they are asked for', () => {
      const plan = planSync([E('A', 'protocol', 'a.txt')], index('protocols/a.txt'), records());
      expect(plan.referenced).toBe(plan.referenced);
    });
  });
});
