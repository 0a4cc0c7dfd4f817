/**
 * The provenance fields the transitions carry (docs/review.md, "Provenance"): who answered, who
 * approved a replacement, and what wrote the installed component, each set only from the
 * transition's own argument and never kept from an earlier round; a person's file has none.
 */
import { describe, expect, it } from 'vitest';
import { MAX_DESCRIPTION_LENGTH, newRequest, type Request } from '../../src/requests/request.js';
import type { OutputProvenance } from '../../src/requests/provenance.js';
import { answer, finish, replaced, replaceWith, startRegeneration } from '../../src/requests/transitions.js';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const ann = { uid: 1000, user: 'ann' };
const wrote: OutputProvenance = { provider: 'openai', model: 'm', at: NOW.toISOString() };
const waiting = (): Request => newRequest('G', 'protocol', 'f.txt', NOW);
const done = (patch: Partial<Request> = {}): Request => ({ ...waiting(), state: 'done', resolution: 'generated', description: 'd', ...patch });

describe('provenance through the transitions', () => {
  it('answer records who answered, and only this answer', () => {
    expect(answer(waiting(), 'd', NOW, { by: ann }).answeredBy).toEqual(ann);
    const again = answer({ ...waiting(), answeredBy: { uid: 1 }, installed: wrote }, 'd', NOW);
    expect('answeredBy' in again || 'installed' in again).toBe(false);
  });

  it('replaceWith records who approved, and only this approval', () => {
    expect(replaceWith(done(), 2, ann)).toMatchObject({ state: 'done', replacing: 2, approvedBy: ann });
    expect('approvedBy' in replaceWith(done({ approvedBy: { uid: 1 } }), 2)).toBe(false);
  });

  it('replaced records what wrote the new component, and drops what wrote the old one', () => {
    expect(replaced(done({ installed: { ...wrote, model: 'old' } }), 2, 'a'.repeat(64), wrote).installed).toEqual(wrote);
    expect('installed' in replaced(done({ installed: wrote }), 2, 'a'.repeat(64))).toBe(false);
  });

  it('finish records what wrote a component jitd installed or adopted, never for a person', () => {
    const answered: Request = { ...waiting(), state: 'answered', description: 'd', installed: { ...wrote, model: 'old' } };
    expect(finish(answered, 'generated', wrote).installed).toEqual(wrote);
    expect(finish(answered, 'adopted', wrote).installed).toEqual(wrote);
    expect('installed' in finish(answered, 'person', wrote)).toBe(false);
    expect('installed' in finish(answered, 'generated')).toBe(false);
  });

  it('startRegeneration says why it refuses', () => {
    expect(() => startRegeneration(waiting(), 0)).toThrow(`request ${waiting().id} is waiting; only a draft or a generated component can be regenerated`);
    expect(() => startRegeneration(done({ resolution: 'person' }), 0)).toThrow(`is done (person); only`);
    expect(() => startRegeneration(done({ regenerating: { after: 1 } }), 1)).toThrow(`request ${waiting().id} is being regenerated already`);
    expect(() => startRegeneration(done(), 1, { feedback: 'x'.repeat(MAX_DESCRIPTION_LENGTH + 1) })).toThrow(
      `the feedback is over ${MAX_DESCRIPTION_LENGTH} characters`,
    );
  });
});
