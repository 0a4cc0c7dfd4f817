/**
 * Every method through a real socket against the real engine on a temp library: results,
 * durability of answers, paging, event streams, and the engine's refusals as error codes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient, DaemonRequestError } from '../../src/ipc/client.js';
import type { EngineEvent } from '../../src/jobs/events.js';
import { GenerationError, type Provider } from '../../src/generation/provider.js';
import { generatedName } from '../../src/library/names.js';
import { requestId } from '../../src/requests/request.js';
import { MISSING_FILE, MISSING_GOAL, startDaemonFixture, type DaemonFixture, type FixtureOptions } from '../support/daemon-fixture.js';
import { rawClient } from '../support/raw-client.js';

let d: DaemonFixture | undefined;
let clients: ControlClient[] = [];
async function start(opts: FixtureOptions = {}) {
  d = await startDaemonFixture(opts);
  const client = await ControlClient.connect(d.socketPath);
  clients.push(client);
  return { fx: d, client };
}
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await d?.close();
  d = undefined;
});

const MISSING_ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);

/** A provider that waits for `release()` before answering. */
function gatedProvider() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const provider: Provider = {
    name: 'gated',
    async generate(input) {
      await gate;
      return `Generated for ${input.goal}: ${input.description}\n`;
    },
  };
  return { provider, release };
}

function waitForEvent(events: EngineEvent[], type: string, timeoutMs = 10_000): Promise<EngineEvent> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const e = events.find((x) => x.type === type);
      if (e) return resolve(e);
      if (Date.now() - started > timeoutMs) return reject(new Error(`no ${type} event; got ${events.map((x) => x.type).join(', ')}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('control methods', () => {
  it('ping answers the daemon pid', async () => {
    const { client } = await start();
    expect(await client.call('ping')).toEqual({ pong: true, pid: process.pid });
  });

  it('status reports pid, paths, counts, provider, last reconcile, map state and watcher', async () => {
    const { fx, client } = await start();
    const st = await client.call('status', { sync: true });
    expect(st.pid).toBe(process.pid);
    expect(st.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(st.paths).toEqual({
      config: fx.config.configFile,
      map: fx.config.mapFile,
      components: fx.config.componentsDir,
      state: fx.config.stateDir,
      socket: fx.socketPath,
    });
    expect(st.counts).toMatchObject({ goals: 2, entries: 3, missing: 1, requests: { waiting: 1 } });
    expect(st.provider).toBe('template');
    expect(st.lastReconcile).toMatchObject({ created: 1, mapError: null });
    expect(st.mapError).toBeNull();
    expect(st.mapProblems).toEqual({ count: 0, first: [] });
    expect(st.watcher).toEqual({ backend: 'none', ready: true });
  });

  it('status reports skipped map entries with their count and the first few', async () => {
    const { client } = await start({ map: { BAD: { protocol: '../escape.txt' }, OK: { protocol: 'review.txt' } } });
    const st = await client.call('status');
    expect(st.mapProblems.count).toBe(1);
    expect(st.mapProblems.first[0]).toMatchObject({ goal: 'BAD', type: 'protocol' });
  });

  it('answer is acknowledged only once the answer is durable on disk; the component is then installed and the map repointed', async () => {
    const gated = gatedProvider();
    const { fx, client } = await start({ provider: gated.provider });
    const view = await client.call('answer', { id: MISSING_ID.slice(0, 6), text: '  walk from the symptom\n to the root  ' });
    expect(view).toMatchObject({ id: MISSING_ID, state: 'answered', description: 'walk from the symptom to the root' });
    // Acknowledged: the record is on disk before anything was generated.
    const record = JSON.parse(await readFile(join(fx.config.stateDir, 'requests', `${MISSING_ID}.json`), 'utf8'));
    expect(record).toMatchObject({ id: MISSING_ID, state: 'answered', description: 'walk from the symptom to the root' });
    const name = generatedName(MISSING_GOAL, 'protocol');
    await expect(readFile(join(fx.config.componentsDir, 'protocols', name))).rejects.toThrow();
    gated.release();
    await fx.engine.idle();
    expect(await readFile(join(fx.config.componentsDir, 'protocols', name), 'utf8')).toContain('walk from the symptom to the root');
    const map = JSON.parse(await readFile(fx.config.mapFile, 'utf8'));
    expect(map[MISSING_GOAL].protocol).toBe(name);
  });

  it('answer refuses a request that is no longer waiting with ESTATE', async () => {
    const { fx, client } = await start();
    await client.call('answer', { id: MISSING_ID, text: 'first answer' });
    await fx.engine.idle();
    const err = await client.call('answer', { id: MISSING_ID, text: 'second answer' }).catch((e) => e);
    expect(err).toBeInstanceOf(DaemonRequestError);
    expect(err.code).toBe('ESTATE');
  });

  it('pending pages through 1,200 waiting requests, oldest first, without repeats or gaps', async () => {
    const map: Record<string, Record<string, string>> = {};
    for (let i = 0; i < 1200; i++) map[`GOAL_${String(i).padStart(4, '0')}`] = { protocol: `missing_${i}.txt` };
    const { client } = await start({ map, components: {} });
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await client.call('pending', { limit: 500, ...(after ? { after } : {}) });
      expect(page.total).toBe(1200);
      expect(page.requests.length).toBeLessThanOrEqual(500);
      seen.push(...page.requests.map((r) => r.id));
      after = page.next;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(1200);
    expect(new Set(seen).size).toBe(1200);
    const all = await client.call('pending', { limit: 5000 });
    expect(all.next).toBeUndefined();
    expect(all.requests.map((r) => r.id)).toEqual(seen);
    const keys = all.requests.map((r) => `${r.createdAt} ${r.id}`);
    expect([...keys].sort()).toEqual(keys);
  });

  it('pending defaults to waiting requests and filters by the states asked for', async () => {
    const { fx, client } = await start();
    expect((await client.call('pending')).requests.map((r) => r.id)).toEqual([MISSING_ID]);
    await client.call('reject', { id: MISSING_ID });
    expect((await client.call('pending')).requests).toEqual([]);
    const rejected = await client.call('pending', { states: ['rejected'] });
    expect(rejected.requests[0]).toMatchObject({ id: MISSING_ID, state: 'rejected', goal: MISSING_GOAL, type: 'protocol', filename: MISSING_FILE });
    await fx.engine.idle();
  });

  it('subscribe confirms, then streams request.answered and request.installed for an answer', async () => {
    const { fx, client } = await start();
    const events: EngineEvent[] = [];
    await client.subscribe((e) => events.push(e), ['request.answered', 'request.installed']);
    const other = await ControlClient.connect(fx.socketPath);
    clients.push(other);
    await other.call('answer', { id: MISSING_ID, text: 'describe it' });
    const answered = await waitForEvent(events, 'request.answered');
    const installed = await waitForEvent(events, 'request.installed');
    expect(answered).toMatchObject({ request: { id: MISSING_ID, state: 'answered' } });
    expect(installed).toMatchObject({ request: { id: MISSING_ID, state: 'done' } });
    expect(events.every((e) => e.type === 'request.answered' || e.type === 'request.installed')).toBe(true);
  });

  it('subscribe event lines carry the id of the subscribe request', async () => {
    const { fx } = await start();
    const raw = await rawClient(fx.socketPath);
    expect(await raw.request('subscribe', { types: ['reconciled'] }, 'sub-1')).toEqual({ id: 'sub-1', result: { subscribed: true } });
    await fx.engine.reconcileNow('test');
    const line = await raw.next();
    expect(line).toMatchObject({ id: 'sub-1', event: { type: 'reconciled' } });
    raw.close();
  });

  it('subscribe rejects an unknown event type naming the field', async () => {
    const { fx } = await start();
    const raw = await rawClient(fx.socketPath);
    const res = await raw.request('subscribe', { types: ['request.exploded'] });
    expect(res.error.code).toBe('EINVALID');
    expect(res.error.message).toContain('params.types.0');
    raw.close();
  });

  it('compose answers the goal components in map order, missing parts marked', async () => {
    const { client } = await start();
    const c = await client.call('compose', { goal: MISSING_GOAL });
    expect(c.parts.map((p) => [p.type, p.status])).toEqual([
      ['protocol', 'missing'],
      ['persona', 'ok'],
    ]);
    expect(c.text).toBe('You are an SRE.\n');
    const err = await client.call('compose', { goal: 'NOPE' }).catch((e) => e);
    expect(err.code).toBe('ENOGOAL');
  });

  it('reconcile answers a summary of what it did', async () => {
    const { client } = await start();
    const s = await client.call('reconcile');
    expect(s).toMatchObject({ tempsRemoved: 0, rolledForward: 0, created: 0, mapError: null, orphans: { quarantined: 0, deleted: 0, kept: 0 } });
    expect(typeof s.at).toBe('string');
  });

  it('reconcile answers EDISK when a full disk stops it part-way, and status shows the write error', async () => {
    let full = false;
    const { client, fx } = await start({
      // ENOSPC on every map temp once the test says the disk is full.
      wrapFs: (fs) => ({
        ...fs,
        createExclusive: (path, mode) =>
          full && path.includes('goal_map.json')
            ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }))
            : fs.createExclusive(path, mode),
      }),
    });
    // An interrupted install: the request answered, the generated file published, the map still
    // naming the missing one (a waiting request owns no generated file: that would not be adopted).
    const id = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);
    await fx.engine.store.save({ ...fx.engine.store.get(id)!, state: 'answered', description: 'an answer' }, { durable: true });
    await writeFile(join(fx.root, 'components', 'protocols', generatedName(MISSING_GOAL, 'protocol')), 'generated\n');
    full = true;
    const err = await client.call('reconcile').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonRequestError);
    expect((err as DaemonRequestError).code).toBe('EDISK');
    expect((err as Error).message).toMatch(/ENOSPC/);
    const st = await client.call('status');
    expect(st.writeError).toMatch(/ENOSPC/);
    expect(JSON.parse(await readFile(join(fx.root, 'config', 'goal_map.json'), 'utf8'))[MISSING_GOAL].protocol).toBe(MISSING_FILE);
    // Room again: the next reconcile rolls the install forward and clears the error.
    full = false;
    await client.call('reconcile');
    expect((await client.call('status')).writeError).toBeNull();
    expect(JSON.parse(await readFile(join(fx.root, 'config', 'goal_map.json'), 'utf8'))[MISSING_GOAL].protocol).toBe(generatedName(MISSING_GOAL, 'protocol'));
  });

  it('retry regenerates a failed request from its kept description', async () => {
    let calls = 0;
    const provider: Provider = {
      name: 'flaky',
      async generate(input) {
        if (++calls === 1) throw new GenerationError('model said no', false);
        return `ok ${input.description}\n`;
      },
    };
    const { fx, client } = await start({ provider });
    await client.call('answer', { id: MISSING_ID, text: 'keep me' });
    await fx.engine.idle();
    expect((await client.call('pending', { states: ['failed'] })).requests[0]).toMatchObject({ id: MISSING_ID, description: 'keep me' });
    expect(await client.call('retry', { id: MISSING_ID })).toMatchObject({ state: 'answered' });
    await fx.engine.idle();
    expect((await client.call('pending', { states: ['done'] })).requests.map((r) => r.id)).toEqual([MISSING_ID]);
    const err = await client.call('retry', { id: MISSING_ID }).catch((e) => e);
    expect(err.code).toBe('ESTATE');
  });
});
