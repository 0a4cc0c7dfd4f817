/**
 * The request record (contract §3): its schema and defaults, the deterministic id, the generated
 * names, the state predicates and the public view sent over the socket.
 */
import { describe, expect, it } from 'vitest';
import {
  distinctGeneratedName,
  hasAnswer,
  isInFlight,
  newRequest,
  ownsGeneratedFile,
  publicView,
  requestId,
  RequestSchema,
  type Request,
} from '../../src/requests/request.js';

const NOW = new Date('2026-03-04T05:06:07.000Z');
const base = (): Request => newRequest('G', 'protocol', 'f.txt', NOW);
const parse = (patch: Record<string, unknown>) => RequestSchema.safeParse({ ...base(), ...patch });

describe('request record', () => {
  it('newRequest is a waiting record with the deterministic id, the generated name, and zero counters', () => {
    expect(base()).toEqual({
      v: 1,
      id: '26258ccdb06f',
      goal: 'G',
      type: 'protocol',
      filename: 'f.txt',
      generatedName: 'autogen_protocol_for_g.txt',
      state: 'waiting',
      createdAt: '2026-03-04T05:06:07.000Z',
      updatedAt: '2026-03-04T05:06:07.000Z',
      attempts: 0,
      failures: 0,
    });
    expect(newRequest('G', 'protocol', 'f.txt', NOW, 'other.txt').generatedName).toBe('other.txt');
    expect(Date.parse(newRequest('G', 'protocol', 'f.txt').createdAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('requestId is 12 hex digits of the whole triple', () => {
    expect(requestId('G', 'protocol', 'f.txt')).toBe('26258ccdb06f');
    expect(new Set([requestId('G', 'protocol', 'g.txt'), requestId('G', 'skill', 'f.txt'), requestId('H', 'protocol', 'f.txt')]).size).toBe(3);
  });

  it('distinctGeneratedName slugs the goal like generatedName and hashes the whole triple', () => {
    expect(distinctGeneratedName('Été: Root-Cause?', 'protocol', 'f.txt')).toBe('autogen_protocol_for_t_root-cause-8d4fc83c.txt');
    expect(distinctGeneratedName('__', 'protocol', 'f.txt')).toBe('autogen_protocol_for_goal-c92914c2.txt');
    expect(distinctGeneratedName('__G__', 'protocol', 'f.txt')).toBe('autogen_protocol_for_g-7d8e0434.txt');
    expect(distinctGeneratedName('G', 'protocol', 'g.txt')).toBe('autogen_protocol_for_g-232daada.txt');
    expect(distinctGeneratedName('A'.repeat(90), 'protocol', 'f.txt')).toMatch(/^autogen_protocol_for_a{80}-[0-9a-f]{8}\.txt$/);
  });

  it('the schema defaults the counters, and rejects what no jitd writes', () => {
    const { attempts: _a, failures: _f, ...bare } = base();
    expect(RequestSchema.parse(bare)).toMatchObject({ attempts: 0, failures: 0 });
    expect(parse({}).success).toBe(true);
    for (const bad of [
      { v: 2 },
      { id: 'x26258ccdb06f' },
      { id: '26258ccdb06fa' },
      { id: '26258CCDB06F' },
      { state: 'lost' },
      { attempts: -1 },
      { attempts: 1.5 },
      { failures: -1 },
      { candidate: 0 },
      { approved: 0 },
      { replacing: 0 },
      { componentSha256: 'a'.repeat(63) },
      { componentSha256: `${'a'.repeat(64)}0` },
      { componentSha256: `x${'a'.repeat(64)}` },
      { regenerating: { after: -1 } },
      { regenerating: { after: 0, extra: true } },
      { resolution: 'guessed' },
      { answeredBy: { uid: -1 } },
    ])
      expect(parse(bad).success, JSON.stringify(bad)).toBe(false);
    for (const good of [
      { candidate: 1, approved: 1, replacing: 1 },
      { componentSha256: 'a'.repeat(64) },
      { regenerating: { after: 0, feedback: 'f', review: true } },
      { nextAttemptAt: 1, resolution: 'adopted', review: true },
      { resolution: 'generated' },
      { resolution: 'person' },
    ])
      expect(parse(good).success, JSON.stringify(good)).toBe(true);
  });

  it('hasAnswer: a description, and neither waiting nor rejected', () => {
    const r = base();
    expect(hasAnswer(r)).toBe(false);
    expect(hasAnswer({ ...r, state: 'answered' })).toBe(false);
    expect(hasAnswer({ ...r, state: 'answered', description: 'd' })).toBe(true);
    expect(hasAnswer({ ...r, description: 'd' })).toBe(false);
    expect(hasAnswer({ ...r, state: 'rejected', description: 'd' })).toBe(false);
  });

  it('isInFlight and ownsGeneratedFile', () => {
    const states = ['waiting', 'answered', 'generating', 'installing', 'done', 'failed', 'rejected', 'draft'] as const;
    expect(states.filter((state) => isInFlight({ ...base(), state }))).toEqual(['answered', 'generating', 'installing', 'failed']);
    expect(states.filter((state) => ownsGeneratedFile({ ...base(), state }))).toEqual(['answered', 'generating', 'installing', 'failed']);
    const done: Request = { ...base(), state: 'done' };
    expect((['generated', 'adopted', 'person'] as const).filter((resolution) => ownsGeneratedFile({ ...done, resolution }))).toEqual(['generated', 'adopted']);
    expect(ownsGeneratedFile({ ...base(), state: 'draft', resolution: 'generated' })).toBe(false);
  });

  it('publicView shows the request and nothing private (provenance, peers, hashes)', () => {
    const full: Request = {
      ...base(),
      state: 'draft',
      description: 'd',
      attempts: 2,
      failures: 1,
      lastError: 'e',
      nextAttemptAt: 9,
      review: true,
      candidate: 3,
      approved: 2,
      regenerating: { after: 1 },
      resolution: 'generated',
      componentSha256: 'a'.repeat(64),
      answeredBy: { uid: 1 },
      installed: { provider: 'p', at: 't' },
    };
    expect(publicView(full)).toEqual({
      id: '26258ccdb06f',
      goal: 'G',
      type: 'protocol',
      filename: 'f.txt',
      generatedName: 'autogen_protocol_for_g.txt',
      state: 'draft',
      description: 'd',
      attempts: 2,
      lastError: 'e',
      nextAttemptAt: 9,
      review: true,
      candidate: 3,
      approved: 2,
      regenerating: true,
      replaces: true,
      createdAt: '2026-03-04T05:06:07.000Z',
      updatedAt: '2026-03-04T05:06:07.000Z',
    });
    const plain = publicView(base());
    expect([plain.regenerating, plain.replaces]).toEqual([undefined, undefined]);
    expect(publicView({ ...full, state: 'done' }).replaces).toBeUndefined();
    expect(publicView({ ...full, resolution: undefined }).replaces).toBeUndefined();
  });
});
