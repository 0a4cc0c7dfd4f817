/**
 * `jitctl preview` end to end: the built jitd and jitctl as separate processes. On a copy of
 * the bundled library (config/, components/) it shows the library's own instructions, the
 * goal's sibling and the same-type examples; against the fake OpenAI-compatible server (real
 * SDK) it calls no model, reports what the budget left out, and `--json` is byte for byte the
 * messages array the daemon then sends.
 */
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jitctl, startDaemon, type RunningDaemon } from '../support/daemon-process.js';
import { completion, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { makeLibrary, type TempLibrary } from '../support/library-fixture.js';

let daemon: RunningDaemon | undefined;
let fake: FakeOpenAI | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  await fake?.stop();
  await cleanup?.();
  daemon = undefined;
  fake = undefined;
  cleanup = undefined;
});

async function onlyRequestId(socket: string): Promise<string> {
  const r = await jitctl(['--socket', socket, 'pending', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const pending = JSON.parse(r.stdout) as Array<{ id: string }>;
  expect(pending).toHaveLength(1);
  return pending[0]!.id;
}

describe('jitctl preview on the bundled library', () => {
  it("shows the library's own instructions, the persona it is composed with and the protocol examples, and changes nothing", async () => {
    const root = await mkdtemp(join(tmpdir(), 'jitd-bundled-'));
    cleanup = () => rm(root, { recursive: true, force: true });
    await cp(resolve('config'), join(root, 'config'), { recursive: true });
    await cp(resolve('components'), join(root, 'components'), { recursive: true });
    const configFile = join(root, 'config', 'jitd.json');
    const socket = join(root, '.jitd', 'jitd.sock');
    daemon = await startDaemon(configFile, socket);
    const id = await onlyRequestId(socket);
    const before = await readdir(join(root, 'components', 'protocols'));

    const human = await jitctl(['--socket', socket, 'preview', id]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`preview of request ${id}: DIAGNOSE_ROOT_CAUSE · protocol · root_cause_analysis_drilldown.txt (waiting)`);
    expect(human.stdout).toContain('description: not given yet');
    expect(human.stdout).toContain('included  sibling  persona senior_site_reliability_engineer.txt');
    expect(human.stdout).toContain('included  example  protocol code_review_checklist.txt');
    expect(human.stdout).toContain('included  example  protocol incident_timeline_summary.txt');
    expect(human.stdout).toContain(
      `instructions: common ${join(root, 'config', 'prompts', 'system.md')}; protocol ${join(root, 'config', 'prompts', 'protocol.md')}`,
    );
    expect(human.stdout).toMatch(/total: \d+ bytes, ≈\d+ tokens \(estimated as ceil\(bytes \/ 4\)/);

    const json = await jitctl(['--socket', socket, '--json', 'preview', id]);
    expect(json.code, json.stderr).toBe(0);
    const messages = JSON.parse(json.stdout) as Array<{ role: string; content: string }>;
    const systemMd = (await readFile(join(root, 'config', 'prompts', 'system.md'), 'utf8')).trimEnd();
    const protocolMd = (await readFile(join(root, 'config', 'prompts', 'protocol.md'), 'utf8')).trimEnd();
    expect(messages[0]).toEqual({ role: 'system', content: `${systemMd}\n\n${protocolMd}` });
    const persona = (await readFile(join(root, 'components', 'personas', 'senior_site_reliability_engineer.txt'), 'utf8')).trimEnd();
    expect(messages[1]!.role).toBe('user');
    expect(messages[1]!.content).toContain(persona);
    expect(await readdir(join(root, 'components', 'protocols'))).toEqual(before);
  });
});

describe('jitctl preview against an OpenAI-compatible server', () => {
  let lib: TempLibrary;
  async function start() {
    fake = await startFakeOpenAI();
    lib = await makeLibrary({
      config: { provider: { kind: 'openai', baseURL: fake.baseURL, model: 'local-model', maxRetries: 0, timeoutMs: 5000 }, generation: { contextBytes: 40 } },
      components: {
        'personas/sre.txt': 'You are an SRE.\n',
        'protocols/review.txt': 'Review it.\n',
        'protocols/diagnose_long.txt': `${'Check the logs first. '.repeat(10)}\n`,
      },
    });
    cleanup = () => lib.cleanup();
    daemon = await startDaemon(lib.configFile, lib.socketPath, { OPENAI_API_KEY: 'sk-e2e' });
    return onlyRequestId(lib.socketPath);
  }

  it('calls no model, says what the budget left out, and --json is exactly the messages then sent', async () => {
    const id = await start();
    const ctl = (args: string[]) => jitctl(['--socket', lib.socketPath, ...args]);
    const human = await ctl(['preview', id, '--description', 'five whys']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`provider: openai (local-model at ${fake!.baseURL}); nothing was sent for this preview`);
    expect(human.stdout).toContain('library context: 25 of 40 bytes (generation.contextBytes)');
    expect(human.stdout).toContain('left out  example  protocol diagnose_long.txt  220 bytes: over the context budget');
    const json = await ctl(['--json', 'preview', id, '--description', 'five whys']);
    expect(json.code, json.stderr).toBe(0);
    expect(fake!.requests).toHaveLength(0);

    fake!.enqueue({ json: completion('1. Ask why.') });
    expect((await ctl(['answer', id, 'five whys'])).code).toBe(0);
    expect((await ctl(['status', '--sync'])).code).toBe(0);
    expect(fake!.requests).toHaveLength(1);
    const sent = fake!.requests[0]!;
    expect(sent.body.messages).toEqual(JSON.parse(json.stdout));
    expect(sent.rawBody).toContain(JSON.stringify(JSON.parse(json.stdout)));
  });

  it('exits 1 for an unknown request and 2 for an empty --description', async () => {
    const id = await start();
    const unknown = await jitctl(['--socket', lib.socketPath, 'preview', 'ffffffffffff']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no request ffffffffffff');
    const empty = await jitctl(['--socket', lib.socketPath, 'preview', id, '--description', '']);
    expect(empty.code).toBe(2);
    expect(fake!.requests).toHaveLength(0);
  });
});
