/**
 * The generation pool (src/jobs/generation-pool.ts), directly: at most `concurrency` provider
 * calls at once, at most `requestsPerMinute` started per minute, a cancel aborts the running
 * call through its AbortSignal and answers `stopped`, a cancelled queued job never reaches the
 * provider, jobs are de-duplicated, and failures keep their retryable flag. The provider is a
 * fake whose calls are held open until the test settles them.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortErrorFor } from '../../src/generation/abort.js';
import { GenerationError, type GenerationInput, type GenerationResult, type Provider } from '../../src/generation/provider.js';
import { GenerationPool } from '../../src/jobs/generation-pool.js';
import type { ProviderConfig } from '../../src/library/config.js';
import { newRequest, type Request } from '../../src/requests/request.js';
import { answer } from '../../src/requests/transitions.js';

/** One provider call held open: the test resolves or rejects it. */
interface HeldCall {
  input: GenerationInput;
  resolve(answer: string | GenerationResult): void;
  reject(err: unknown): void;
}

/** A provider whose calls wait for the test; like a real one, a call rejects with an AbortError when its signal fires. */
function heldProvider(): Provider & { calls: HeldCall[]; inFlight: number; maxInFlight: number } {
  const p = {
    name: 'held',
    calls: [] as HeldCall[],
    inFlight: 0,
    maxInFlight: 0,
    generate(input: GenerationInput): Promise<string | GenerationResult> {
      p.inFlight++;
      p.maxInFlight = Math.max(p.maxInFlight, p.inFlight);
      return new Promise<string | GenerationResult>((resolve, reject) => {
        p.calls.push({ input, resolve, reject });
        input.signal.addEventListener('abort', () => reject(abortErrorFor(input.signal)), { once: true });
      }).finally(() => p.inFlight--);
    },
  };
  return p;
}

const CONFIG: ProviderConfig = { kind: 'template', model: 'fake', timeoutMs: 120_000, maxRetries: 0, maxOutputBytes: 200_000 };

function pool(provider: Provider, opts: { concurrency?: number; requestsPerMinute?: number } = {}) {
  const started: string[] = [];
  const p = new GenerationPool({
    provider,
    config: { ...CONFIG, ...(opts.requestsPerMinute ? { requestsPerMinute: opts.requestsPerMinute } : {}) },
    concurrency: opts.concurrency ?? 2,
    log: pino({ level: 'silent' }),
    onStart: (r) => started.push(r.goal),
  });
  return { pool: p, started };
}

function answered(goal: string): Request {
  const now = new Date();
  return answer(newRequest(goal, 'protocol', `${goal.toLowerCase()}.md`, now), `write ${goal}`, now);
}

/** Lets queued microtasks and p-queue's hand-offs run. */
const settle = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('GenerationPool', () => {
  it('runs at most `concurrency` provider calls at once and starts the queued ones as calls finish', async () => {
    const provider = heldProvider();
    const { pool: p, started } = pool(provider, { concurrency: 2 });
    const goals = ['A', 'B', 'C', 'D', 'E'];
    const outcomes = goals.map((g) => p.enqueue(answered(g))!);
    await settle();
    expect(provider.calls.map((c) => c.input.goal)).toEqual(['A', 'B']);
    expect(p.stats()).toEqual({ generating: 2, waitingForModel: 3 });
    expect(started).toEqual(['A', 'B']);

    for (let i = 0; i < goals.length; i++) {
      provider.calls[i]!.resolve(`text ${provider.calls[i]!.input.goal}\n`);
      await settle();
    }
    const results = await Promise.all(outcomes);
    expect(results.map((o) => (o.kind === 'output' ? o.content : o.kind))).toEqual(goals.map((g) => `text ${g}\n`));
    expect(provider.maxInFlight).toBe(2);
    expect(p.busy()).toBe(0);
  });

  it('passes the request to the provider: goal, type, filename and description', async () => {
    const provider = heldProvider();
    const { pool: p } = pool(provider);
    const r = answered('SHOWN');
    const outcome = p.enqueue(r)!;
    await settle();
    expect(provider.calls[0]!.input).toMatchObject({ goal: 'SHOWN', type: 'protocol', filename: 'shown.md', description: 'write SHOWN' });
    provider.calls[0]!.resolve('ok\n');
    expect(await outcome).toEqual({ kind: 'output', request: r, content: 'ok\n', generation: { provider: provider.name, at: expect.any(String) } });
  });

  it("normalises a provider's answer in one place: a plain string is the text alone, a result keeps its model, server and usage", async () => {
    const provider = heldProvider();
    const { pool: p } = pool(provider);
    const a = p.enqueue(answered('PLAIN'))!;
    const b = p.enqueue(answered('RICH'))!;
    await settle();
    provider.calls[0]!.resolve('plain\n');
    provider.calls[1]!.resolve({ text: 'rich\n', model: 'm-7', server: 'http://127.0.0.1:9/v1', usage: { promptTokens: 3, totalTokens: 4 } });
    expect(await a).toMatchObject({ kind: 'output', content: 'plain\n' });
    const plain = await a;
    expect(plain.kind === 'output' ? plain.generation : undefined).toEqual({ provider: provider.name, at: expect.any(String) });
    expect(await b).toMatchObject({
      kind: 'output',
      content: 'rich\n',
      generation: { provider: provider.name, model: 'm-7', server: 'http://127.0.0.1:9/v1', usage: { promptTokens: 3, totalTokens: 4 } },
    });
  });

  it('cancel() aborts the running call through its AbortSignal and answers stopped, leaving the other jobs running', async () => {
    const provider = heldProvider();
    const { pool: p } = pool(provider, { concurrency: 2 });
    const victim = answered('VICTIM');
    const cancelled = p.enqueue(victim)!;
    const other = p.enqueue(answered('OTHER'))!;
    await settle();
    const [victimCall, otherCall] = provider.calls;
    expect(victimCall!.input.signal.aborted).toBe(false);

    p.cancel(victim.id);
    expect(victimCall!.input.signal.aborted).toBe(true);
    expect(otherCall!.input.signal.aborted).toBe(false);
    expect(await cancelled).toEqual({ kind: 'stopped', request: victim });

    otherCall!.resolve('other\n');
    expect(await other).toMatchObject({ kind: 'output', content: 'other\n' });
  });

  it('answers stopped, not output, when a cancelled call returns text anyway', async () => {
    // A provider that ignores its signal and answers after the cancel.
    let finish!: (s: string) => void;
    const deaf: Provider = { name: 'deaf', generate: () => new Promise<string>((r) => (finish = r)) };
    const { pool: p } = pool(deaf);
    const r = answered('DEAF');
    const outcome = p.enqueue(r)!;
    await settle();
    p.cancel(r.id);
    finish('late text\n');
    expect(await outcome).toEqual({ kind: 'stopped', request: r });
  });

  it('a queued job cancelled before it starts never calls the provider nor onStart, and answers stopped', async () => {
    const provider = heldProvider();
    const { pool: p, started } = pool(provider, { concurrency: 1 });
    const first = p.enqueue(answered('FIRST'))!;
    const queued = answered('QUEUED');
    const cancelled = p.enqueue(queued)!;
    await settle();
    expect(p.stats()).toEqual({ generating: 1, waitingForModel: 1 });

    p.cancel(queued.id);
    provider.calls[0]!.resolve('first\n');
    expect(await first).toMatchObject({ kind: 'output' });
    expect(await cancelled).toEqual({ kind: 'stopped', request: queued });
    expect(provider.calls.map((c) => c.input.goal)).toEqual(['FIRST']);
    expect(started).toEqual(['FIRST']);
  });

  it('de-duplicates by request id while a job is queued or running, and takes the request again once it settled', async () => {
    const provider = heldProvider();
    const { pool: p } = pool(provider);
    const r = answered('ONCE');
    const outcome = p.enqueue(r)!;
    expect(p.enqueue(r)).toBeUndefined();
    await settle();
    expect(p.enqueue(r)).toBeUndefined();
    provider.calls[0]!.resolve('once\n');
    await outcome;
    const again = p.enqueue(r);
    expect(again).toBeDefined();
    await settle();
    provider.calls[1]!.resolve('twice\n');
    expect(await again).toMatchObject({ kind: 'output', content: 'twice\n' });
  });

  it('refuses a request without a description', () => {
    const provider = heldProvider();
    const { pool: p } = pool(provider);
    expect(p.enqueue(newRequest('UNANSWERED', 'protocol', 'u.md'))).toBeUndefined();
    expect(p.busy()).toBe(0);
  });

  it('answers a permanent GenerationError as a non-retryable failure and any other error as a retryable one', async () => {
    const provider = heldProvider();
    const { pool: p } = pool(provider);
    const permanent = p.enqueue(answered('PERMANENT'))!;
    const crash = p.enqueue(answered('CRASH'))!;
    await settle();
    provider.calls[0]!.reject(new GenerationError('HTTP 401 bad key', false));
    provider.calls[1]!.reject(new Error('socket hang up'));
    expect(await permanent).toMatchObject({ kind: 'failure', error: 'HTTP 401 bad key', retryable: false });
    expect(await crash).toMatchObject({ kind: 'failure', error: 'socket hang up', retryable: true });
  });

  it('stop() aborts every job, queued or running, waits for them, and refuses new ones', async () => {
    const provider = heldProvider();
    const { pool: p } = pool(provider, { concurrency: 1 });
    const running = p.enqueue(answered('RUNNING'))!;
    const queued = p.enqueue(answered('WAITING'))!;
    await settle();
    await p.stop();
    expect(provider.calls[0]!.input.signal.aborted).toBe(true);
    expect((await running).kind).toBe('stopped');
    expect((await queued).kind).toBe('stopped');
    expect(provider.calls).toHaveLength(1);
    expect(p.enqueue(answered('LATE'))).toBeUndefined();
  });

  it('starts at most requestsPerMinute calls per minute, the rest once the minute has passed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const provider = heldProvider();
    const { pool: p } = pool(provider, { concurrency: 10, requestsPerMinute: 2 });
    const outcomes = ['A', 'B', 'C', 'D', 'E'].map((g) => p.enqueue(answered(g))!);
    await settle();
    for (const c of provider.calls) c.resolve('x\n');
    await settle();
    expect(provider.calls.map((c) => c.input.goal)).toEqual(['A', 'B']);

    await vi.advanceTimersByTimeAsync(59_000);
    await settle();
    expect(provider.calls).toHaveLength(2);

    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(provider.calls.map((c) => c.input.goal)).toEqual(['A', 'B', 'C', 'D']);
    for (const c of provider.calls.slice(2)) c.resolve('x\n');

    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(provider.calls.map((c) => c.input.goal)).toEqual(['A', 'B', 'C', 'D', 'E']);
    provider.calls[4]!.resolve('x\n');
    expect((await Promise.all(outcomes)).map((o) => o.kind)).toEqual(['output', 'output', 'output', 'output', 'output']);
  });

  // This test found that a cancelled queued job used to wait its turn in p-queue and use up a
  // start of its minute (C started a minute late); the job's signal now takes it out at once.
  it('a queued job cancelled under requestsPerMinute does not use up a start of the minute', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const provider = heldProvider();
    const { pool: p } = pool(provider, { concurrency: 10, requestsPerMinute: 1 });
    const first = p.enqueue(answered('A'))!;
    const cancelled = answered('B');
    void p.enqueue(cancelled);
    const last = p.enqueue(answered('C'))!;
    await settle();
    p.cancel(cancelled.id);
    provider.calls[0]!.resolve('a\n');
    await first;
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(provider.calls.map((c) => c.input.goal)).toEqual(['A', 'C']);
    provider.calls[1]!.resolve('c\n');
    await last;
  });

  it('cancel() of an unknown id does nothing', async () => {
    const provider = heldProvider();
    const { pool: p } = pool(provider);
    const r = answered('KEPT');
    const outcome = p.enqueue(r)!;
    await settle();
    p.cancel('ffffffffffff');
    provider.calls[0]!.resolve('kept\n');
    expect(await outcome).toMatchObject({ kind: 'output', content: 'kept\n' });
  });
});
