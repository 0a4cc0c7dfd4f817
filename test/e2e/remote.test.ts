/**
 * Remote use through a real OpenSSH server on 127.0.0.1 (contract §10, issue 16): `jitctl --host
 * ssh://user@127.0.0.1:PORT/socket` (and `JITD_HOST`) runs plain `ssh`, which runs
 * `jitctl dial-stdio --socket …` on the far side, and every command works over it: pending,
 * answer, status, compose, reconcile, prompt --follow (which sees a request added while it
 * waits). Failures are exit 3 with ssh's own message: nothing listening on the port, no daemon
 * behind the remote socket, and the session dropped under a running `prompt --follow`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requestId } from '../../src/requests/request.js';
import { assertBuilt, jitctl, jitctlInteractive } from '../cli/run-jitctl.js';
import { FIXTURE_MAP, MISSING_FILE, MISSING_GOAL, startDaemonFixture, type DaemonFixture } from '../support/daemon-fixture.js';
import { startSshd, type Sshd } from '../support/sshd-fixture.js';

const MISSING_ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);

assertBuilt();
const started = await startSshd();
const sshd: Sshd | undefined = 'skip' in started ? undefined : started;
const skipReason = 'skip' in started ? started.skip : '';

let d: DaemonFixture | undefined;
beforeAll(() => {
  if (skipReason) console.warn(`remote tests skipped: ${skipReason}`);
});
afterEach(async () => {
  await d?.close();
  d = undefined;
});
afterAll(async () => {
  await sshd?.stop();
});

/** jitctl with the ssh wrapper (generated key, no host-key prompt) first on PATH. */
const env = (extra: Record<string, string> = {}) => ({ PATH: `${sshd!.binDir}:${process.env.PATH}`, ...extra });
const remote = (fx: DaemonFixture, args: string[]) => jitctl(['--host', sshd!.url(fx.socketPath), ...args], { env: env() });

async function record(fx: DaemonFixture, id: string) {
  return JSON.parse(await readFile(join(fx.config.stateDir, 'requests', `${id}.json`), 'utf8'));
}

describe.skipIf(!sshd)(`jitctl --host ssh:// through a real sshd${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('pending (human and --json) over ssh shows what the local socket shows', async () => {
    const fx = (d = await startDaemonFixture());
    const local = await jitctl(['--socket', fx.socketPath, '--json', 'pending']);
    const far = await remote(fx, ['--json', 'pending']);
    expect(far.code, far.stderr).toBe(0);
    expect(JSON.parse(far.stdout)).toEqual(JSON.parse(local.stdout));
    expect(JSON.parse(far.stdout).map((r: { id: string }) => r.id)).toEqual([MISSING_ID]);
    const human = await remote(fx, ['pending']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(MISSING_ID);
  });

  it('answer over ssh is durable on the daemon side, and JITD_HOST works like --host', async () => {
    const fx = (d = await startDaemonFixture());
    const r = await jitctl(['answer', MISSING_ID, 'answered from another machine'], { env: env({ JITD_HOST: sshd!.url(fx.socketPath) }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`answered ${MISSING_ID}`);
    expect(await record(fx, MISSING_ID)).toMatchObject({ description: 'answered from another machine' });
    await fx.engine.idle();
  });

  it('status, compose and reconcile work over ssh too', async () => {
    const fx = (d = await startDaemonFixture());
    const status = await remote(fx, ['--json', 'status']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).paths.socket).toBe(fx.socketPath);
    const compose = await remote(fx, ['compose', 'REVIEW']);
    expect(compose.code, compose.stderr).toBe(0);
    expect(compose.stdout).toBe('Review it.\n');
    const reconcile = await remote(fx, ['reconcile']);
    expect(reconcile.code, reconcile.stderr).toBe(0);
    expect(reconcile.stdout).toContain('reconciled at');
  });

  it('prompt --follow over ssh asks, waits, asks about a request added meanwhile; a dropped session is exit 3 with ssh’s message', async () => {
    const fx = (d = await startDaemonFixture());
    const p = jitctlInteractive(['--host', sshd!.url(fx.socketPath), 'prompt', '--follow'], { env: env() });
    await p.until(`[1 of 1] ${MISSING_GOAL}`);
    p.send('first, over ssh');
    await p.until('waiting for new requests');
    await writeFile(fx.config.mapFile, JSON.stringify({ ...FIXTURE_MAP, NEW_GOAL: { protocol: 'new.txt' } }));
    await fx.engine.onMapHint();
    await p.until('NEW_GOAL');
    p.send('second, over ssh');
    const newId = requestId('NEW_GOAL', 'protocol', 'new.txt');
    await p.until(`answered ${newId}`);
    expect(await record(fx, MISSING_ID)).toMatchObject({ description: 'first, over ssh' });
    expect(await record(fx, newId)).toMatchObject({ description: 'second, over ssh' });

    expect(sshd!.killSessions()).toBeGreaterThan(0);
    expect(await p.exit).toBe(3);
    const { stderr } = p.output();
    expect(stderr).toMatch(/^jitctl: ssh:\/\/.*: .*(closed|Broken pipe|lost|reset|Killed)/im);
    await fx.engine.idle();
  });

  it('nothing listening on the port: exit 3 with ssh’s own "Connection refused"', async () => {
    const fx = (d = await startDaemonFixture());
    const closedPort = `ssh://${sshd!.user}@127.0.0.1:1${fx.socketPath}`;
    const r = await jitctl(['--host', closedPort, 'pending'], { env: env() });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^jitctl: ssh:\/\/.*: ssh: connect to host 127\.0\.0\.1 port 1: Connection refused\n$/);
  });

  it('no daemon behind the remote socket: exit 3 with the far jitctl’s message', async () => {
    const r = await jitctl(['--host', sshd!.url('/nonexistent/jitd.sock'), 'status'], { env: env() });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('jitd is not running: no control socket at /nonexistent/jitd.sock');
  });

  it('a bad --host URL is a usage error (exit 2), before ssh is run', async () => {
    for (const url of ['http://host', 'ssh://', 'ssh://-oProxyCommand=x', 'ssh://u:pw@host']) {
      const r = await jitctl(['--host', url, 'pending'], { env: env() });
      expect(r.code, url).toBe(2);
    }
  });
});
