/**
 * `jitctl show ID` and `jitctl history [GOAL]` (issue 15, docs/review.md): real jitctl processes
 * against an in-process daemon whose provider is the real openai client talking to the fake
 * OpenAI server, so a regeneration gives a second, different candidate.
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient, DaemonRequestError } from '../../src/ipc/client.js';
import { generatedName } from '../../src/library/names.js';
import { requestId } from '../../src/requests/request.js';
import { FIXTURE_MAP, MISSING_FILE, MISSING_GOAL, type DaemonFixture } from '../support/daemon-fixture.js';
import { completion } from '../support/fake-openai.js';
import { startOpenAIDaemon, type OpenAIDaemon } from '../support/openai-daemon.js';
import { assertBuilt, jitctl } from './run-jitctl.js';

const ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);
const NAME = generatedName(MISSING_GOAL, 'protocol');
const OTHER_GOAL = 'PLAN_ROLLOUT';
const OTHER_ID = requestId(OTHER_GOAL, 'protocol', 'rollout_plan.txt');

let d: OpenAIDaemon | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});
beforeAll(() => assertBuilt());

async function start(): Promise<OpenAIDaemon> {
  d = await startOpenAIDaemon({ map: { ...FIXTURE_MAP, [OTHER_GOAL]: { protocol: 'rollout_plan.txt' } } });
  return d;
}
const ctl = (fx: DaemonFixture, args: string[]) => jitctl(['--socket', fx.socketPath, ...args]);
const json = async (fx: DaemonFixture, args: string[]) => {
  const r = await ctl(fx, ['--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

/** Answers the fixture's request; the model's first text installs (auto) or waits as a draft (review). */
async function answered(o: OpenAIDaemon, first: string, review = false): Promise<void> {
  o.fake.enqueue({ json: completion(first) });
  expect((await ctl(o.fx, ['answer', ID, ...(review ? ['--review'] : []), 'drill', 'down'])).code).toBe(0);
  await o.fx.engine.idle();
}

describe('jitctl show', () => {
  it("on a request a person resolved: their file's text, but never through a symlink out of the library", async () => {
    const { fx } = await start();
    const outside = await mkdtemp(join(tmpdir(), 'jitd-outside-'));
    try {
      await writeFile(join(outside, 'secret.txt'), 'not for the socket\n');
      await symlink(join(outside, 'secret.txt'), join(fx.config.componentsDir, 'protocols', MISSING_FILE));
      expect((await ctl(fx, ['reconcile'])).code).toBe(0);
      await fx.engine.idle();
      const j = await json(fx, ['show', ID]);
      expect(j.request).toMatchObject({ state: 'done', resolution: 'person' });
      expect(j.text).toBeUndefined();
      expect(j.textError).toMatch(/outside/);
      expect(JSON.stringify(j)).not.toContain('not for the socket');
      const other = await json(fx, ['show', OTHER_ID]);
      await writeFile(join(fx.config.componentsDir, 'protocols', 'rollout_plan.txt'), 'Roll out in waves.\n');
      expect((await ctl(fx, ['reconcile'])).code).toBe(0);
      await fx.engine.idle();
      expect(other.request.state).toBe('waiting');
      expect((await json(fx, ['show', OTHER_ID])).text).toMatchObject({ source: 'installed', content: 'Roll out in waves.\n' });
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('on a waiting request: id, state, goal, type, filename and generated name; no text and no candidates', async () => {
    const { fx } = await start();
    const r = await ctl(fx, ['show', ID.slice(0, 6)]);
    expect(r.code, r.stderr).toBe(0);
    for (const s of [ID, 'waiting', MISSING_GOAL, 'protocol', MISSING_FILE, NAME]) expect(r.stdout).toContain(s);
    expect(r.stdout).not.toContain('candidates');
    const j = await json(fx, ['show', ID]);
    expect(j).toMatchObject({ request: { id: ID, state: 'waiting', goal: MISSING_GOAL }, candidates: [] });
    expect(j.text).toBeUndefined();
  });

  it('on a draft with 2 candidates: the draft text is candidate 2, and each candidate has one provenance line with its feedback', async () => {
    const o = await start();
    await answered(o, 'First take.\n', true);
    o.fake.enqueue({ json: completion('Second take, shorter.\n') });
    expect((await ctl(o.fx, ['regenerate', ID, '--feedback', 'make it shorter', '--wait'])).code).toBe(0);
    const r = await ctl(o.fx, ['show', ID]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('drill down');
    expect(r.stdout).toContain('draft: candidate 2');
    expect(r.stdout).toContain('Second take, shorter.\n');
    expect(r.stdout).not.toContain('First take.');
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => /^ {2}1 {2}/.test(l))).toMatch(/model via openai/);
    expect(lines.find((l) => /^\* 2 {2}/.test(l))).toMatch(/model via openai.*feedback: make it shorter/);
    const j = await json(o.fx, ['show', ID]);
    expect(j.request).toMatchObject({ id: ID, state: 'draft', candidate: 2, description: 'drill down' });
    expect(j.text).toEqual({ source: 'candidate', candidate: 2, content: 'Second take, shorter.\n' });
    expect(j.candidates).toHaveLength(2);
    expect(j.candidates[0]).toMatchObject({ candidate: 1, provenance: { source: 'model', description: 'drill down' } });
    expect(j.candidates[1]).toMatchObject({ candidate: 2, provenance: { source: 'model', feedback: 'make it shorter' } });
    expect(typeof j.candidates[1].provenance.at).toBe('string');
  });

  it('on a done request: the resolution and the installed text with its path', async () => {
    const o = await start();
    await answered(o, 'Installed text.\n');
    const r = await ctl(o.fx, ['show', ID]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('done (generated)');
    expect(r.stdout).toContain(`installed: ${o.fx.config.componentsDir}/protocols/${NAME}`);
    expect(r.stdout).toContain('Installed text.\n');
    const j = await json(o.fx, ['show', ID]);
    expect(j.request).toMatchObject({ state: 'done', resolution: 'generated' });
    expect(j.text).toMatchObject({ source: 'installed', content: 'Installed text.\n' });
  });

  it('escapes control characters of a description in human output; --json keeps them exactly', async () => {
    const { fx, fake } = await start();
    fake.enqueue({ json: completion('A plan.\n') });
    expect((await ctl(fx, ['answer', OTHER_ID, '--review', 'evil \u001b[2J text'])).code).toBe(0);
    await fx.engine.idle();
    const r = await ctl(fx, ['show', OTHER_ID]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('\u001b[2J');
    expect(r.stdout).toContain('evil \\e[2J text');
    expect((await json(fx, ['show', OTHER_ID])).request.description).toBe('evil \u001b[2J text');
  });

  it('refuses an unknown id with one clear line and exit code 1', async () => {
    const { fx } = await start();
    const r = await ctl(fx, ['show', 'ffffffffffff']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('jitctl: no request ffffffffffff (ENOREQUEST)\n');
  });
});

describe('jitctl history', () => {
  it('lists every request newest first by updatedAt, with state, resolution and candidate count; GOAL filters', async () => {
    const o = await start();
    await answered(o, 'Installed text.\n');
    const all = await json(o.fx, ['history']);
    expect(all.entries.map((e: { request: { id: string } }) => e.request.id)).toEqual([ID, OTHER_ID]);
    expect(all.entries[0]).toMatchObject({ request: { state: 'done', resolution: 'generated', goal: MISSING_GOAL, type: 'protocol' }, candidates: 0 });
    expect(all.entries[1]).toMatchObject({ request: { state: 'waiting', goal: OTHER_GOAL }, candidates: 0 });
    const human = await ctl(o.fx, ['history']);
    expect(human.code, human.stderr).toBe(0);
    const rows = human.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID +UPDATED +GOAL\.TYPE +STATE +CANDIDATES$/);
    expect(rows[1]).toMatch(new RegExp(`^${ID} .* ${MISSING_GOAL}\\.protocol +done \\(generated\\) +0$`));
    expect(rows[2]).toMatch(new RegExp(`^${OTHER_ID} .* ${OTHER_GOAL}\\.protocol +waiting +0$`));
    const one = await json(o.fx, ['history', OTHER_GOAL]);
    expect(one.entries.map((e: { request: { id: string } }) => e.request.id)).toEqual([OTHER_ID]);
    expect((await ctl(o.fx, ['history', 'NO_SUCH_GOAL'])).stdout).toBe('no requests for goal NO_SUCH_GOAL\n');
  });

  it("counts a draft's candidates", async () => {
    const o = await start();
    await answered(o, 'First take.\n', true);
    const all = await json(o.fx, ['history', MISSING_GOAL]);
    expect(all.entries).toEqual([expect.objectContaining({ request: expect.objectContaining({ id: ID, state: 'draft' }), candidates: 1 })]);
  });

  it('pages newest first: limit 1 gives the newest and a cursor, the cursor the rest and no further cursor; --limit shows how many older are left', async () => {
    const o = await start();
    await answered(o, 'Installed text.\n');
    const client = await ControlClient.connect(o.fx.socketPath);
    try {
      const first = await client.call('history', { limit: 1 });
      expect(first.entries.map((e) => e.request.id)).toEqual([ID]);
      expect(first.total).toBe(2);
      expect(first.next).toEqual(expect.any(String));
      const second = await client.call('history', { limit: 1, after: first.next as string });
      expect(second.entries.map((e) => e.request.id)).toEqual([OTHER_ID]);
      expect(second.next).toBeUndefined();
      const bad = await client.call('history', { after: 'bm90IGEgY3Vyc29y' }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(DaemonRequestError);
      expect((bad as DaemonRequestError).code).toBe('EINVALID');
      expect((bad as Error).message).toMatch(/not a cursor returned by history/);
    } finally {
      client.close();
    }
    const human = await ctl(o.fx, ['history', '--limit', '1']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^ID .*\n${ID} .*\n1 older not shown \\(--limit\\)\n$`));
    expect((await json(o.fx, ['history', '--limit', '1'])).entries).toHaveLength(1);
    const wrong = await ctl(o.fx, ['history', '--limit', '0']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--limit takes a number from 1/);
  });
});
