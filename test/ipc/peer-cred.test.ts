/**
 * Who is on the other end of the control socket (src/ipc/peer-cred.ts): the kernel's SO_PEERCRED
 * through the native addon, and without the addon (not built) no one: the answer is recorded
 * without `answeredBy`, and nothing fails.
 */
import { createServer, connect, type Socket } from 'node:net';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadNativeAddon, nativeAddon } from '../../src/fsio/native-addon.js';
import { ControlClient } from '../../src/ipc/client.js';
import { USER_NAME_TTL_MS, peerReader, readPeer } from '../../src/ipc/peer-cred.js';
import { requestId } from '../../src/requests/request.js';
import { MISSING_FILE, MISSING_GOAL, startDaemonFixture } from '../support/daemon-fixture.js';

const ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);

/** A connected pair on a real Unix socket: the accepted (server) side. */
async function acceptedSocket(): Promise<Socket> {
  const dir = await mkdtemp(join(tmpdir(), 'jitd-peer-'));
  const path = join(dir, 's');
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((r) => (accepted = r));
  const server = createServer(accepted);
  await new Promise<void>((r) => server.listen(path, r));
  const client = connect(path);
  const socket = await got;
  onTestFinished(async () => {
    client.destroy();
    socket.destroy();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return socket;
}

describe('peer credentials of a control-socket client', () => {
  it("are the connecting process's uid and user name, as the kernel gives them", async () => {
    expect(nativeAddon?.peerCred, 'src/fsio/native/build/Release/exchange.node is missing: npm install needs make, g++ and python3').toBeTypeOf('function');
    const socket = await acceptedSocket();
    expect(readPeer(socket)).toEqual({ uid: userInfo().uid, user: userInfo().username });
    // The raw call also gives the gid and pid (this process is both ends).
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    expect(nativeAddon!.peerCred!(fd)).toMatchObject({ uid: userInfo().uid, gid: userInfo().gid, pid: process.pid });
  });

  it('throw an errno-coded error on a descriptor that is not a socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jitd-peer-'));
    const fd = openSync(join(dir, 'plain-file'), 'w');
    try {
      expect(() => nativeAddon!.peerCred!(fd)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
    } finally {
      closeSync(fd);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('are unknown, not an error, where the addon cannot be loaded', async () => {
    const missing = loadNativeAddon(['./native/build/Release/not-built-here.node']);
    expect(missing).toBeUndefined();
    const socket = await acceptedSocket();
    expect(peerReader(missing)(socket)).toBeUndefined();
    // A socket without a descriptor (destroyed) is unknown too.
    socket.destroy();
    expect(readPeer(socket)).toBeUndefined();
  });

  it('without the addon, an answer is recorded without answeredBy and the install proceeds', async () => {
    const fx = await startDaemonFixture({ readPeer: peerReader(loadNativeAddon(['./not-built-here.node'])) });
    onTestFinished(() => fx.close());
    const client = await ControlClient.connect(fx.socketPath);
    onTestFinished(() => client.close());
    const answered = await client.call('answer', { id: ID, text: 'drill down' });
    expect(answered.state).toBe('answered');
    await fx.engine.idle();
    const r = fx.engine.store.get(ID)!;
    expect(r.state).toBe('done');
    expect(r.answeredBy).toBeUndefined();
    expect(r.installed).toMatchObject({ provider: 'template' });
    const shown = await client.call('show', { id: ID });
    expect(shown.provenance).toEqual({ installed: { provider: 'template', at: expect.any(String) } });
  });

  it("look a uid's user name up once per USER_NAME_TTL_MS, not once per connection (getpwuid_r may ask a slow NSS source)", async () => {
    let clock = 1_000_000;
    const asked: number[] = [];
    const reader = peerReader({ peerCred: nativeAddon!.peerCred!, userName: (uid) => (asked.push(uid), `user${asked.length}`) }, { now: () => clock });
    const uid = userInfo().uid;
    expect(reader(await acceptedSocket())).toEqual({ uid, user: 'user1' });
    clock += USER_NAME_TTL_MS - 1;
    expect(reader(await acceptedSocket())).toEqual({ uid, user: 'user1' });
    expect(asked).toEqual([uid]);
    // Past the TTL the name is asked again (a renamed user shows under the new name).
    clock += 1;
    expect(reader(await acceptedSocket())).toEqual({ uid, user: 'user2' });
    expect(asked).toEqual([uid, uid]);
  });

  it('name nobody when the lookup fails or the uid has no name, and take the name an older addon gives', async () => {
    const uid = userInfo().uid;
    const failing = peerReader({
      peerCred: nativeAddon!.peerCred!,
      userName: () => {
        throw new Error('NSS down');
      },
    });
    expect(failing(await acceptedSocket())).toEqual({ uid });
    expect(peerReader({ peerCred: nativeAddon!.peerCred!, userName: () => undefined })(await acceptedSocket())).toEqual({ uid });
    // An addon built before userName answered the name in peerCred itself.
    const older = peerReader({ peerCred: (fd) => ({ ...nativeAddon!.peerCred!(fd), user: 'from-peer-cred' }) });
    expect(older(await acceptedSocket())).toEqual({ uid, user: 'from-peer-cred' });
    // The addon's own lookup: a uid without a passwd entry has no name.
    expect(nativeAddon!.userName!(4_242_424)).toBeUndefined();
    expect(nativeAddon!.userName!(uid)).toBe(userInfo().username);
  });
});
