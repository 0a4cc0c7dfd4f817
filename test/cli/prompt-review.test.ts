/**
 * `jitctl prompt` offers each draft (issue 15, docs/review.md): approve, regenerate with
 * feedback, edit in a scripted $EDITOR, reject, skip. Real jitctl processes, on a real
 * pseudo-terminal (pty-run.py) and from a pipe, against an in-process daemon with
 * `generation.review: required` whose provider is the real openai client on the fake server.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { generatedName } from '../../src/library/names.js';
import { requestId } from '../../src/requests/request.js';
import { FIXTURE_MAP, MISSING_FILE, MISSING_GOAL, type DaemonFixture } from '../support/daemon-fixture.js';
import { apiError, completion, type FakeOpenAI } from '../support/fake-openai.js';
import { testOpenAIDaemon } from '../support/per-test.js';
import { assertBuilt, jitctl, jitctlInteractive, jitctlPty, type PtyStep } from './run-jitctl.js';

const ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);
const NAME = generatedName(MISSING_GOAL, 'protocol');
const CHOICES = 'empty: skip> ';
const FIRST = 'First take.\n';

let hasPty = true;
try {
  execFileSync('python3', ['-c', 'import pty']);
} catch {
  hasPty = false;
}
beforeAll(() => assertBuilt());

interface Drafted {
  fx: DaemonFixture;
  fake: FakeOpenAI;
}

/** A daemon with review required and the fixture's request answered: candidate 1 (`first`) waits as a draft. */
async function drafted(first = FIRST, map = FIXTURE_MAP): Promise<Drafted> {
  const { fx, fake } = await testOpenAIDaemon({ review: 'required', map });
  fake.enqueue({ json: completion(first) });
  const a = await jitctl(['--socket', fx.socketPath, 'answer', ID, 'drill', 'down']);
  expect(a.code, a.stderr).toBe(0);
  await fx.engine.idle();
  expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 1 });
  return { fx, fake };
}

const record = async (fx: DaemonFixture, id = ID) => JSON.parse(await readFile(join(fx.config.stateDir, 'requests', `${id}.json`), 'utf8'));
const component = (fx: DaemonFixture) => readFile(join(fx.config.componentsDir, 'protocols', NAME), 'utf8');
const installed = async (fx: DaemonFixture) => (await readdir(join(fx.config.componentsDir, 'protocols'))).includes(NAME);
const mapEntry = async (fx: DaemonFixture) => JSON.parse(await readFile(fx.config.mapFile, 'utf8'))[MISSING_GOAL].protocol;
const userMessage = (f: FakeOpenAI, i: number) =>
  (f.requests[i]?.body.messages as { role: string; content: string }[]).find((m) => m.role === 'user')?.content ?? '';
const onPty = (fx: DaemonFixture, steps: PtyStep[], env: Record<string, string> = {}) =>
  jitctlPty(['--socket', fx.socketPath, 'prompt'], steps, { env: { NO_COLOR: '1', ...env } });
const piped = (fx: DaemonFixture, input: string, args: string[] = [], env: Record<string, string> = {}) =>
  jitctl(['--socket', fx.socketPath, 'prompt', ...args], { input, env });

/** A scratch directory, removed when the test ends. */
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jitd-prompt-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An executable sh script in a scratch directory. */
async function script(body: string): Promise<string> {
  const file = join(await scratchDir(), 'editor.sh');
  await writeFile(file, `#!/bin/sh\n${body}`);
  await chmod(file, 0o755);
  return file;
}

/** The approved draft is installed (`text`) and the map repointed to the generated name. */
async function expectInstalled(fx: DaemonFixture, text: string, candidate: number): Promise<void> {
  await fx.engine.idle();
  expect(await record(fx)).toMatchObject({ state: 'done', resolution: 'generated', approved: candidate });
  expect(await component(fx)).toBe(text);
  expect(await mapEntry(fx)).toBe(NAME);
}

/** Nothing of the draft reached the library: no component file, the map entry as it was. */
async function expectLibraryUntouched(fx: DaemonFixture): Promise<void> {
  await fx.engine.idle();
  expect(await installed(fx)).toBe(false);
  expect(await mapEntry(fx)).toBe(MISSING_FILE);
}

describe.skipIf(!hasPty)('jitctl prompt offers each draft on a terminal', () => {
  it('a approves the candidate shown: the component is installed and the map repointed; escapes in the text are shown escaped', async () => {
    // The daemon strips C0 controls from model output; an 8-bit CSI and a bidi override survive it.
    const text = 'Ask for the first symptom.\u009b31m\u202eowned\n';
    const { fx } = await drafted(text);
    const r = await onPty(fx, [
      ['expect', '[1 of 1] DIAGNOSE_ROOT_CAUSE · protocol'],
      ['expect', CHOICES],
      ['send', 'a\r'],
    ]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(`draft, candidate 1: would install protocols/${NAME}`);
    expect(r.stdout).toContain('Ask for the first symptom.\\x9b31m\\u202eowned');
    expect(r.bytes.includes('\u009b')).toBe(false);
    expect(r.bytes.includes('\u202e')).toBe(false);
    expect(r.stdout).toContain(`approved candidate 1: installing protocols/${NAME}`);
    await expectInstalled(fx, text, 1);
  });

  it('r asks for feedback; the server receives it with the previous candidate; the new draft is offered again and approved', async () => {
    const { fx, fake } = await drafted();
    fake.enqueue({ json: completion('Second take, shorter.\n') });
    const r = await onPty(fx, [
      ['expect', CHOICES],
      ['send', 'r\r'],
      ['expect', 'feedback for the model'],
      ['send', 'one question per step\r'],
      ['expect', 'candidate 2 is the draft'],
      ['expect', 'Second take, shorter.'],
      ['expect', CHOICES],
      ['send', 'a\r'],
    ]);
    expect(r.code, r.stdout).toBe(0);
    const sent = userMessage(fake, 1);
    expect(sent).toContain(`<previous>\n${FIRST}</previous>`);
    expect(sent).toContain("The person's feedback on it: one question per step");
    expect(r.stdout).toContain('approved candidate 2');
    await expectInstalled(fx, 'Second take, shorter.\n', 2);
  });

  it('e hands the terminal to $EDITOR (cooked, reading the keys typed) and takes it back: the saved text is the draft, and approved it is installed', async () => {
    const { fx } = await drafted();
    const dir = await scratchDir();
    // The editor talks to the terminal itself: it records the tty's mode, asks for a line and writes it into the file.
    const editor = await script(
      `stty -a < /dev/tty > '${dir}/stty.txt'\nprintf 'EDITOR READY\\n' > /dev/tty\nread line < /dev/tty\nprintf 'Edited: %s\\n' "$line" > "$1"\n`,
    );
    const r = await onPty(
      fx,
      [
        ['expect', CHOICES],
        ['send', 'e\r'],
        ['expect', 'EDITOR READY'],
        ['send', 'typed in the editor\r'],
        ['expect', 'candidate 2 is the draft'],
        ['expect', 'Edited: typed in the editor'],
        ['expect', CHOICES],
        ['send', 'a\r'],
      ],
      { EDITOR: editor, VISUAL: '' },
    );
    expect(r.code, r.stdout).toBe(0);
    // While the editor ran the terminal was cooked (line editing and echo on), not readline's raw mode.
    const stty = await readFile(join(dir, 'stty.txt'), 'utf8');
    expect(stty).toMatch(/(^|\s)icanon(\s|$)/);
    expect(stty).toMatch(/(^|\s)echo(\s|$)/);
    expect(r.stdout).toContain('approved candidate 2');
    await expectInstalled(fx, 'Edited: typed in the editor\n', 2);
  });

  it('Ctrl-C while the model writes the new draft stops at once (exit 130); the new draft still arrives and waits', async () => {
    const { fx, fake } = await drafted();
    fake.enqueue({ json: completion('Slow second take.\n'), delayMs: 4000 });
    const r = await onPty(fx, [
      ['expect', CHOICES],
      ['send', 'r\r'],
      ['expect', 'feedback for the model'],
      ['send', '\r'],
      ['expect', 'regenerating...'],
      ['send', '\u0003'],
    ]);
    expect(r.code, r.stdout).toBe(130);
    // The prompt did not wait for the model: the regeneration is still under way when it has exited.
    expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 1, regenerating: { after: 1 } });
    expect(r.stdout).not.toContain('Slow second take.');
    await expect.poll(async () => (await record(fx)).candidate, { timeout: 15_000 }).toBe(2);
    expect(await record(fx)).toMatchObject({ state: 'draft' });
    await expectLibraryUntouched(fx);
  });

  it('x rejects the draft: the request is rejected and nothing is installed', async () => {
    const { fx } = await drafted();
    const r = await onPty(fx, [
      ['expect', CHOICES],
      ['send', 'x\r'],
    ]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('rejected');
    expect(await record(fx)).toMatchObject({ state: 'rejected' });
    await expectLibraryUntouched(fx);
  });

  it('an empty line skips the draft: it is still the same draft and nothing changed', async () => {
    const { fx } = await drafted();
    const before = await record(fx);
    const r = await onPty(fx, [
      ['expect', CHOICES],
      ['send', '\r'],
    ]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('skipped');
    expect(await record(fx)).toEqual(before);
    await expectLibraryUntouched(fx);
  });
});

describe('jitctl prompt offers each draft from a pipe, one line per answer', () => {
  it('a approves: installed and the map repointed', async () => {
    const { fx } = await drafted();
    const r = await piped(fx, 'a\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(FIRST);
    await expectInstalled(fx, FIRST, 1);
  });

  it('r then a feedback line regenerates (the server receives the feedback and the previous candidate); the next line approves the new draft', async () => {
    const { fx, fake } = await drafted();
    fake.enqueue({ json: completion('Second take.\n') });
    const r = await piped(fx, 'r\ncheck recent deploys\na\n');
    expect(r.code, r.stderr).toBe(0);
    expect(userMessage(fake, 1)).toContain(`<previous>\n${FIRST}</previous>`);
    expect(userMessage(fake, 1)).toContain("The person's feedback on it: check recent deploys");
    await expectInstalled(fx, 'Second take.\n', 2);
  });

  it('a regeneration the server fails is reported with its error, the same draft is offered again, and prompt exits 1', async () => {
    const { fx, fake } = await drafted();
    fake.enqueue({ status: 400, json: apiError('the model is unavailable') });
    const r = await piped(fx, 'r\nshorter\na\n');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/not regenerated: .*the model is unavailable/);
    await expectInstalled(fx, FIRST, 1);
  });

  it('e runs $EDITOR; the saved text becomes the draft and the next line approves it', async () => {
    const { fx } = await drafted();
    const editor = await script('printf "Edited by a script.\\n" > "$1"\n');
    const r = await piped(fx, 'e\na\n', [], { EDITOR: editor, VISUAL: '' });
    expect(r.code, r.stderr).toBe(0);
    await expectInstalled(fx, 'Edited by a script.\n', 2);
  });

  it('an editor that saves nothing is reported and the same draft is offered again', async () => {
    const { fx } = await drafted();
    const r = await piped(fx, 'e\n\n', [], { EDITOR: 'true', VISUAL: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('edit aborted: the text is unchanged; nothing saved');
    expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 1 });
  });

  it('x and !reject reject; nothing is installed', async () => {
    for (const answer of ['x', '!reject']) {
      const { fx } = await drafted();
      const r = await piped(fx, `${answer}\n`);
      expect(r.code, r.stderr).toBe(0);
      expect(await record(fx)).toMatchObject({ state: 'rejected' });
      await expectLibraryUntouched(fx);
    }
  });

  it('an empty line skips and end of input stops: the draft is left as it was', async () => {
    const { fx } = await drafted();
    const before = await record(fx);
    for (const input of ['\n', '']) {
      const r = await piped(fx, input);
      expect(r.code, r.stderr).toBe(0);
      expect(await record(fx)).toEqual(before);
    }
    await expectLibraryUntouched(fx);
  });

  it('an answer that is not a choice is refused and asked again', async () => {
    const { fx } = await drafted();
    const r = await piped(fx, 'yes please\na\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('answer a, r, e, x (or !reject), or an empty line to skip');
    await expectInstalled(fx, FIRST, 1);
  });

  it('--json writes one JSON line per outcome (regenerated, then approved)', async () => {
    const { fx, fake } = await drafted();
    fake.enqueue({ json: completion('Second take.\n') });
    const r = await piped(fx, 'r\n\na\n', ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toMatchObject([
      { id: ID, outcome: 'regenerated', request: { state: 'draft', candidate: 2 } },
      { id: ID, outcome: 'approved', request: { approved: 2 } },
    ]);
  });

  it('does not offer a draft someone else approved meanwhile', async () => {
    const { fx, fake } = await drafted(FIRST, { ...FIXTURE_MAP, OTHER_GOAL: { protocol: 'other.txt' } });
    const other = requestId('OTHER_GOAL', 'protocol', 'other.txt');
    fake.enqueue({ json: completion('Other text.\n') });
    expect((await jitctl(['--socket', fx.socketPath, 'answer', other, 'the other one'])).code).toBe(0);
    await fx.engine.idle();
    const p = jitctlInteractive(['--socket', fx.socketPath, 'prompt']);
    await p.until('── candidate 1 ──');
    // Whichever draft is offered first, the other is approved elsewhere before its turn.
    const first = p.output().stdout.includes('[1 of 2] OTHER_GOAL') ? other : ID;
    const second = first === ID ? other : ID;
    const secondGoal = second === ID ? MISSING_GOAL : 'OTHER_GOAL';
    expect((await jitctl(['--socket', fx.socketPath, 'approve', second])).code).toBe(0);
    p.send('');
    p.end();
    expect(await p.exit).toBe(0);
    const { stdout } = p.output();
    expect(stdout).toMatch(new RegExp(`${second} \\(${secondGoal} · protocol\\) is (answered|installing|done) now; not asked`));
    expect(stdout).not.toContain(`] ${secondGoal}`);
    expect(await record(fx, first)).toMatchObject({ state: 'draft' });
    await fx.engine.idle();
  });

  it('--follow offers the draft of a request answered in the same prompt once the model has written it', async () => {
    const { fx, fake } = await testOpenAIDaemon({ review: 'required' });
    fake.enqueue({ json: completion('Written while you waited.\n') });
    const p = jitctlInteractive(['--socket', fx.socketPath, 'prompt', '--follow']);
    await p.until('[1 of 1] DIAGNOSE_ROOT_CAUSE');
    p.send('drill down');
    await p.until('Written while you waited.');
    p.send('a');
    await p.until('approved candidate 1');
    p.end();
    expect(await p.exit).toBe(0);
    await expectInstalled(fx, 'Written while you waited.\n', 1);
  });
});
