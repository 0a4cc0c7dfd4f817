/**
 * Provenance shapes (docs/review.md, "Provenance"): what a record may hold, that a newer jitd's
 * extra fields never make it unreadable, and that `compact` drops only undefined fields.
 */
import { describe, expect, it } from 'vitest';
import { compact, OutputProvenanceSchema, PeerSchema, UsageSchema } from '../../src/requests/provenance.js';

const base = { provider: 'openai', at: '2026-01-01T00:00:00.000Z' };

describe('provenance', () => {
  it('accepts the full shape and a newer jitd extra field, keeping what it knows', () => {
    const full = {
      ...base,
      model: 'm',
      server: 'http://127.0.0.1:9/v1',
      usage: { promptTokens: 0, completionTokens: 2, totalTokens: 2 },
      candidate: 1,
      source: 'person',
      feedback: 'f',
      approvedBy: { uid: 0, user: 'root' },
      editedBy: { uid: 1000 },
    };
    expect(OutputProvenanceSchema.parse({ ...full, later: true })).toEqual(full);
    expect(OutputProvenanceSchema.parse(base)).toEqual(base);
    for (const source of ['model', 'installed']) expect(OutputProvenanceSchema.parse({ ...base, source }).source).toBe(source);
  });

  it('rejects what no jitd writes', () => {
    for (const bad of [
      { at: base.at },
      { provider: base.provider },
      { ...base, candidate: 0 },
      { ...base, candidate: 1.5 },
      { ...base, source: 'guess' },
      { ...base, model: 1 },
      { ...base, server: 1 },
      { ...base, feedback: 1 },
      { ...base, approvedBy: { uid: -1 } },
      { ...base, editedBy: { user: 'x' } },
    ])
      expect(OutputProvenanceSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    for (const field of ['promptTokens', 'completionTokens', 'totalTokens']) {
      expect(UsageSchema.safeParse({ [field]: -1 }).success, field).toBe(false);
      expect(UsageSchema.safeParse({ [field]: 0.5 }).success, field).toBe(false);
    }
    expect(UsageSchema.parse({})).toEqual({});
    expect(PeerSchema.safeParse({ uid: 1, user: 2 }).success).toBe(false);
  });

  it('compact drops only undefined fields', () => {
    expect(compact({ a: undefined, b: 0, c: '', d: false, e: null, f: 'x' })).toEqual({ b: 0, c: '', d: false, e: null, f: 'x' });
    expect(Object.keys(compact({ a: undefined }))).toEqual([]);
  });
});
