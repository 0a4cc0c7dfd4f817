/**
 * The built jitctl against an in-process daemon on a temp library: exit codes, socket
 * resolution, human and --json output, and each command's effect on the library.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generatedName } from '../../src/library/names.js';
import { requestId } from '../../src/requests/request.js';
import { MISSING_FILE, MISSING_GOAL, startDaemonFixture, type DaemonFixture, type FixtureOptions } from '../support/daemon-fixture.js';
import { assertBuilt, jitctl } from './run-jitctl.js';

const MISSING_ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);
const TWO_MISSING = {
  FIRST_GOAL: { protocol: 'first.txt' },
  SECOND_GOAL: { persona: 'second.txt' },
};

let d: DaemonFixture | undefined;
async function start(opts: FixtureOptions = {}): Promise<DaemonFixture> {
  d = await startDaemonFixture(opts);
  return d;
}
afterEach(async () => {
  await d?.close();
  d = undefined;
});

let empty: string;
beforeAll(async () => {
  assertBuilt();
  empty = await mkdtemp(join(tmpdir(), 'jitctl-cwd-'));
});
afterAll(async () => {
  await rm(empty, { recursive: true, force: true });
});

async function record(fx: DaemonFixture, id: string) {
  return JSON.parse(await readFile(join(fx.config.stateDir, 'requests', `${id}.json`), 'utf8'));
}

describe('exit codes and socket resolution', () => {
  it('exits 3 with one clear line when no daemon is running', async () => {
    const r = await jitctl(['--socket', join(empty, 'nope.sock'), 'status']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^jitctl: jitd is not running: no control socket at .*nope\.sock\n$/);
    expect(r.stdout).toBe('');
  });

  it('exits 3 when a stale socket file has nobody listening', async () => {
    const path = join(empty, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const r = await jitctl(['--socket', path, 'pending']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('nothing is listening');
  });

  it('exits 2 on usage errors: unknown command, unknown option, missing argument, extra argument', async () => {
    for (const args of [['frobnicate'], ['status', '--bogus'], ['answer'], ['reject', 'a', 'b'], []]) {
      const r = await jitctl(['--socket', join(empty, 'nope.sock'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.length, args.join(' ')).toBeGreaterThan(0);
    }
  });

  it('exits 2 telling what to pass when there is no socket, no config and no config/jitd.json here', async () => {
    const r = await jitctl(['status'], { cwd: empty });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--socket');
    expect(r.stderr).toContain('--config');
  });

  it('exits 2 naming the bad key when --config points at an invalid config', async () => {
    const bad = join(empty, 'bad.json');
    await writeFile(bad, JSON.stringify({ orphans: 'shred' }));
    const r = await jitctl(['--config', bad, 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('orphans');
  });

  it('finds the socket through --config, JITD_CONFIG, JITD_SOCKET and config/jitd.json in the current directory', async () => {
    const fx = await start();
    const viaFlag = await jitctl(['--config', fx.config.configFile, '--json', 'status']);
    expect(viaFlag.code).toBe(0);
    expect(JSON.parse(viaFlag.stdout).pid).toBe(process.pid);
    expect((await jitctl(['status', '--json'], { env: { JITD_CONFIG: fx.config.configFile } })).code).toBe(0);
    expect((await jitctl(['status'], { env: { JITD_SOCKET: fx.socketPath } })).code).toBe(0);
    expect((await jitctl(['status'], { cwd: fx.root })).code).toBe(0);
  });

  it('prints help and the version with exit 0', async () => {
    const help = await jitctl(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('prompt [--follow]');
    const cmdHelp = await jitctl(['answer', '--help']);
    expect(cmdHelp.stdout).toContain('usage: jitctl [global options] answer ID [TEXT]');
    const version = await jitctl(['--version']);
    expect(version.stdout).toMatch(/^jitctl \d+\.\d+\.\d+/);
  });

  it('exits 1 with the daemon code when the daemon refuses the request', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, 'reject', 'ffffffffffff']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('jitctl: no request ffffffffffff (ENOREQUEST)\n');
  });
});

describe('commands', () => {
  it('status prints aligned key/value lines with paths and counts, without color when piped', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, 'status', '--sync']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(fx.socketPath);
    expect(r.stdout).toMatch(/^requests\s+waiting 1 · answered 0/m);
    expect(r.stdout).toMatch(/^provider\s+template$/m);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('pending --json is an array of request objects with id, goal, type, filename and state', async () => {
    const fx = await start({ map: TWO_MISSING });
    const r = await jitctl(['--socket', fx.socketPath, '--json', 'pending']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(Array.isArray(list)).toBe(true);
    expect(list).toHaveLength(2);
    for (const item of list) {
      expect(Object.keys(item)).toEqual(expect.arrayContaining(['id', 'goal', 'type', 'filename', 'state']));
      expect(item.state).toBe('waiting');
    }
    expect(list.map((x: { goal: string }) => x.goal).sort()).toEqual(['FIRST_GOAL', 'SECOND_GOAL']);
  });

  it('pending prints a table, and says so when nothing is waiting', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, 'pending']);
    expect(r.stdout).toMatch(/^ID\s+GOAL\s+TYPE\s+MISSING FILE\s+AGE$/m);
    expect(r.stdout).toContain(`${MISSING_ID}  ${MISSING_GOAL}  protocol  protocols/${MISSING_FILE}`);
    await jitctl(['--socket', fx.socketPath, 'reject', MISSING_ID]);
    const none = await jitctl(['--socket', fx.socketPath, 'pending']);
    expect(none.stdout).toBe('no waiting requests\n');
    const rejected = await jitctl(['--socket', fx.socketPath, '--json', 'pending', '--state', 'rejected']);
    expect(JSON.parse(rejected.stdout)[0].id).toBe(MISSING_ID);
  });

  it('answer ID TEXT records the answer durably, then the component is installed and the map repointed', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, 'answer', MISSING_ID.slice(0, 5), 'drill', 'down', 'to the cause']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`answered ${MISSING_ID}`);
    // Durable once jitctl exits; the offline provider may already have installed it by now.
    const rec = await record(fx, MISSING_ID);
    expect(rec).toMatchObject({ description: 'drill down to the cause' });
    expect(['answered', 'done']).toContain(rec.state);
    await fx.engine.idle();
    const name = generatedName(MISSING_GOAL, 'protocol');
    expect(await readFile(join(fx.config.componentsDir, 'protocols', name), 'utf8')).toContain('drill down to the cause');
    expect(JSON.parse(await readFile(fx.config.mapFile, 'utf8'))[MISSING_GOAL].protocol).toBe(name);
  });

  it('answer ID without TEXT and without a terminal exits 2 saying to pass the description', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, 'answer', MISSING_ID], { input: 'ignored\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass the description as an argument');
    expect(await record(fx, MISSING_ID)).toMatchObject({ state: 'waiting' });
  });

  it('prompt with piped stdin answers two requests in order, one line each', async () => {
    const fx = await start({ map: TWO_MISSING });
    const list = JSON.parse((await jitctl(['--socket', fx.socketPath, '--json', 'pending'])).stdout) as { id: string }[];
    const r = await jitctl(['--socket', fx.socketPath, 'prompt'], { input: 'the first answer\nthe second answer\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[1 of 2]');
    expect(r.stdout).toContain('[2 of 2]');
    expect(await record(fx, list[0]!.id)).toMatchObject({ description: 'the first answer' });
    expect(await record(fx, list[1]!.id)).toMatchObject({ description: 'the second answer' });
    await fx.engine.idle();
  });

  it('prompt skips on an empty line, rejects on !reject, and leaves the rest untouched at end of input', async () => {
    const fx = await start({ map: { A_GOAL: { protocol: 'a.txt' }, B_GOAL: { protocol: 'b.txt' }, C_GOAL: { protocol: 'c.txt' } } });
    const ids = (JSON.parse((await jitctl(['--socket', fx.socketPath, '--json', 'pending'])).stdout) as { id: string }[]).map((x) => x.id);
    const r = await jitctl(['--socket', fx.socketPath, 'prompt'], { input: '\n!reject\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 request(s) left untouched');
    expect((await record(fx, ids[0]!)).state).toBe('waiting');
    expect((await record(fx, ids[1]!)).state).toBe('rejected');
    expect((await record(fx, ids[2]!)).state).toBe('waiting');
  });

  it('prompt --json reports one outcome object per line', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, '--json', 'prompt'], { input: 'describe it\n' });
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([expect.objectContaining({ id: MISSING_ID, outcome: 'answered' })]);
    await fx.engine.idle();
  });

  it('prompt --follow asks for a request added while it waits', async () => {
    const fx = await start({ map: { FIRST_GOAL: { protocol: 'first.txt' } } });
    const child = spawn(process.execPath, ['dist/bin/jitctl.js', '--socket', fx.socketPath, 'prompt', '--follow'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const until = async (text: string) => {
      for (let i = 0; i < 500 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 20));
      expect(out).toContain(text);
    };
    child.stdin.write('first answer\n');
    await until('waiting for new requests');
    // Edit the map once jitd's own write of it (installing FIRST_GOAL) is done. A save racing
    // that write is person-edits.test.ts's subject: before the guarded rename it was lost here
    // 5 times in 300, and the microsecond window left ("The install protocol" in the README) is
    // not this test's business.
    await fx.engine.idle();
    const map = JSON.parse(await readFile(fx.config.mapFile, 'utf8'));
    map.LATE_GOAL = { format: 'late.txt' };
    await writeFile(fx.config.mapFile, JSON.stringify(map));
    await fx.engine.onMapHint();
    await until('LATE_GOAL');
    child.stdin.end('late answer\n');
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(0);
    expect(await record(fx, requestId('LATE_GOAL', 'format', 'late.txt'))).toMatchObject({ description: 'late answer' });
    await fx.engine.idle();
  });

  it('reject, retry and reconcile report what they did', async () => {
    const fx = await start();
    const rej = await jitctl(['--socket', fx.socketPath, 'reject', MISSING_ID]);
    expect(rej).toMatchObject({ code: 0, stdout: `rejected ${MISSING_ID} (${MISSING_GOAL} · protocol)\n` });
    const retry = await jitctl(['--socket', fx.socketPath, 'retry', MISSING_ID]);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toContain('(ESTATE)');
    const rec = await jitctl(['--socket', fx.socketPath, 'reconcile']);
    expect(rec.code).toBe(0);
    expect(rec.stdout).toMatch(/^temps removed\s+0$/m);
    const recJson = await jitctl(['--socket', fx.socketPath, '--json', 'reconcile']);
    expect(JSON.parse(recJson.stdout)).toMatchObject({ tempsRemoved: 0, mapError: null });
  });

  it('reconcile exits 1 and says why when the map is unparsable', async () => {
    const fx = await start();
    await writeFile(fx.config.mapFile, '{ not json');
    const r = await jitctl(['--socket', fx.socketPath, 'reconcile']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('map is unusable');
  });

  it('compose prints the assembled prompt and names missing parts on stderr', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, 'compose', MISSING_GOAL]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('You are an SRE.\n');
    expect(r.stderr).toContain(`protocol ${MISSING_FILE} is missing`);
    const unknown = await jitctl(['--socket', fx.socketPath, 'compose', 'NO_SUCH_GOAL']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ENOGOAL');
  });
});
