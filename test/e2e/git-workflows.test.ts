/**
 * git workflows on a library that is a git work tree, with the built jitd and jitctl, the real git
 * and a fake OpenAI server that counts model calls: nobody is asked twice and no answer is lost
 * across a branch switch, an older commit, `reset --hard`; `git stash` … `git stash pop` works
 * with jitd running; a merge in progress holds jitd's library writes (docs/git.md).
 */
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedName } from '../../src/library/names.js';
import { jitctl, type RunningDaemon } from '../support/daemon-process.js';
import { completion, type FakeOpenAI } from '../support/fake-openai.js';
import { git, gitIn, initRepo } from '../support/git-repo.js';
import { type TempLibrary } from '../support/library-fixture.js';
import { testLibrary, testDaemon, testFakeOpenAI } from '../support/per-test.js';

let lib: TempLibrary | undefined;
let daemon: RunningDaemon | undefined;
let fake: FakeOpenAI | undefined;

const G = generatedName('X', 'protocol');
const MAP_WITH_X = { X: { protocol: 'x_missing.txt' }, REVIEW: { protocol: 'review.txt' } };
const ctl = (args: string[]) => jitctl(['--socket', lib!.socketPath, ...args]);
const generatedPath = () => join(lib!.componentsDir, 'protocols', G);
const mapNow = async () => JSON.parse(await readFile(lib!.mapFile, 'utf8'));
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

interface Status {
  git: { gitDir: string | null; held: string | null } | null;
}
async function status(): Promise<Status> {
  const r = await ctl(['status', '--sync', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** Waits until jitd has seen every change and git no longer holds its writes; then until it is idle. */
async function settled(): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    if ((await status()).git?.held === null) {
      await status();
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('git hold never ended');
}

/** Waits until jitd reports its writes held for a reason matching `re`. */
async function heldFor(re: RegExp): Promise<string> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const held = (await status()).git?.held;
    if (held && re.test(held)) return held;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never held for ${re}`);
}

async function requests(states = 'waiting'): Promise<Array<{ id: string; filename: string; state: string; description?: string }>> {
  await status();
  const r = await ctl(['pending', '--state', states, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/**
 * A library in a git repository (the state directory ignored) whose committed map names a missing
 * X.protocol; `before` shapes the history before jitd starts. jitd runs with a short settle time.
 */
async function start(before: (root: string) => Promise<void> = async () => {}) {
  fake = await testFakeOpenAI();
  lib = await testLibrary({
    map: MAP_WITH_X,
    config: { provider: { kind: 'openai', baseURL: fake.baseURL, model: 'm', maxRetries: 0, timeoutMs: 5000 }, git: { settleMs: 150 } },
  });
  await initRepo(lib.root);
  await git(lib.root, 'add', '-A');
  await git(lib.root, 'commit', '-qm', 'library: X.protocol is missing');
  await before(lib.root);
  daemon = await testDaemon(lib.configFile, lib.socketPath, { OPENAI_API_KEY: 'sk-test' });
  await settled();
}

/** Answers the one waiting request; the model writes the component once; waits for the install. */
async function answerX(): Promise<string> {
  const [r] = await requests();
  expect(r?.filename).toBe('x_missing.txt');
  fake!.enqueue({ json: completion('Handle X step by step.') });
  expect((await ctl(['answer', r!.id, 'Steps to handle X'])).code).toBe(0);
  await settled();
  expect((await mapNow()).X.protocol).toBe(G);
  return readFile(generatedPath(), 'utf8');
}

describe('git workflows', () => {
  it('commit -am, switch to a branch whose map lacks the goal, rescan, switch back: the generated file is restored, nobody asked, no model call', async () => {
    await start(async (root) => {
      await git(root, 'checkout', '-qb', 'lean');
      await writeFile(join(root, 'config', 'goal_map.json'), `${JSON.stringify({ REVIEW: { protocol: 'review.txt' } }, null, 2)}\n`);
      await git(root, 'commit', '-qam', 'lean: no X');
      await git(root, 'checkout', '-q', 'main');
    });
    const content = await answerX();
    await git(lib!.root, 'commit', '-qam', 'X answered'); // the map is committed; the generated file stays untracked
    await git(lib!.root, 'checkout', '-q', 'lean');
    await settled();
    expect((await ctl(['reconcile'])).code).toBe(0); // the rescan
    expect(await exists(generatedPath())).toBe(false); // quarantined: no map entry names it
    await git(lib!.root, 'checkout', '-q', 'main');
    await settled();
    expect(await readFile(generatedPath(), 'utf8')).toBe(content);
    expect(await requests()).toEqual([]);
    expect(fake!.requests).toHaveLength(1);
    expect((await git(lib!.root, 'status', '--porcelain')).trim()).toBe(`?? components/protocols/${G}`);
  });

  it('checking out the older commit (detached) writes nothing and asks nobody; the way back works and closes the request', async () => {
    await start();
    const content = await answerX();
    await git(lib!.root, 'add', '-A');
    await git(lib!.root, 'commit', '-qm', 'X answered and generated');
    await git(lib!.root, 'checkout', '-q', 'HEAD~1');
    await heldFor(/detached HEAD/);
    // The map names the original missing file again: the request keeps its answer, nobody is asked.
    expect(await requests()).toEqual([]);
    const [kept] = await requests('answered');
    expect(kept).toMatchObject({ filename: 'x_missing.txt', description: 'Steps to handle X' });
    expect((await mapNow()).X.protocol).toBe('x_missing.txt');
    expect((await git(lib!.root, 'status', '--porcelain')).trim()).toBe('');
    // So the way back is not refused by git for jitd's changes.
    await git(lib!.root, 'checkout', '-q', 'main');
    await settled();
    expect(await readFile(generatedPath(), 'utf8')).toBe(content);
    expect(await requests('waiting,answered')).toEqual([]);
    expect(fake!.requests).toHaveLength(1);
    expect((await git(lib!.root, 'status', '--porcelain')).trim()).toBe('');
  });

  it('reset --hard to the older commit: the reopened request is filled from its kept output, no model call, nobody asked', async () => {
    await start();
    const content = await answerX();
    await git(lib!.root, 'add', '-A');
    await git(lib!.root, 'commit', '-qm', 'X answered and generated');
    await git(lib!.root, 'reset', '-q', '--hard', 'HEAD~1');
    await settled();
    expect((await mapNow()).X.protocol).toBe(G);
    expect(await readFile(generatedPath(), 'utf8')).toBe(content);
    expect(await requests('waiting,answered')).toEqual([]);
    expect(fake!.requests).toHaveLength(1);
  });

  it('git stash, then git stash pop, with jitd running: jitd does not re-apply its change in between, and the pop succeeds', async () => {
    await start();
    await answerX(); // the map (modified) and the generated file (untracked) are not committed
    // The person adds a goal of their own too, uncommitted.
    const mine = { ...(await mapNow()), MINE: { protocol: 'review.txt' } };
    await writeFile(lib!.mapFile, `${JSON.stringify(mine, null, 2)}\n`);
    await status();
    await git(lib!.root, 'stash', '-q');
    expect((await mapNow()).X.protocol).toBe('x_missing.txt');
    await heldFor(/stash/);
    expect((await ctl(['reconcile'])).code).toBe(0); // a rescan meanwhile changes nothing either
    expect((await mapNow()).X.protocol).toBe('x_missing.txt');
    expect((await git(lib!.root, 'status', '--porcelain')).trim()).toBe(`?? components/protocols/${G}`);
    const pop = await gitIn(lib!.root, 'stash', 'pop');
    expect(pop.code, pop.stderr).toBe(0);
    await settled();
    expect(await mapNow()).toEqual(mine);
    expect(await requests('waiting,answered')).toEqual([]);
    expect(fake!.requests).toHaveLength(1);
  });

  for (const op of ['merge', 'rebase'] as const) {
    it(`a ${op} in progress (a real conflict) holds the install of an answer; it lands once the ${op} is concluded`, async () => {
      await start(async (root) => {
        await writeFile(join(root, 'notes.txt'), 'base\n');
        await git(root, 'add', 'notes.txt');
        await git(root, 'commit', '-qm', 'notes');
        await git(root, 'checkout', '-qb', 'other');
        await writeFile(join(root, 'notes.txt'), 'other\n');
        await git(root, 'commit', '-qam', 'other notes');
        await git(root, 'checkout', '-q', 'main');
        await writeFile(join(root, 'notes.txt'), 'main\n');
        await git(root, 'commit', '-qam', 'main notes');
      });
      expect((await gitIn(lib!.root, op, 'other')).code).not.toBe(0); // a conflict: MERGE_HEAD or rebase-merge/
      const [r] = await requests();
      fake!.enqueue({ json: completion('Handle X step by step.') });
      expect((await ctl(['answer', r!.id, 'Steps to handle X'])).code).toBe(0); // answers are state: accepted
      await heldFor(new RegExp(`${op} in progress`));
      await status();
      expect(fake!.requests).toHaveLength(1); // the model call is made and its output staged ...
      expect(await exists(generatedPath())).toBe(false); // ... but nothing is written to the library
      expect((await mapNow()).X.protocol).toBe('x_missing.txt');
      expect((await ctl(['reconcile'])).code).toBe(0);
      expect(await exists(generatedPath())).toBe(false);
      await writeFile(join(lib!.root, 'notes.txt'), 'resolved\n');
      await git(lib!.root, 'add', 'notes.txt');
      if (op === 'merge') await git(lib!.root, 'commit', '-qm', 'merge other');
      else await git(lib!.root, 'rebase', '--continue');
      await settled();
      expect((await mapNow()).X.protocol).toBe(G);
      expect(await readFile(generatedPath(), 'utf8')).toContain('Handle X step by step.');
      expect(fake!.requests).toHaveLength(1);
      expect(daemon!.logs.some((l) => l.includes('library writes held while git is busy') && l.includes(`${op} in progress`))).toBe(true);
    });
  }

  it('reports the repository in jitctl status', async () => {
    await start();
    expect((await status()).git).toEqual({ gitDir: join(lib!.root, '.git'), held: null, heldSince: null });
    expect((await readdir(lib!.root)).includes('.git')).toBe(true);
  });
});
