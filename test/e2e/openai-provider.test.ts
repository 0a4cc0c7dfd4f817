/**
 * The openai provider end to end: the real jitd, the real openai SDK, a fake OpenAI-compatible
 * server on 127.0.0.1. What reaches disk, the request's state, the number of calls, and that
 * the API key never appears in the daemon's output.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jitctl, type RunningDaemon } from '../support/daemon-process.js';
import { apiError, completion, type FakeOpenAI } from '../support/fake-openai.js';
import { type TempLibrary } from '../support/library-fixture.js';
import { testLibrary, testDaemon, testFakeOpenAI } from '../support/per-test.js';

const KEY = 'sk-test-SECRET-e2e-4242';
let lib: TempLibrary | undefined;
let daemon: RunningDaemon | undefined;
let fake: FakeOpenAI | undefined;

async function startWithFake(provider: Record<string, unknown> = {}) {
  fake = await testFakeOpenAI();
  lib = await testLibrary({
    config: { provider: { kind: 'openai', baseURL: fake.baseURL, model: 'test-model', maxRetries: 2, timeoutMs: 2000, ...provider } },
  });
  daemon = await testDaemon(lib.configFile, lib.socketPath, { OPENAI_API_KEY: KEY });
}

const ctl = (args: string[]) => jitctl(['--socket', lib!.socketPath, ...args]);

async function answerTheOnlyRequest(text: string) {
  const pending = JSON.parse((await ctl(['pending', '--json'])).stdout) as Array<{ id: string }>;
  expect(pending).toHaveLength(1);
  const r = await ctl(['answer', pending[0]!.id, text]);
  expect(r.code, r.stderr).toBe(0);
  await ctl(['status', '--sync']);
  return pending[0]!.id;
}

const generated = () => join(lib!.componentsDir, 'protocols', 'autogen_protocol_for_diagnose_root_cause.txt');

function expectKeyNeverLogged() {
  const all = daemon!.logs.join('\n') + daemon!.stderr.join('');
  expect(all.length).toBeGreaterThan(0);
  expect(all).not.toContain(KEY);
}

describe('openai provider through the running daemon', () => {
  it('installs a cleaned answer, sends the description to the model, and never logs the key', async () => {
    await startWithFake();
    fake!.enqueue({ json: completion('```text\n1. Observe.\n2. Ask why five times.\n```') });
    await answerTheOnlyRequest('Five whys from symptom to cause');
    expect(await readFile(generated(), 'utf8')).toBe('1. Observe.\n2. Ask why five times.\n');
    expect(fake!.requests).toHaveLength(1);
    const sent = JSON.stringify(fake!.requests[0]!.body);
    expect(sent).toContain('Five whys from symptom to cause');
    expect(sent).toContain('DIAGNOSE_ROOT_CAUSE');
    expect(sent).toContain('root_cause_analysis_drilldown.txt');
    expect(fake!.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expectKeyNeverLogged();
  });

  it('retries a 500 and then installs', async () => {
    await startWithFake();
    fake!.enqueue({ status: 500, json: apiError('boom', 'server_error') }, { json: completion('Steps.') });
    await answerTheOnlyRequest('Anything');
    expect(await readFile(generated(), 'utf8')).toBe('Steps.\n');
    expect(fake!.requests).toHaveLength(2);
  });

  it('fails at once on 401 with a message to check the key, keeping the description, and nothing is installed', async () => {
    await startWithFake();
    fake!.enqueue({ status: 401, json: apiError(`Incorrect API key provided: ${KEY}`, 'invalid_request_error', 'invalid_api_key') });
    const id = await answerTheOnlyRequest('Keep me');
    const all = JSON.parse((await ctl(['pending', '--json'])).stdout) as unknown[];
    expect(all).toHaveLength(0); // not waiting: nobody is asked again
    const status = JSON.parse((await ctl(['status', '--json'])).stdout);
    expect(JSON.stringify(status)).toMatch(/"failed":1/);
    const record = JSON.parse(await readFile(join(lib!.stateDir, 'requests', `${id}.json`), 'utf8'));
    expect(record).toMatchObject({ state: 'failed', description: 'Keep me' });
    expect(record.lastError).toMatch(/key/i);
    expect(record.lastError).not.toContain(KEY);
    expect(fake!.requests).toHaveLength(1);
    await expect(readFile(generated())).rejects.toThrow(/ENOENT/);
    expectKeyNeverLogged();
  });

  it('retries a failed request with jitctl retry and installs it', async () => {
    await startWithFake({ maxRetries: 0 });
    fake!.enqueue({ status: 401, json: apiError('bad key') });
    const id = await answerTheOnlyRequest('Second time lucky');
    fake!.enqueue({ json: completion('Now it works.') });
    const r = await ctl(['retry', id]);
    expect(r.code, r.stderr).toBe(0);
    await ctl(['status', '--sync']);
    expect(await readFile(generated(), 'utf8')).toBe('Now it works.\n');
    expect(fake!.requests).toHaveLength(2);
  });
});
