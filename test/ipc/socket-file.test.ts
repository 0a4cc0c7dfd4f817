/**
 * The socket file: owner-only modes (group-shared with socketGroup), a stale socket replaced,
 * anything else at the path refused, the socket removed on close, clients closed on shutdown.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DaemonContext } from '../../src/ipc/context.js';
import { startControlServer } from '../../src/ipc/server.js';
import { lookupGroup } from '../../src/ipc/socket-file.js';
import { startDaemonFixture, type DaemonFixture } from '../support/daemon-fixture.js';
import { rawClient } from '../support/raw-client.js';

let d: DaemonFixture | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await d?.close();
  d = undefined;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

/** A context good enough for start/close (no request is sent). */
async function bareContext(): Promise<DaemonContext> {
  const fx = await startDaemonFixture();
  d = fx;
  return fx.ctx;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jitd-sock-'));
  dirs.push(dir);
  return dir;
}

describe('socket file', () => {
  it('creates the socket 0600 in a 0700 directory', async () => {
    d = await startDaemonFixture();
    expect(await modeOf(d.socketPath)).toBe(0o600);
    expect(await modeOf(join(d.socketPath, '..'))).toBe(0o700);
    expect((await stat(d.socketPath)).isSocket()).toBe(true);
  });

  it('with socketGroup, creates the socket 0660 in a 0750 directory owned by that group', async () => {
    const gid = process.getgid!();
    d = await startDaemonFixture({ socketGroup: String(gid) });
    expect(await modeOf(d.socketPath)).toBe(0o660);
    expect(await modeOf(join(d.socketPath, '..'))).toBe(0o750);
    expect((await stat(d.socketPath)).gid).toBe(gid);
  });

  it('looks a group up by name', async () => {
    expect(await lookupGroup('root')).toBe(0);
    await expect(lookupGroup('no-such-group-jitd')).rejects.toMatchObject({ code: 'ECONFIG' });
  });

  it('replaces a stale socket left by a killed daemon', async () => {
    const ctx = await bareContext();
    const dir = await tempDir();
    const path = join(dir, 'run', 'jitd.sock');
    await mkdir(join(dir, 'run'));
    // A socket file with nobody listening, as a SIGKILLed daemon leaves it.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect((await stat(path)).isSocket()).toBe(true);
    const server = await startControlServer(ctx, { socketPath: path });
    const c = await rawClient(path);
    expect((await c.request('ping')).result.pong).toBe(true);
    c.close();
    await server.close();
  });

  it('refuses to replace something that is not a socket', async () => {
    const ctx = await bareContext();
    const dir = await tempDir();
    const path = join(dir, 'jitd.sock');
    await writeFile(path, 'precious');
    await expect(startControlServer(ctx, { socketPath: path })).rejects.toMatchObject({ code: 'ESOCKETPATH' });
    expect((await stat(path)).isFile()).toBe(true);
  });

  it('close() closes connected clients and subscribers and removes the socket file', async () => {
    d = await startDaemonFixture();
    const a = await rawClient(d.socketPath);
    const b = await rawClient(d.socketPath);
    expect((await b.request('subscribe')).result.subscribed).toBe(true);
    await d.server.close();
    await Promise.all([a.closed, b.closed]);
    await expect(stat(d.socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
