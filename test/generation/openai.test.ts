/**
 * The openai provider through the real `openai` SDK over real HTTP; only the service is fake.
 * Every test checks the outcome, how many calls the server saw, and that the API key never
 * shows in an error message.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAbortError } from '../../src/generation/abort.js';
import { createOpenAIProvider, parseRetryAfter, serverOf } from '../../src/generation/openai.js';
import { GenerationError, type GenerationInput } from '../../src/generation/provider.js';
import { generateWithRetry } from '../../src/generation/retry.js';
import type { ProviderConfig } from '../../src/library/config.js';
import { apiError, bareCompletion, completion, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';

const KEY = 'sk-test-SECRET-123';
const GOAL = 'DIAGNOSE_ROOT_CAUSE';
const FILE = 'root_cause_analysis_drilldown.txt';
const DESCRIPTION = 'walk from the symptom down to the first cause, checking evidence at each level';

let fake: FakeOpenAI;
beforeEach(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await fake.stop();
});

function config(over: Partial<ProviderConfig> = {}): ProviderConfig {
  return { kind: 'openai', model: 'test-model', baseURL: fake.baseURL, timeoutMs: 5_000, maxRetries: 2, maxOutputBytes: 10_000, ...over };
}

function input(signal: AbortSignal = new AbortController().signal): GenerationInput {
  return { goal: GOAL, type: 'protocol', filename: FILE, description: DESCRIPTION, signal };
}

const fast = { baseDelayMs: 5, maxDelayMs: 20, retryAfterCapMs: 50 };

/** Runs `p`, which must reject, and returns the error. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

function expectNoKey(err: unknown): void {
  const e = err as Error & { cause?: unknown };
  expect(e.message).not.toContain(KEY);
  expect(String(e.stack)).not.toContain(KEY);
  expect(JSON.stringify(e, Object.getOwnPropertyNames(e))).not.toContain(KEY);
}

function expectContextReachedModel(): void {
  expect(fake.requests.length).toBeGreaterThan(0);
  for (const req of fake.requests) {
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.body.model).toBe('test-model');
    const user = req.body.messages.find((m: { role: string }) => m.role === 'user').content as string;
    expect(user).toContain(DESCRIPTION);
    expect(user).toContain(GOAL);
    expect(user).toContain(FILE);
    expect(req.body.messages[0].role).toBe('system');
    expect(req.body.messages[0].content).toMatch(/ONE reusable component and nothing else/);
  }
}

describe('openai provider over real HTTP', () => {
  it('returns the cleaned answer with the model, server and usage the reply gave, and sends description, goal and file name to the model', async () => {
    fake.enqueue({
      json: completion('1. Find the symptom.\n2. Drill down.', {
        model: 'served-model-2026',
        usage: { prompt_tokens: 17, completion_tokens: 5, total_tokens: 22 },
      }),
    });
    const out = await createOpenAIProvider(config(), KEY).generate(input());
    expect(out).toEqual({
      text: '1. Find the symptom.\n2. Drill down.\n',
      model: 'served-model-2026',
      server: fake.baseURL,
      usage: { promptTokens: 17, completionTokens: 5, totalTokens: 22 },
    });
    expect(fake.requests).toHaveLength(1);
    expectContextReachedModel();
    expect(fake.requests[0]!.body.messages[0].content).toMatch(/PROTOCOL/);
  });

  it('retries a 500 through generateWithRetry and succeeds on the second call', async () => {
    fake.enqueue({ status: 500, json: apiError('boom', 'server_error') }, { json: completion('Step 1.') });
    const retries: number[] = [];
    const out = await generateWithRetry(createOpenAIProvider(config(), KEY), input(), {
      maxRetries: 2,
      ...fast,
      onRetry: (attempt, err) => {
        expect(err.retryable).toBe(true);
        expect(err.status).toBe(500);
        expectNoKey(err);
        retries.push(attempt);
      },
    });
    expect(out).toMatchObject({ text: 'Step 1.\n' });
    expect(retries).toEqual([1]);
    expect(fake.requests).toHaveLength(2);
    expectContextReachedModel();
  });

  it('honours retry-after on a 429, capped by retryAfterCapMs', async () => {
    fake.enqueue({ status: 429, headers: { 'retry-after': '1' }, json: apiError('slow down', 'rate_limit_error') }, { json: completion('ok') });
    const delays: number[] = [];
    const seen: GenerationError[] = [];
    const out = await generateWithRetry(createOpenAIProvider(config(), KEY), input(), {
      maxRetries: 1,
      ...fast,
      onRetry: (_a, err, delayMs) => {
        seen.push(err);
        delays.push(delayMs);
      },
    });
    expect(out).toMatchObject({ text: 'ok\n' });
    expect(seen[0]!.retryAfterMs).toBe(1000);
    expect(seen[0]!.status).toBe(429);
    expect(delays).toEqual([50]);
    expect(fake.requests).toHaveLength(2);
    expectNoKey(seen[0]);
    expectContextReachedModel();
  });

  it('takes retry-after-ms from a 503 (local server loading its model) as retryable', async () => {
    fake.enqueue({ status: 503, headers: { 'retry-after-ms': '20' }, json: apiError('Loading model', 'unavailable_error') });
    const err = await rejection(createOpenAIProvider(config(), KEY).generate(input()));
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(true);
    expect((err as GenerationError).retryAfterMs).toBe(20);
    expect(err.message).toMatch(/503/);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it('turns a server that never answers into a retryable timeout instead of hanging', async () => {
    fake.enqueue({ hang: true });
    const started = Date.now();
    const err = await rejection(createOpenAIProvider(config({ timeoutMs: 300 }), KEY).generate(input()));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(true);
    expect(err.message).toMatch(/within 300 ms/);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
    expectContextReachedModel();
  });

  it('turns a body that stalls after the headers into a retryable timeout (timeoutMs covers the body)', async () => {
    fake.enqueue({ stallAfterBytes: 20, json: completion('never finished') });
    const started = Date.now();
    const err = await rejection(createOpenAIProvider(config({ timeoutMs: 300 }), KEY).generate(input()));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(true);
    expect(err.message).toMatch(/within 300 ms/);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it('reports a connection reset as a retryable error', async () => {
    fake.enqueue({ reset: true });
    const err = await rejection(createOpenAIProvider(config(), KEY).generate(input()));
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(true);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it('reports an unreachable server as retryable and names the baseURL', async () => {
    const url = fake.baseURL;
    await fake.stop();
    const err = await rejection(createOpenAIProvider(config({ baseURL: url }), KEY).generate(input()));
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(true);
    expect(err.message).toContain(url);
    expectNoKey(err);
    fake = await startFakeOpenAI(); // for afterEach
  });

  it('treats an invalid JSON body as a retryable unreadable answer', async () => {
    fake.enqueue({ body: '{"choices": [ this is not json' });
    const err = await rejection(createOpenAIProvider(config(), KEY).generate(input()));
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(true);
    expect(err.message).toMatch(/unreadable answer/);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it('treats an answer without choices as a retryable unreadable answer', async () => {
    fake.enqueue({ json: { id: 'x', object: 'chat.completion' } });
    const err = await rejection(createOpenAIProvider(config(), KEY).generate(input()));
    expect((err as GenerationError).retryable).toBe(true);
    expect(err.message).toMatch(/unreadable answer/);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects empty content as retryable and retries it', async () => {
    fake.enqueue({ json: completion('') }, { json: completion('   \n') }, { json: completion(null) });
    const err = await rejection(generateWithRetry(createOpenAIProvider(config(), KEY), input(), { maxRetries: 2, ...fast }));
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(true);
    expect(err.message).toMatch(/empty/);
    expect(fake.requests).toHaveLength(3);
    expectNoKey(err);
    expectContextReachedModel();
  });

  it('rejects an answer over maxOutputBytes as permanent (one call, names the setting)', async () => {
    fake.enqueue({ json: completion('x'.repeat(5_000)) });
    const err = await rejection(generateWithRetry(createOpenAIProvider(config({ maxOutputBytes: 1_000 }), KEY), input(), { maxRetries: 3, ...fast }));
    expect((err as GenerationError).retryable).toBe(false);
    expect(err.message).toMatch(/maxOutputBytes \(1000\)/);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it('fails a 401 at once (1 call) and tells the person to check the key, without showing it', async () => {
    fake.enqueue({ status: 401, json: apiError(`Incorrect API key provided: ${KEY}.`, 'invalid_request_error', 'invalid_api_key') });
    const err = await rejection(generateWithRetry(createOpenAIProvider(config(), KEY), input(), { maxRetries: 3, ...fast }));
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(false);
    expect((err as GenerationError).status).toBe(401);
    expect(err.message).toMatch(/check OPENAI_API_KEY/);
    expect(err.message).toContain('[redacted]');
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it('fails a 404 at once and names the model and the baseURL', async () => {
    fake.enqueue({ status: 404, json: apiError('The model `test-model` does not exist', 'invalid_request_error', 'model_not_found') });
    const err = await rejection(generateWithRetry(createOpenAIProvider(config(), KEY), input(), { maxRetries: 3, ...fast }));
    expect((err as GenerationError).retryable).toBe(false);
    expect(err.message).toContain(`model "test-model" not found at ${fake.baseURL}`);
    expect(err.message).toMatch(/check provider\.model and provider\.baseURL/);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it.each([400, 403, 422])('fails a %i at once (permanent, 1 call)', async (status) => {
    fake.enqueue({ status, json: apiError('nope') });
    const err = await rejection(generateWithRetry(createOpenAIProvider(config(), KEY), input(), { maxRetries: 3, ...fast }));
    expect((err as GenerationError).retryable).toBe(false);
    expect((err as GenerationError).status).toBe(status);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it('treats a 429 insufficient_quota as permanent (billing, not rate)', async () => {
    fake.enqueue({ status: 429, json: apiError('You exceeded your current quota', 'insufficient_quota', 'insufficient_quota') });
    const err = await rejection(createOpenAIProvider(config(), KEY).generate(input()));
    expect((err as GenerationError).retryable).toBe(false);
    expect(err.message).toMatch(/billing/);
  });

  it('reports the configured model and no usage for a minimal server that sends neither', async () => {
    fake.enqueue({ json: bareCompletion('Step 1.') });
    const out = await createOpenAIProvider(config(), KEY).generate(input());
    expect(out).toEqual({ text: 'Step 1.\n', model: 'test-model', server: fake.baseURL });
  });

  it('keeps no credentials, query or fragment of baseURL in the server it reports', () => {
    expect(serverOf('https://user:secret@llm.example:8443/v1?api-key=sk-x#frag')).toBe('https://llm.example:8443/v1');
    expect(serverOf('not a url')).toBe('(unparsable baseURL)');
  });

  it('strips a code fence and chat preamble from the answer', async () => {
    fake.enqueue({ json: completion("Sure! Here's the component:\n\n```text\n1. Observe.\n2. Drill down.\n```\n\nLet me know if you want changes!") });
    const out = await createOpenAIProvider(config(), KEY).generate(input());
    expect(out.text).toBe('1. Observe.\n2. Drill down.\n');
    expect(fake.requests).toHaveLength(1);
    expectContextReachedModel();
  });

  it('surfaces a caller abort during a slow call as an AbortError, quickly, without retrying', async () => {
    fake.enqueue({ delayMs: 10_000, json: completion('too late') });
    const ac = new AbortController();
    const provider = createOpenAIProvider(config({ timeoutMs: 30_000 }), KEY);
    const started = Date.now();
    setTimeout(() => ac.abort(), 100);
    const err = await rejection(generateWithRetry(provider, input(ac.signal), { maxRetries: 3, ...fast }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isAbortError(err)).toBe(true);
    expect(err).not.toBeInstanceOf(GenerationError);
    expect(fake.requests).toHaveLength(1);
    expectNoKey(err);
  });

  it('surfaces a caller abort while the body is streaming as an AbortError', async () => {
    fake.enqueue({ stallAfterBytes: 10, json: completion('partial') });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await rejection(createOpenAIProvider(config({ timeoutMs: 30_000 }), KEY).generate(input(ac.signal)));
    expect(isAbortError(err)).toBe(true);
    expect(err).not.toBeInstanceOf(GenerationError);
  });

  it('makes no call when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await rejection(createOpenAIProvider(config(), KEY).generate(input(ac.signal)));
    expect(isAbortError(err)).toBe(true);
    expect(fake.requests).toHaveLength(0);
  });

  it('rejects a truncated answer (finish_reason length) as permanent', async () => {
    fake.enqueue({ json: completion('1. Observe.\n2. Dri', { finish_reason: 'length' }) });
    const err = await rejection(createOpenAIProvider(config(), KEY).generate(input()));
    expect((err as GenerationError).retryable).toBe(false);
    expect(err.message).toMatch(/cut off/);
  });

  it('sends a placeholder key to a baseURL server when no key is configured', async () => {
    fake.enqueue({ json: completion('ok') });
    await createOpenAIProvider(config(), undefined).generate(input());
    expect(fake.requests[0]!.headers.authorization).toMatch(/^Bearer \S+/);
  });

  it('refuses to be created with neither a key nor a baseURL, with a readable message', () => {
    expect(() => createOpenAIProvider(config({ baseURL: undefined }), undefined)).toThrow(
      /provider\.kind is "openai" but no API key: set OPENAI_API_KEY or LoadCredential=openai-api-key/,
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads retry-after-ms, retry-after seconds and retry-after dates', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(parseRetryAfter(h({ 'retry-after-ms': '250' }))).toBe(250);
    expect(parseRetryAfter(h({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfter(h({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6000);
    expect(parseRetryAfter(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(h({}))).toBeUndefined();
  });
});
