/**
 * `preview` over the real control socket of an in-process daemon whose openai provider talks to
 * the fake server through the real SDK: it calls no model, shows a marked placeholder for a
 * description nobody gave, works in every state, and shows byte for byte the messages that are
 * then sent. A failed request's lastError carries the server's own message in each error shape.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from '../../src/generation/openai.js';
import { ControlClient } from '../../src/ipc/client.js';
import { DESCRIPTION_PLACEHOLDER } from '../../src/ipc/messages/preview.js';
import { MISSING_GOAL, startDaemonFixture, type DaemonFixture } from '../support/daemon-fixture.js';
import { completion, ERROR_SHAPES, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';

let fake: FakeOpenAI | undefined;
let d: DaemonFixture | undefined;
let client: ControlClient | undefined;
afterEach(async () => {
  client?.close();
  await d?.close();
  await fake?.stop();
  client = undefined;
  d = undefined;
  fake = undefined;
});

async function start() {
  fake = await startFakeOpenAI();
  const provider = createOpenAIProvider(
    { kind: 'openai', model: 'local-model', baseURL: fake.baseURL, timeoutMs: 5_000, maxRetries: 0, maxOutputBytes: 100_000 },
    undefined,
  );
  d = await startDaemonFixture({ provider });
  client = await ControlClient.connect(d.socketPath);
  const [r] = (await client.call('pending', {})).requests;
  expect(r?.goal).toBe(MISSING_GOAL);
  return r!.id;
}

describe('preview', () => {
  it('of a waiting request calls no model and marks where the description goes', async () => {
    const id = await start();
    const p = await client!.call('preview', { id });
    expect(fake!.requests).toHaveLength(0);
    expect(p.descriptionPlaceholder).toBe(true);
    expect(p.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(p.messages[1]!.content).toContain(DESCRIPTION_PLACEHOLDER);
    expect(p.messages[1]!.content).toContain('You are an SRE.'); // the sibling
    expect(p.messages[1]!.content).toContain('Review it.'); // the same-type example
    expect(p.provider).toEqual({ name: 'openai', model: 'local-model', baseURL: fake!.baseURL });
    expect(p.sizes.map((s) => s.bytes)).toEqual(p.messages.map((m) => Buffer.byteLength(m.content)));
    expect(p.bytes).toBe(p.sizes[0]!.bytes + p.sizes[1]!.bytes);
    expect(p.sizes.map((s) => s.tokens)).toEqual(p.sizes.map((s) => Math.ceil(s.bytes / 4)));
    expect(p.context.included.map((x) => [x.kind, x.filename])).toEqual([
      ['sibling', 'sre.txt'],
      ['example', 'review.txt'],
    ]);
    expect(p.context.instructions).toEqual({ common: 'built-in', type: 'built-in' });
    expect((await client!.call('pending', {})).requests.map((r) => r.state)).toEqual(['waiting']);
  });

  it('with --description shows exactly the messages then sent for that answer, byte for byte', async () => {
    const id = await start();
    const prompts = join(dirname(d!.config.configFile), 'prompts');
    await mkdir(prompts);
    await writeFile(join(prompts, 'system.md'), 'Library rules: short, plain, imperative.\n');
    await writeFile(join(prompts, 'protocol.md'), 'Protocols are numbered steps, five at most.\n');
    const description = 'walk  from the symptom\tdown to the cause'; // answer collapses whitespace; so does preview
    const p = await client!.call('preview', { id, description });
    expect(p.descriptionPlaceholder).toBe(false);
    expect(p.context.instructions).toEqual({ common: join(prompts, 'system.md'), type: join(prompts, 'protocol.md') });
    expect(p.messages[0]!.content).toBe('Library rules: short, plain, imperative.\n\nProtocols are numbered steps, five at most.');
    expect(fake!.requests).toHaveLength(0);

    fake!.enqueue({ json: completion('1. Observe.\n2. Ask why.') });
    await client!.call('answer', { id, text: description });
    await d!.engine.idle();
    expect(fake!.requests).toHaveLength(1);
    expect(fake!.requests[0]!.body.messages).toEqual(p.messages);
    expect(fake!.requests[0]!.rawBody).toContain(JSON.stringify(p.messages));
  });

  it('of a done request shows its own description, and not its own component as an example', async () => {
    const id = await start();
    fake!.enqueue({ json: completion('1. Observe.') });
    await client!.call('answer', { id, text: 'five whys' });
    await d!.engine.idle();
    const done = await client!.call('preview', { id });
    expect(done.request.state).toBe('done');
    expect(done.descriptionPlaceholder).toBe(false);
    expect(done.messages[1]!.content).toContain('\nfive whys\n');
    // The request's own generated component is not an example of itself.
    expect(done.context.included.map((x) => x.filename)).toEqual(['sre.txt', 'review.txt']);
    expect(fake!.requests).toHaveLength(1);
  });

  it('of a rejected request still works, with the placeholder (nobody answered)', async () => {
    const id = await start();
    await client!.call('reject', { id });
    const p = await client!.call('preview', { id });
    expect(p.request.state).toBe('rejected');
    expect(p.descriptionPlaceholder).toBe(true);
    expect(fake!.requests).toHaveLength(0);
  });

  it('refuses an unknown id and an empty description with clear errors', async () => {
    await start();
    await expect(client!.call('preview', { id: 'ffffffffffff' })).rejects.toMatchObject({ code: 'ENOREQUEST' });
    const [r] = (await client!.call('pending', {})).requests;
    await expect(client!.call('preview', { id: r!.id, description: ' \t ' })).rejects.toMatchObject({ code: 'EEMPTY' });
  });
});

describe("a failed request's lastError", () => {
  it('names an instruction file that cannot be used, without calling the model; preview says the same', async () => {
    const id = await start();
    await mkdir(join(dirname(d!.config.configFile), 'prompts', 'protocol.md'), { recursive: true });
    await client!.call('answer', { id, text: 'five whys' });
    await d!.engine.idle();
    const r = d!.engine.store.get(id)!;
    expect(r.state).toBe('failed');
    expect(r.lastError).toContain(join(dirname(d!.config.configFile), 'prompts', 'protocol.md'));
    expect(r.lastError).toMatch(/not a regular file/);
    expect(r.description).toBe('five whys');
    await expect(client!.call('preview', { id })).rejects.toThrow(/protocol\.md is not a regular file/);
    expect(fake!.requests).toHaveLength(0);
  });

  it("carries the server's own message in each error shape, and preview still works on it", async () => {
    const id = await start();
    const MESSAGE = 'context length exceeded: 9000 > 8192 tokens';
    let first = true;
    for (const shape of Object.keys(ERROR_SHAPES) as Array<keyof typeof ERROR_SHAPES>) {
      fake!.enqueue(ERROR_SHAPES[shape](400, `${MESSAGE} (${shape})`));
      if (first) await client!.call('answer', { id, text: 'five whys' });
      else await client!.call('retry', { id });
      first = false;
      await d!.engine.idle();
      const r = d!.engine.store.get(id)!;
      expect(r.state, shape).toBe('failed');
      expect(r.lastError, shape).toContain(`server said: ${MESSAGE} (${shape})`);
    }
    const before = fake!.requests.length;
    const p = await client!.call('preview', { id });
    expect(p.request.state).toBe('failed');
    expect(fake!.requests).toHaveLength(before);
  });
});
