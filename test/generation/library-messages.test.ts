/**
 * What reaches an OpenAI-compatible server, through the real openai SDK over real HTTP (only
 * the server is fake): the library context and the library's own instructions in the messages,
 * byte for byte what messages.ts builds; nothing but `model` and `messages` in the body; a
 * minimal reply; and the server's own words from every error shape servers send.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildMessages } from '../../src/generation/messages.js';
import { createOpenAIProvider } from '../../src/generation/openai.js';
import { GenerationError, type GenerationInput } from '../../src/generation/provider.js';
import type { ProviderConfig } from '../../src/library/config.js';
import { bareCompletion, completion, ERROR_SHAPES, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { contextFor } from '../support/library-context.js';
import { makeLibrary, type TempLibrary } from '../support/library-fixture.js';

const GOAL = 'DIAGNOSE_ROOT_CAUSE';
const MISSING = 'root_cause_analysis_drilldown.txt';
const SIBLING = 'You are a senior SRE who separates symptoms from causes.\n';
const EXAMPLE = 'Triage the alert:\n1. Scope: who is affected.\n2. Evidence: what the graphs say.\n';
const SYSTEM_MD = 'Write components for the Acme on-call library. British spelling throughout.\n';

let fake: FakeOpenAI;
let lib: TempLibrary;
beforeEach(async () => {
  fake = await startFakeOpenAI();
  lib = await makeLibrary({
    map: { [GOAL]: { protocol: MISSING, persona: 'sre.txt' }, TRIAGE_ROOT_CAUSE_ALERTS: { protocol: 'alert_triage.txt' } },
    components: { 'personas/sre.txt': SIBLING, 'protocols/alert_triage.txt': EXAMPLE },
  });
  await mkdir(join(dirname(lib.configFile), 'prompts'));
  await writeFile(join(dirname(lib.configFile), 'prompts', 'system.md'), SYSTEM_MD);
});
afterEach(async () => {
  await fake.stop();
  await lib.cleanup();
});

function config(over: Partial<ProviderConfig> = {}): ProviderConfig {
  return { kind: 'openai', model: 'local-model', baseURL: fake.baseURL, timeoutMs: 5_000, maxRetries: 0, maxOutputBytes: 10_000, ...over };
}

async function input(): Promise<GenerationInput> {
  return {
    goal: GOAL,
    type: 'protocol',
    filename: MISSING,
    description: 'drill from symptom to cause',
    signal: new AbortController().signal,
    context: await contextFor(lib, GOAL, 'protocol', MISSING),
  };
}

describe('messages sent to an OpenAI-compatible server', () => {
  it("carry the sibling's text, the example's text and the library's system.md, exactly as messages.ts builds them", async () => {
    fake.enqueue({ json: completion('1. Observe.') });
    const i = await input();
    expect(await createOpenAIProvider(config(), undefined).generate(i)).toMatchObject({ text: '1. Observe.\n' });
    expect(fake.requests).toHaveLength(1);
    const req = fake.requests[0]!;
    const [system, user] = req.body.messages as Array<{ role: string; content: string }>;
    expect(system!.role).toBe('system');
    expect(system!.content.startsWith(SYSTEM_MD.trimEnd())).toBe(true);
    expect(user!.role).toBe('user');
    expect(user!.content).toContain(SIBLING.trimEnd());
    expect(user!.content).toContain(EXAMPLE.trimEnd());
    expect(user!.content).toContain('drill from symptom to cause');
    // Byte for byte: the body's messages are the serialisation of what messages.ts returns.
    expect(req.rawBody).toContain(JSON.stringify(buildMessages(i)));
  });

  it('send only model and messages, as plain system and user messages with string content', async () => {
    fake.enqueue({ json: completion('Steps.') });
    await createOpenAIProvider(config(), undefined).generate(await input());
    const body = fake.requests[0]!.body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['messages', 'model']);
    for (const m of body.messages as Array<Record<string, unknown>>) {
      expect(Object.keys(m).sort()).toEqual(['content', 'role']);
      expect(['system', 'user']).toContain(m.role);
      expect(typeof m.content).toBe('string');
    }
  });

  it('accept a reply with only choices (no usage, id, created, object or model)', async () => {
    fake.enqueue({ json: bareCompletion('1. Look.\n2. Ask why.') });
    expect(await createOpenAIProvider(config(), undefined).generate(await input())).toMatchObject({ text: '1. Look.\n2. Ask why.\n' });
  });
});

describe("the server's own message, whatever error shape it sends", () => {
  const MESSAGE = 'model "local-model" is not loaded; run: ollama pull local-model';
  it.each(Object.keys(ERROR_SHAPES) as Array<keyof typeof ERROR_SHAPES>)('%s body', async (shape) => {
    fake.enqueue(ERROR_SHAPES[shape](400, MESSAGE));
    const err = await createOpenAIProvider(config(), undefined)
      .generate(await input())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as GenerationError).retryable).toBe(false);
    expect((err as Error).message).toContain(`(server said: ${MESSAGE})`);
    expect((err as Error).message).toContain('(400)');
  });

  it('an HTML error page from a proxy shows its text, not its markup', async () => {
    fake.enqueue({
      status: 502,
      headers: { 'content-type': 'text/html' },
      body: '<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>',
    });
    const err = (await createOpenAIProvider(config(), undefined)
      .generate(await input())
      .catch((e: unknown) => e)) as GenerationError;
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('server said: 502 Bad Gateway Bad Gateway');
    expect(err.message).not.toContain('<');
  });

  it('an error with no body says nothing it was not told', async () => {
    fake.enqueue({ status: 400, body: '' });
    const err = (await createOpenAIProvider(config(), undefined)
      .generate(await input())
      .catch((e: unknown) => e)) as GenerationError;
    expect(err.message).toMatch(/rejected the request \(400\): check provider\.model/);
    expect(err.message).not.toContain('server said');
  });
});
