/**
 * Provenance for every install (issue 15, docs/review.md "Provenance"), through the real jitd
 * process: who answered is the control socket's peer as the kernel says (SO_PEERCRED, the native
 * addon), never what a client sends; what wrote the component is the provider's report (the
 * openai provider against the fake OpenAI server: model, server, token usage; the template
 * provider: its name alone); the review flow adds the candidate installed and who approved it.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jitctl } from '../support/daemon-process.js';
import { completion, type FakeOpenAI } from '../support/fake-openai.js';
import { type TempLibrary } from '../support/library-fixture.js';
import { testDaemon, testFakeOpenAI, testLibrary } from '../support/per-test.js';
import { RawClient } from '../support/raw-client.js';

const me = userInfo();
const ME = { uid: me.uid, user: me.username };
const USAGE = { prompt_tokens: 321, completion_tokens: 45, total_tokens: 366 };

async function start(config: Record<string, unknown>): Promise<TempLibrary> {
  const lib = await testLibrary({ config });
  await testDaemon(lib.configFile, lib.socketPath, { OPENAI_API_KEY: 'sk-test-prov' });
  return lib;
}
const openai = (fake: FakeOpenAI, extra: Record<string, unknown> = {}) => ({
  provider: { kind: 'openai', baseURL: fake.baseURL, model: 'configured-model', maxRetries: 0, timeoutMs: 5000 },
  ...extra,
});

function ctl(lib: TempLibrary) {
  const run = (args: string[]) => jitctl(['--socket', lib.socketPath, ...args]);
  const json = async (args: string[]) => {
    const r = await run(['--json', ...args]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  return { run, json };
}

async function onlyRequest(lib: TempLibrary): Promise<string> {
  const pending = await ctl(lib).json(['pending']);
  expect(pending).toHaveLength(1);
  return pending[0].id as string;
}

/** A daemon on the fake OpenAI server whose only request is answered with `answer` (jitctl's words) and settled; the model replies `reply`. */
async function answeredOverOpenAI(reply: unknown, answer: string[]) {
  const fake = await testFakeOpenAI();
  const lib = await start(openai(fake));
  const c = ctl(lib);
  const id = await onlyRequest(lib);
  fake.enqueue({ json: reply });
  expect((await c.run(['answer', id, ...answer])).code).toBe(0);
  expect((await c.run(['status', '--sync'])).code).toBe(0);
  return { fake, lib, id, ...c };
}

describe('provenance of an install, through the running daemon', () => {
  it('an answer over the socket records the real uid and user; the openai install records the model, server and tokens the server reported', async () => {
    const { fake, lib, id, run, json } = await answeredOverOpenAI(completion('1. Observe.\n2. Ask why.', { model: 'served-model-v2', usage: USAGE }), [
      'five whys from symptom to cause',
    ]);

    const s = await json(['show', id]);
    expect(s.request).toMatchObject({ state: 'done', resolution: 'generated' });
    expect(s.provenance.answeredBy).toEqual(ME);
    expect(s.provenance.installed).toEqual({
      provider: 'openai',
      model: 'served-model-v2',
      server: fake.baseURL,
      usage: { promptTokens: 321, completionTokens: 45, totalTokens: 366 },
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(fake.baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    // The record on disk holds it (durable, not only the daemon's memory).
    const record = JSON.parse(await readFile(join(lib.stateDir, 'requests', `${id}.json`), 'utf8'));
    expect(record).toMatchObject({ answeredBy: ME, installed: { model: 'served-model-v2', usage: { totalTokens: 366 } } });

    const human = await run(['show', id]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`answered by +${me.username} \\(uid ${me.uid}\\)`));
    expect(human.stdout).toMatch(new RegExp(`written by +openai, model served-model-v2, ${fake.baseURL.replace(/[.]/g, '\\.')}`));
    expect(human.stdout).toMatch(/tokens +321 prompt \+ 45 completion = 366 tokens/);
  });

  it("a client that claims another user in its params is refused, and the answer records only the kernel's peer", async () => {
    const fake = await testFakeOpenAI();
    const lib = await start(openai(fake));
    const id = await onlyRequest(lib);
    const raw = await RawClient.connect(lib.socketPath);
    try {
      const forged = await raw.call('answer', { id, text: 'someone else answered', answeredBy: { uid: 4242, user: 'mallory' } });
      expect(forged.error).toMatchObject({ code: 'EINVALID' });
      expect(forged.error.message).toMatch(/answeredBy/);
      expect((await ctl(lib).json(['show', id])).request.state).toBe('waiting');
      fake.enqueue({ json: completion('Step.') });
      const ok = await raw.call('answer', { id, text: 'my own answer' });
      expect(ok.result).toMatchObject({ state: 'answered' });
    } finally {
      raw.close();
    }
    expect((await ctl(lib).run(['status', '--sync'])).code).toBe(0);
    const s = await ctl(lib).json(['show', id]);
    expect(s.provenance.answeredBy).toEqual(ME);
    expect(JSON.stringify(s)).not.toContain('mallory');
  });

  it('the template provider is recorded as provider template, with no model, server or usage', async () => {
    const lib = await start({ provider: { kind: 'template' } });
    const { run, json } = ctl(lib);
    const id = await onlyRequest(lib);
    expect((await run(['answer', id, 'drill down to the root cause'])).code).toBe(0);
    expect((await run(['status', '--sync'])).code).toBe(0);
    const s = await json(['show', id]);
    expect(s.request.state).toBe('done');
    expect(s.provenance).toEqual({ answeredBy: ME, installed: { provider: 'template', at: expect.any(String) } });
    const human = await run(['show', id]);
    expect(human.stdout).toMatch(/written by +template\n/);
    expect(human.stdout).not.toMatch(/tokens/);
  });

  it('review: the candidate keeps the model, server, tokens and who answered; approving installs it with its number and who approved', async () => {
    const { fake, lib, id, run, json } = await answeredOverOpenAI(completion('Draft text.', { model: 'served-model-v2', usage: USAGE }), [
      '--review',
      'a draft first',
    ]);
    const draft = await json(['show', id]);
    expect(draft.request.state).toBe('draft');
    expect(draft.provenance.installed).toBeUndefined();
    expect(draft.candidates).toEqual([
      {
        candidate: 1,
        provenance: expect.objectContaining({
          provider: 'openai',
          model: 'served-model-v2',
          server: fake.baseURL,
          usage: { promptTokens: 321, completionTokens: 45, totalTokens: 366 },
          answeredBy: ME,
          source: 'model',
        }),
      },
    ]);
    expect((await run(['show', id])).stdout).toMatch(/\* 1 .* model via openai \(served-model-v2, 366 tokens\)/);

    // A person's edit (the socket's `edit` with the saved text) is candidate 2, recorded with who edited it.
    const raw = await RawClient.connect(lib.socketPath);
    try {
      expect((await raw.call('edit', { id, text: 'Edited by hand.\n' })).result).toMatchObject({ candidate: 2 });
    } finally {
      raw.close();
    }
    const edited = await json(['show', id]);
    expect(edited.candidates[1]).toEqual({ candidate: 2, provenance: expect.objectContaining({ source: 'person', provider: 'person', editedBy: ME }) });
    expect((await run(['show', id])).stdout).toMatch(new RegExp(`\\* 2 .* person via person  by ${me.username} \\(uid ${me.uid}\\)`));

    // Approving the model's candidate 1 (a rollback past the edit) installs it with its number and who approved.
    expect((await run(['approve', id, '--candidate', '1'])).code).toBe(0);
    expect((await run(['status', '--sync'])).code).toBe(0);
    const done = await json(['show', id]);
    expect(done.request.state).toBe('done');
    expect(done.provenance.installed).toMatchObject({
      provider: 'openai',
      model: 'served-model-v2',
      candidate: 1,
      approvedBy: ME,
      usage: { totalTokens: 366 },
    });
    expect((await run(['show', id])).stdout).toMatch(new RegExp(`installed +candidate 1, approved by ${me.username} \\(uid ${me.uid}\\)`));
  });

  it("regenerating a done component replaces its provenance with the new call's: model, tokens, feedback and the candidate installed", async () => {
    const { fake, id, run, json } = await answeredOverOpenAI(completion('First.', { usage: USAGE }), ['first try']);
    fake.enqueue({
      json: completion('Second, shorter.', { model: 'served-model-v3', usage: { prompt_tokens: 400, completion_tokens: 9, total_tokens: 409 } }),
    });
    const regen = await run(['regenerate', id, '--feedback', 'shorter', '--wait']);
    expect(regen.code, regen.stderr).toBe(0);
    expect((await run(['status', '--sync'])).code).toBe(0);
    const s = await json(['show', id]);
    expect(s.request.state).toBe('done');
    expect(s.provenance.installed).toMatchObject({
      provider: 'openai',
      model: 'served-model-v3',
      usage: { promptTokens: 400, completionTokens: 9, totalTokens: 409 },
      feedback: 'shorter',
      source: 'model',
    });
    expect(s.provenance.installed.candidate).toBeGreaterThanOrEqual(1);
    expect(s.provenance.answeredBy).toEqual(ME);
  });
});
