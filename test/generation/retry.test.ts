import { describe, expect, it } from 'vitest';
import { AbortError } from '../../src/generation/abort.js';
import { GenerationError, type GenerationInput, type Provider } from '../../src/generation/provider.js';
import { backoffDelayMs, generateWithRetry, isAbortError } from '../../src/generation/retry.js';

function input(signal: AbortSignal = new AbortController().signal): GenerationInput {
  return { goal: 'G', type: 'protocol', filename: 'f.txt', description: 'd', signal };
}

/** A provider that plays `script` in order: an Error is thrown, a string returned. */
function scripted(script: Array<string | Error>): Provider & { calls: number } {
  const p = {
    name: 'scripted',
    calls: 0,
    async generate(): Promise<string> {
      const next = script[p.calls++];
      if (next === undefined) throw new Error('script exhausted');
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return p;
}

const retryable = (msg = 'flaky', extra?: { retryAfterMs?: number }) => new GenerationError(msg, true, extra);

describe('generateWithRetry', () => {
  it('returns the first success without retrying', async () => {
    const p = scripted(['ok\n']);
    expect(await generateWithRetry(p, input(), { maxRetries: 3, baseDelayMs: 1 })).toBe('ok\n');
    expect(p.calls).toBe(1);
  });

  it('retries retryable GenerationErrors and counts attempts in onRetry', async () => {
    const p = scripted([retryable(), retryable(), 'ok\n']);
    const attempts: number[] = [];
    const out = await generateWithRetry(p, input(), { maxRetries: 3, baseDelayMs: 1, onRetry: (a) => attempts.push(a) });
    expect(out).toBe('ok\n');
    expect(p.calls).toBe(3);
    expect(attempts).toEqual([1, 2]);
  });

  it('rethrows the last error after maxRetries retries (1 + maxRetries calls)', async () => {
    const last = retryable('third');
    const p = scripted([retryable('first'), retryable('second'), last, 'never']);
    await expect(generateWithRetry(p, input(), { maxRetries: 2, baseDelayMs: 1 })).rejects.toBe(last);
    expect(p.calls).toBe(3);
  });

  it('makes exactly one call with maxRetries 0', async () => {
    const p = scripted([retryable(), 'never']);
    await expect(generateWithRetry(p, input(), { maxRetries: 0, baseDelayMs: 1 })).rejects.toBeInstanceOf(GenerationError);
    expect(p.calls).toBe(1);
  });

  it('does not retry a permanent GenerationError', async () => {
    const permanent = new GenerationError('bad key', false);
    const p = scripted([permanent, 'never']);
    await expect(generateWithRetry(p, input(), { maxRetries: 5, baseDelayMs: 1 })).rejects.toBe(permanent);
    expect(p.calls).toBe(1);
  });

  it('does not retry errors that are not GenerationErrors (bugs)', async () => {
    const bug = new TypeError('x is undefined');
    const p = scripted([bug, 'never']);
    await expect(generateWithRetry(p, input(), { maxRetries: 5, baseDelayMs: 1 })).rejects.toBe(bug);
    expect(p.calls).toBe(1);
  });

  it('honours retryAfterMs but caps it at retryAfterCapMs', async () => {
    const p = scripted([retryable('429', { retryAfterMs: 3_600_000 }), retryable('429', { retryAfterMs: 7 }), 'ok\n']);
    const delays: number[] = [];
    await generateWithRetry(p, input(), { maxRetries: 3, retryAfterCapMs: 30, onRetry: (_a, _e, d) => delays.push(d) });
    expect(delays).toEqual([30, 7]);
  });

  it('sleeps abortably: an abort during the back-off rejects with an AbortError at once', async () => {
    const ac = new AbortController();
    const p = scripted([retryable(), 'never']);
    const started = Date.now();
    setTimeout(() => ac.abort(), 20);
    const err = await generateWithRetry(p, input(ac.signal), { maxRetries: 3, baseDelayMs: 60_000, random: () => 0.99 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(AbortError);
    expect(isAbortError(err)).toBe(true);
    expect(p.calls).toBe(1);
  });

  it('does not call the provider when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    const p = scripted(['never']);
    const err = await generateWithRetry(p, input(ac.signal), { maxRetries: 3 }).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect((err as Error).message).toMatch(/shutting down/);
    expect(p.calls).toBe(0);
  });

  it('turns a failure caused by the caller aborting into an AbortError, without retrying', async () => {
    const ac = new AbortController();
    const p: Provider = {
      name: 'x',
      async generate() {
        ac.abort();
        throw retryable('connection closed');
      },
    };
    const err = await generateWithRetry(p, input(ac.signal), { maxRetries: 3, baseDelayMs: 1 }).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(err).not.toBeInstanceOf(GenerationError);
  });
});

describe('backoffDelayMs', () => {
  const err = retryable();
  it('uses full jitter under an exponential ceiling capped at maxDelayMs', () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelayMs(1, err, { ...opts, random: () => 0.5 })).toBe(50);
    expect(backoffDelayMs(3, err, { ...opts, random: () => 0.5 })).toBe(200);
    expect(backoffDelayMs(10, err, { ...opts, random: () => 0.999 })).toBe(999);
    expect(backoffDelayMs(10, err, { ...opts, random: () => 0 })).toBe(0);
  });

  it('defaults to a 60 s cap on retry-after', () => {
    expect(backoffDelayMs(1, retryable('x', { retryAfterMs: 10 * 60_000 }))).toBe(60_000);
  });
});

describe('isAbortError', () => {
  it('recognises jitd, DOM and named abort errors only', () => {
    expect(isAbortError(new AbortError())).toBe(true);
    expect(isAbortError(new DOMException('x', 'AbortError'))).toBe(true);
    expect(isAbortError(new DOMException('x', 'TimeoutError'))).toBe(false);
    expect(isAbortError(new GenerationError('x', true))).toBe(false);
    expect(isAbortError(undefined)).toBe(false);
  });
});
