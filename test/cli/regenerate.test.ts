/**
 * Regenerate and edit (issue 15, docs/review.md): real jitctl processes against an in-process
 * daemon whose provider is the real openai client talking to the fake OpenAI server. The server
 * must receive the previous candidate and the feedback; a done component is replaced (map
 * unchanged); a file a person edited is never overwritten; `edit` runs a scripted $EDITOR.
 */
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generatedName } from '../../src/library/names.js';
import { requestId } from '../../src/requests/request.js';
import { MISSING_FILE, MISSING_GOAL, type DaemonFixture, type FixtureOptions } from '../support/daemon-fixture.js';
import { completion, type FakeOpenAI } from '../support/fake-openai.js';
import { startOpenAIDaemon } from '../support/openai-daemon.js';
import { assertBuilt, jitctl } from './run-jitctl.js';

const ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);
const NAME = generatedName(MISSING_GOAL, 'protocol');

let d: DaemonFixture | undefined;
let fake: FakeOpenAI | undefined;
let scratch: string | undefined;
afterEach(async () => {
  await d?.close();
  await fake?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  d = fake = scratch = undefined;
});
beforeAll(() => assertBuilt());

async function start(opts: FixtureOptions = {}): Promise<DaemonFixture> {
  ({ fx: d, fake } = await startOpenAIDaemon(opts));
  return d;
}
const ctl = (fx: DaemonFixture, args: string[], env: Record<string, string> = {}) => jitctl(['--socket', fx.socketPath, ...args], { env });
const record = async (fx: DaemonFixture) => JSON.parse(await readFile(join(fx.config.stateDir, 'requests', `${ID}.json`), 'utf8'));
const component = (fx: DaemonFixture) => join(fx.config.componentsDir, 'protocols', NAME);
const userMessage = (f: FakeOpenAI, i: number) =>
  (f.requests[i]?.body.messages as { role: string; content: string }[]).find((m) => m.role === 'user')?.content ?? '';
const candidateFiles = async (fx: DaemonFixture) => (await readdir(join(fx.config.stateDir, 'candidates', ID))).sort();

/** Answers the fixture's request and lets the first text install (auto) or draft (review). */
async function answered(fx: DaemonFixture, first: string, review = false): Promise<void> {
  fake!.enqueue({ json: completion(first) });
  expect((await ctl(fx, ['answer', ID, ...(review ? ['--review'] : []), 'drill', 'down'])).code).toBe(0);
  await fx.engine.idle();
}

describe('jitctl regenerate', () => {
  it('on a draft: the server receives the previous candidate and the feedback; the new text is candidate 2 and the draft', async () => {
    const fx = await start();
    await answered(fx, 'First take.\n', true);
    expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 1 });
    fake!.enqueue({ json: completion('Second take, shorter.\n') });
    const r = await ctl(fx, ['regenerate', ID.slice(0, 6), '--feedback', 'make it shorter', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`draft ${ID}: candidate 2 waits for review`);
    const sent = userMessage(fake!, 1);
    expect(sent).toContain('<previous>\nFirst take.\n</previous>');
    expect(sent).toContain("The person's feedback on it: make it shorter");
    expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 2 });
    expect(await readFile(join(fx.config.stateDir, 'candidates', ID, '2.txt'), 'utf8')).toBe('Second take, shorter.\n');
    expect(JSON.parse(await readFile(join(fx.config.stateDir, 'candidates', ID, '2.json'), 'utf8'))).toMatchObject({
      source: 'model',
      feedback: 'make it shorter',
    });
    await expect(readFile(component(fx))).rejects.toThrow();
  });

  it('on a done component: the installed text goes to the model and the file is replaced durably; the map is unchanged', async () => {
    const fx = await start();
    await answered(fx, 'Installed text.\n');
    const mapBefore = await readFile(fx.config.mapFile, 'utf8');
    expect(await readFile(component(fx), 'utf8')).toBe('Installed text.\n');
    fake!.enqueue({ json: completion('Better text.\n') });
    const r = await ctl(fx, ['regenerate', ID, '--feedback', 'be better', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`replaced ${ID}`);
    expect(userMessage(fake!, 1)).toContain('<previous>\nInstalled text.\n</previous>');
    expect(await readFile(component(fx), 'utf8')).toBe('Better text.\n');
    expect(await readFile(fx.config.mapFile, 'utf8')).toBe(mapBefore);
    expect(await record(fx)).toMatchObject({ state: 'done', resolution: 'generated' });
  });

  it("never overwrites a generated file a person edited: the regeneration becomes a draft and the person's version is kept as a candidate", async () => {
    const fx = await start();
    await answered(fx, 'Installed text.\n');
    await writeFile(component(fx), 'My own careful wording.\n');
    fake!.enqueue({ json: completion('Model rewrite.\n') });
    const r = await ctl(fx, ['regenerate', ID, '--wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(component(fx), 'utf8')).toBe('My own careful wording.\n');
    const rec = await record(fx);
    expect(rec).toMatchObject({ state: 'draft', resolution: 'generated' });
    const texts = await Promise.all(
      (await candidateFiles(fx)).filter((f) => f.endsWith('.txt')).map((f) => readFile(join(fx.config.stateDir, 'candidates', ID, f), 'utf8')),
    );
    expect(texts).toContain('My own careful wording.\n');
    expect(await readFile(join(fx.config.stateDir, 'candidates', ID, `${rec.candidate}.txt`), 'utf8')).toBe('Model rewrite.\n');
    // Approving the draft now is the person's informed choice: their version stays a candidate.
    expect((await ctl(fx, ['approve', ID])).code).toBe(0);
    await fx.engine.idle();
    expect(await readFile(component(fx), 'utf8')).toBe('Model rewrite.\n');
    expect(await record(fx)).toMatchObject({ state: 'done' });
  });
});

describe('jitctl edit', () => {
  it('runs $EDITOR on the draft; the saved text becomes a new candidate and the draft; an unchanged file saves nothing', async () => {
    const fx = await start();
    await answered(fx, 'Draft text.\n', true);
    scratch = await mkdtemp(join(tmpdir(), 'jitd-editor-'));
    const editor = join(scratch, 'editor.sh');
    await writeFile(editor, '#!/bin/sh\nprintf "Edited by a person.\\n" > "$1"\n');
    await chmod(editor, 0o755);
    const r = await ctl(fx, ['edit', ID], { EDITOR: editor, VISUAL: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`edited ${ID}: candidate 2 is the draft`);
    expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 2 });
    expect(await readFile(join(fx.config.stateDir, 'candidates', ID, '2.txt'), 'utf8')).toBe('Edited by a person.\n');
    const same = await ctl(fx, ['edit', ID], { EDITOR: 'true', VISUAL: '' });
    expect(same.code).toBe(1);
    expect(same.stderr).toContain('edit aborted: the text is unchanged; nothing saved');
    expect(await record(fx)).toMatchObject({ candidate: 2 });
  });
});
