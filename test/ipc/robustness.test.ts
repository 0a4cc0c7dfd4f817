/**
 * A misbehaving client never crashes the server or disturbs another client: malformed JSON,
 * oversized lines, unknown methods, invalid params, handler failures, slow or silent clients,
 * clients that never read, and too many clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JitdError } from '../../src/fsio/errors.js';
import { startDaemonFixture, type DaemonFixture, type FixtureOptions } from '../support/daemon-fixture.js';
import { rawClient } from '../support/raw-client.js';

let d: DaemonFixture | undefined;
async function start(opts: FixtureOptions = {}): Promise<DaemonFixture> {
  d = await startDaemonFixture(opts);
  return d;
}
afterEach(async () => {
  await d?.close();
  d = undefined;
});

/** Asserts that a fresh client gets a normal answer (the server and other clients are fine). */
async function secondClientWorks(fx: DaemonFixture): Promise<void> {
  const other = await rawClient(fx.socketPath);
  const res = await other.request('status');
  expect(res.result.pid).toBe(process.pid);
  other.close();
}

describe('bad input gets an error response and harms no one', () => {
  it('answers malformed JSON with EPARSE while a second client keeps working, and keeps the connection usable', async () => {
    const fx = await start();
    const bad = await rawClient(fx.socketPath);
    const other = await rawClient(fx.socketPath);
    bad.send('{"id":1,"method":\n');
    const res = await bad.next();
    expect(res).toMatchObject({ id: null, error: { code: 'EPARSE' } });
    expect((await other.request('ping')).result.pong).toBe(true);
    expect((await bad.request('ping', undefined, 2)).result.pong).toBe(true);
    bad.close();
    other.close();
  });

  it('answers a 2 MiB line with ETOOBIG, discards the rest of it, and serves the next request on the same connection', async () => {
    const fx = await start();
    const big = await rawClient(fx.socketPath);
    const other = await rawClient(fx.socketPath);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    big.send('{"id":1,"method":"answer","params":{"id":"x","text":"');
    for (let sent = 0; sent < 2 * 1024 * 1024; sent += chunk.length) big.send(chunk);
    // While the big line is still streaming, the other client is served.
    expect((await other.request('ping')).result.pong).toBe(true);
    big.send('"}}\n{"id":2,"method":"ping"}\n');
    expect(await big.next()).toMatchObject({ id: null, error: { code: 'ETOOBIG' } });
    expect(await big.next()).toMatchObject({ id: 2, result: { pong: true } });
    await secondClientWorks(fx);
    big.close();
    other.close();
  });

  it('answers an unknown method with EMETHOD naming it, while a second client keeps working', async () => {
    const fx = await start();
    const c = await rawClient(fx.socketPath);
    const res = await c.request('explode', {}, 'u1');
    expect(res.id).toBe('u1');
    expect(res.error.code).toBe('EMETHOD');
    expect(res.error.message).toContain('explode');
    await secondClientWorks(fx);
    c.close();
  });

  it('names the bad field in EINVALID for params of the wrong type', async () => {
    const fx = await start();
    const c = await rawClient(fx.socketPath);
    const res = await c.request('answer', { id: 'abcd', text: 42 });
    expect(res.error.code).toBe('EINVALID');
    expect(res.error.message).toContain('params.text');
    c.close();
  });

  it('names an unknown params key in EINVALID', async () => {
    const fx = await start();
    const c = await rawClient(fx.socketPath);
    const res = await c.request('pending', { limitt: 3 });
    expect(res.error.code).toBe('EINVALID');
    expect(res.error.message).toContain('params.limitt');
    c.close();
  });

  it('names a missing method and a bad id in EINVALID for a broken envelope', async () => {
    const fx = await start();
    const c = await rawClient(fx.socketPath);
    c.send('{"id":5}\n');
    const a = await c.next();
    expect(a).toMatchObject({ id: 5, error: { code: 'EINVALID' } });
    expect(a.error.message).toContain('method');
    c.send('{"id":{"x":1},"method":"ping"}\n');
    const b = await c.next();
    expect(b).toMatchObject({ id: null, error: { code: 'EINVALID' } });
    expect(b.error.message).toContain('id');
    c.send('[1,2]\n');
    expect((await c.next()).error.code).toBe('EINVALID');
    c.close();
  });

  it('rejects a pending limit over 5000 and an invalid cursor with EINVALID', async () => {
    const fx = await start();
    const c = await rawClient(fx.socketPath);
    expect((await c.request('pending', { limit: 5001 })).error.message).toContain('params.limit');
    expect((await c.request('pending', { after: 'garbage' })).error.message).toContain('params.after');
    c.close();
  });

  it('answers a JitdError from a handler with its own code and message', async () => {
    const fx = await start();
    const c = await rawClient(fx.socketPath);
    const res = await c.request('answer', { id: 'ffffffffffff', text: 'anything' });
    expect(res.error).toEqual({ code: 'ENOREQUEST', message: 'no request ffffffffffff' });
    c.close();
  });

  it('answers an unexpected handler exception with EINTERNAL and keeps serving', async () => {
    const fx = await start({
      context: {
        watcherStatus: () => {
          throw new Error('boom');
        },
      },
    });
    const c = await rawClient(fx.socketPath);
    const res = await c.request('status');
    expect(res.error.code).toBe('EINTERNAL');
    expect(res.error.message).toContain('boom');
    expect((await c.request('ping')).result.pong).toBe(true);
    c.close();
  });

  it('passes a JitdError code thrown by the context through (status --sync failing)', async () => {
    const fx = await start({
      context: {
        syncWatcher: async () => {
          throw new JitdError('EWATCH', 'the watcher is not running');
        },
      },
    });
    const c = await rawClient(fx.socketPath);
    expect((await c.request('status', { sync: true })).error).toEqual({ code: 'EWATCH', message: 'the watcher is not running' });
    c.close();
  });
});

describe('clients that hold resources are cut off', () => {
  it('closes a client that holds a partial line past the partial-line limit, and only that client', async () => {
    const fx = await start({ limits: { partialLineMs: 200 } });
    const slow = await rawClient(fx.socketPath);
    const other = await rawClient(fx.socketPath);
    slow.send('{"id":1,"meth');
    await slow.closed;
    expect((await other.request('ping')).result.pong).toBe(true);
    other.close();
  });

  it('closes a client idle past the idle limit, but not a subscribed one', async () => {
    const fx = await start({ limits: { idleMs: 200 } });
    const idle = await rawClient(fx.socketPath);
    const sub = await rawClient(fx.socketPath);
    expect((await sub.request('subscribe')).result).toEqual({ subscribed: true });
    await idle.closed;
    await new Promise((r) => setTimeout(r, 400));
    expect(sub.socket.destroyed).toBe(false);
    expect(fx.server.clients()).toBe(1);
    sub.close();
  });

  it('destroys a subscriber that never reads once its unsent output passes the limit, while others are served', async () => {
    const fx = await start({ limits: { maxPendingWriteBytes: 64 * 1024 } });
    const deaf = await rawClient(fx.socketPath);
    expect((await deaf.request('subscribe')).result.subscribed).toBe(true);
    deaf.socket.pause();
    const other = await rawClient(fx.socketPath);
    // Each reconcile emits an event; a few thousand of them fill any socket buffer.
    const flood = (async () => {
      for (let i = 0; i < 200 && !deaf.socket.destroyed && fx.server.clients() > 1; i++) {
        await Promise.all(Array.from({ length: 50 }, () => fx.engine.reconcileNow('flood')));
      }
    })();
    expect((await other.request('ping')).result.pong).toBe(true);
    await flood;
    // The server dropped the deaf client: only `other` is left.
    expect(fx.server.clients()).toBe(1);
    expect((await other.request('ping')).result.pong).toBe(true);
    other.close();
  });

  it('refuses the client over the maximum with EBUSY and keeps serving the others', async () => {
    const fx = await start({ limits: { maxClients: 2 } });
    const a = await rawClient(fx.socketPath);
    const b = await rawClient(fx.socketPath);
    expect((await a.request('ping')).result.pong).toBe(true);
    const c = await rawClient(fx.socketPath);
    expect((await c.next()).error.code).toBe('EBUSY');
    await c.closed;
    expect((await b.request('ping')).result.pong).toBe(true);
    a.close();
    b.close();
  });

  it('pauses reading by bytes queued, per client and across clients, and still answers every request in order', async () => {
    const fx = await start({ limits: { maxQueuedBytes: 16 * 1024, maxTotalQueuedBytes: 48 * 1024 } });
    // 6 clients x 200 requests of ~4 KB each, all sent at once: far over both budgets.
    const pad = 'x'.repeat(4000);
    const clients = await Promise.all(Array.from({ length: 6 }, () => rawClient(fx.socketPath)));
    for (const c of clients) c.send(Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: i, method: 'ping', pad })).join('\n') + '\n');
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < 200; i++) expect(await c.next()).toMatchObject({ id: i, result: { pong: true } });
      }),
    );
    for (const c of clients) c.close();
  });

  it('over the server-wide budget, drops clients whose queued requests wait on replies they never read, and serves the rest', async () => {
    const fx = await start({
      limits: { maxQueuedBytes: 16 * 1024, maxTotalQueuedBytes: 64 * 1024 },
      map: { BIG: { persona: 'big.txt' } },
      components: { 'personas/big.txt': `${'y'.repeat(300_000)}\n` },
    });
    const DEAF = 8;
    for (let n = 0; n < DEAF; n++) {
      const deaf = await rawClient(fx.socketPath);
      deaf.socket.pause();
      // Two ~300 KB replies (more than the socket buffers hold), then ~80 KB of requests behind them.
      const pings = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: i, method: 'ping', pad: 'x'.repeat(2000) }));
      deaf.send(
        `${JSON.stringify({ id: 'a', method: 'compose', params: { goal: 'BIG' } })}\n${JSON.stringify({ id: 'b', method: 'compose', params: { goal: 'BIG' } })}\n${pings.join('\n')}\n`,
      );
    }
    // Each holds ~16 KiB of requests; 8 of them are over the 64 KiB budget: some are dropped.
    for (let i = 0; i < 500 && fx.server.clients() === DEAF; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fx.server.clients()).toBeLessThan(DEAF);
    await secondClientWorks(fx);
    // Only enough of them to bring what they hold under half the budget, not all.
    expect(fx.server.clients()).toBeGreaterThan(0);
  });

  it('keeps answering a client that pipelines many requests, in order', async () => {
    const fx = await start();
    const c = await rawClient(fx.socketPath);
    c.send(Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: i, method: 'ping' })).join('\n') + '\n');
    for (let i = 0; i < 300; i++) expect((await c.next()).id).toBe(i);
    c.close();
  });
});
