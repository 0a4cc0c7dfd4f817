/**
 * The client's typed failures and its paging helper: no daemon → DaemonUnreachableError, an
 * error response → DaemonRequestError with the code, a lost connection fails calls in flight.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchAllRequests } from '../../src/cli/fetch-requests.js';
import { ControlClient, DaemonRequestError, DaemonUnreachableError } from '../../src/ipc/client.js';
import type { Provider } from '../../src/generation/provider.js';
import { startDaemonFixture, type DaemonFixture } from '../support/daemon-fixture.js';

let d: DaemonFixture | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

describe('ControlClient', () => {
  it('fails to connect with DaemonUnreachableError when there is no socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jitd-cl-'));
    try {
      const err = await ControlClient.connect(join(dir, 'none.sock')).catch((e) => e);
      expect(err).toBeInstanceOf(DaemonUnreachableError);
      expect(err.message).toContain('jitd is not running');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('turns an error response into DaemonRequestError carrying the code', async () => {
    d = await startDaemonFixture();
    const c = await ControlClient.connect(d.socketPath);
    const err = await c.call('reject', { id: 'zzzz' }).catch((e) => e);
    expect(err).toBeInstanceOf(DaemonRequestError);
    expect(err.code).toBe('ENOREQUEST');
    c.close();
  });

  it('fails a call in flight with DaemonUnreachableError when the daemon goes away', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const provider: Provider = { name: 'stuck', generate: async () => (await gate, 'x\n') };
    d = await startDaemonFixture({ provider });
    const c = await ControlClient.connect(d.socketPath);
    // status --sync waits for the engine to go idle, which the stuck provider prevents.
    await c.call('answer', { id: (await c.call('pending')).requests[0]!.id, text: 'go' });
    const inFlight = c.call('status', { sync: true }).catch((e: unknown) => e);
    await d.server.close();
    expect(await inFlight).toBeInstanceOf(DaemonUnreachableError);
    release();
  });

  it('fetchAllRequests follows the cursor over every page', async () => {
    const map: Record<string, Record<string, string>> = {};
    for (let i = 0; i < 25; i++) map[`G${i}`] = { protocol: `m${i}.txt` };
    d = await startDaemonFixture({ map, components: {} });
    const c = await ControlClient.connect(d.socketPath);
    const all = await fetchAllRequests(c, ['waiting'], 4);
    expect(all).toHaveLength(25);
    expect(new Set(all.map((r) => r.id)).size).toBe(25);
    c.close();
  });
});
