/**
 * The tree changes under a running jitd (contract §4.7, issue 12 items 1 and 2), with the built bins
 * and the real tools: a `git checkout` that empties and removes a type directory, `rm -rf` of the
 * state directory and of its quarantine, `mv` of the components root away and back, and of the
 * state directory. jitd makes its own directories again where they belong, and waits for a tree
 * that is away instead of asking for everything or creating an empty one.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StatusResult } from '../../src/ipc/messages/status.js';
import { jitctl, type RunningDaemon } from '../support/daemon-process.js';
import type { makeLibrary } from '../support/library-fixture.js';
import { type TempLibrary } from '../support/library-fixture.js';
import { testLibrary, testDaemon } from '../support/per-test.js';

let lib: TempLibrary | undefined;
let daemon: RunningDaemon | undefined;

async function start(opts: Parameters<typeof makeLibrary>[0] = {}) {
  lib = await testLibrary(opts);
  daemon = await testDaemon(lib.configFile, lib.socketPath);
  return lib;
}

const ctl = (args: string[], socket = lib!.socketPath) => jitctl(['--socket', socket, ...args]);

type Pending = { id: string; goal: string; type: string; filename: string; state: string };
async function pending(opts: { sync?: boolean; socket?: string } = {}): Promise<Pending[]> {
  if (opts.sync !== false) await ctl(['status', '--sync'], opts.socket);
  const r = await ctl(['pending', '--json'], opts.socket);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function status(socket?: string): Promise<StatusResult> {
  const r = await ctl(['status', '--json'], socket);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** Polls `check` until it answers a value (not undefined), or fails after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const readMap = async () => JSON.parse(await readFile(lib!.mapFile, 'utf8')) as Record<string, Record<string, string>>;
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: lib!.root, stdio: 'pipe' }).toString();

describe('a directory removed while jitd runs is made again', () => {
  it('a git checkout that empties and removes a type directory jitd installed into: the next answer is installed into it again', async () => {
    await start();
    const protocols = join(lib!.componentsDir, 'protocols');
    await writeFile(join(lib!.root, '.gitignore'), '.jitd/\n');
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'library');
    // A branch without protocols/, whose map asks for a new protocol.
    git('checkout', '-q', '-b', 'bare');
    git('rm', '-r', '-q', 'components/protocols');
    await writeFile(lib!.mapFile, `${JSON.stringify({ DIAGNOSE_ROOT_CAUSE: { persona: 'sre.txt' }, NEW_GOAL: { protocol: 'new_protocol.txt' } }, null, 2)}\n`);
    git('commit', '-q', '-am', 'no protocols');
    git('checkout', '-q', 'main');

    // jitd installs into protocols/ first (the directory is then known to it)...
    const [first] = await pending();
    expect(first).toMatchObject({ goal: 'DIAGNOSE_ROOT_CAUSE', type: 'protocol' });
    expect((await ctl(['answer', first!.id, 'Drill down to the root cause'])).code).toBe(0);
    await until('the first install', async () => ((await readMap()).DIAGNOSE_ROOT_CAUSE?.protocol?.startsWith('autogen_') ? true : undefined));
    git('add', '-A');
    git('commit', '-q', '-m', 'installed');

    // ...then git switches to the branch without it: git removes every file and the directory.
    git('checkout', '-q', 'bare');
    expect(existsSync(protocols)).toBe(false);
    const req = await until('the new request', async () => (await pending()).find((r) => r.goal === 'NEW_GOAL'));
    const answered = await ctl(['answer', req.id, 'A protocol for the new goal']);
    expect(answered.code, answered.stderr).toBe(0);
    await until('the install into the re-made directory', async () =>
      (await readMap()).NEW_GOAL?.protocol === 'autogen_protocol_for_new_goal.txt' ? true : undefined,
    );
    expect(await readFile(join(protocols, 'autogen_protocol_for_new_goal.txt'), 'utf8')).toContain('A protocol for the new goal');
    expect((await pending()).filter((r) => r.state === 'failed')).toEqual([]);
    const st = await status();
    expect(st.tree?.recreated.map((d) => d.path)).toContain(protocols);
    expect((await ctl(['status'])).stdout).toMatch(new RegExp(`recreated\\s+${protocols}`));
    expect(daemon!.logs.some((l) => l.includes('directory was gone; made it again') && l.includes(protocols))).toBe(true);
  });

  it('rm -rf of the quarantine: the next reconcile quarantines into a new one instead of failing', async () => {
    await start();
    const orphan = (n: string) => join(lib!.componentsDir, 'protocols', `autogen_protocol_for_${n}.txt`);
    const quarantine = join(lib!.stateDir, 'quarantine');
    await writeFile(orphan('first'), 'an orphan\n');
    const first = await ctl(['reconcile']);
    expect(first.code, first.stderr).toBe(0);
    expect(await readdir(join(quarantine, 'components'))).toContainEqual(expect.stringMatching(/-protocols-autogen_protocol_for_first\.txt$/));

    await rm(quarantine, { recursive: true, force: true });
    await writeFile(orphan('second'), 'another orphan\n');
    const second = await ctl(['reconcile']);
    expect(second.code, second.stderr).toBe(0);
    expect(existsSync(orphan('second'))).toBe(false);
    expect(await readdir(join(quarantine, 'components'))).toContainEqual(expect.stringMatching(/-protocols-autogen_protocol_for_second\.txt$/));
    expect((await status()).writeError).toBeNull();
  });

  it('rm -rf of the whole state directory: jitd makes it again with every request record, listens again, and answers and reconciles work', async () => {
    await start();
    const [req] = await pending();
    await rm(lib!.stateDir, { recursive: true, force: true });
    // The socket lived in it too: jitd notices and listens again.
    const st = await until('the state directory made again', async () => {
      const s = await status();
      return s.tree?.recreated.some((d) => d.path === lib!.stateDir) ? s : undefined;
    });
    expect(st.tree?.state).toBe('available');
    // The request jitd held was written back: a restart would still know it.
    expect(JSON.parse(await readFile(join(lib!.stateDir, 'requests', `${req!.id}.json`), 'utf8'))).toMatchObject({ id: req!.id, state: 'waiting' });
    const answered = await ctl(['answer', req!.id, 'Drill down to the root cause']);
    expect(answered.code, answered.stderr).toBe(0);
    await until('the install', async () =>
      (await readMap()).DIAGNOSE_ROOT_CAUSE?.protocol === 'autogen_protocol_for_diagnose_root_cause.txt' ? true : undefined,
    );
    const rec = await ctl(['reconcile']);
    expect(rec.code, rec.stderr).toBe(0);
  });

  it('a state directory moved away is waited for, not made again: answers fail clearly until it is moved back', async () => {
    await start();
    const [req] = await pending();
    const away = `${lib!.stateDir}.away`;
    await rename(lib!.stateDir, away);
    const awaySocket = join(away, 'jitd.sock'); // the socket moved with it, and still answers
    const st = await until('the state directory reported away', async () => {
      const s = await status(awaySocket);
      return s.tree?.state !== 'available' ? s : undefined;
    });
    expect(st.tree?.state).toContain('moved away');
    const refused = await ctl(['answer', req!.id, 'Drill down'], awaySocket);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('waits for it');
    expect(existsSync(lib!.stateDir)).toBe(false);

    await rename(away, lib!.stateDir);
    await until('the state directory back', async () => ((await status()).tree?.state === 'available' ? true : undefined));
    const answered = await ctl(['answer', req!.id, 'Drill down to the root cause']);
    expect(answered.code, answered.stderr).toBe(0);
    await until('the install', async () => ((await readMap()).DIAGNOSE_ROOT_CAUSE?.protocol?.startsWith('autogen_') ? true : undefined));
    expect(existsSync(join(lib!.stateDir, '.jitd.away'))).toBe(false);
  });
});

describe('a components root that is away is unavailable, not empty', () => {
  it('mv of the root away and back with an answer pending: nothing is requested, nothing is created or nested, the install completes once it is back', async () => {
    await start();
    const [req] = await pending();
    expect(req).toMatchObject({ goal: 'DIAGNOSE_ROOT_CAUSE', type: 'protocol' });
    const away = join(lib!.root, 'components.away');
    await rename(lib!.componentsDir, away);
    const st = await until('the tree reported unavailable', async () => {
      const s = await status();
      return s.tree?.components !== 'available' ? s : undefined;
    });
    expect(st.tree?.components).toContain('missing');
    expect(st.watcher.componentsMissing).toBe(true);
    // status --sync still answers (no cookie can go into a tree that is away), and says so.
    const human = await ctl(['status', '--sync']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/components\s+unavailable: .*missing/);

    // An answer during the gap is taken (durable), generated, and held.
    const answered = await ctl(['answer', req!.id, 'Drill down to the root cause']);
    expect(answered.code, answered.stderr).toBe(0);
    await until('the install held', async () => ((await status()).counts.queue.parked === 1 ? true : undefined));
    expect(existsSync(lib!.componentsDir)).toBe(false);
    // The components that are away (sre.txt, review.txt) are not asked for.
    const open = await pending({ sync: false });
    expect(open.map((r) => r.id)).toEqual([]);
    expect((await ctl(['pending', '--json'])).stdout).not.toContain('sre.txt');
    expect((await status()).counts.requests.waiting).toBe(0);

    await rename(away, lib!.componentsDir);
    await until('the held install done', async () =>
      (await readMap()).DIAGNOSE_ROOT_CAUSE?.protocol === 'autogen_protocol_for_diagnose_root_cause.txt' ? true : undefined,
    );
    expect(await readFile(join(lib!.componentsDir, 'protocols', 'autogen_protocol_for_diagnose_root_cause.txt'), 'utf8')).toContain(
      'Drill down to the root cause',
    );
    expect(existsSync(join(lib!.componentsDir, 'components.away'))).toBe(false);
    expect(await readdir(lib!.componentsDir)).toEqual(expect.arrayContaining(['personas', 'protocols']));
    const after = await status();
    expect(after.tree?.components).toBe('available');
    expect(after.counts.requests).toMatchObject({ waiting: 0, failed: 0, done: 1 });
    expect(await pending()).toEqual([]);
  });
});
