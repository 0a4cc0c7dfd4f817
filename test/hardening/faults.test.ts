/**
 * Faults through the real daemon (issue 7, item 6).
 *
 * Disk: ENOSPC and EIO injected with fault-fs (`JITD_TEST_FAULT`) at each step of an install —
 * the component's temp create, write, fsync, link and directory fsync; the map's temp create,
 * write, fsync, rename and directory fsync; the request record of the answer and of the closing
 * `done`. After each: the request keeps its description (answered or failed), the map is intact
 * (and never names a file that is not there), no temp file is left; a failed fsync is fatal
 * (exit 1, cleanly: a logged fatal line, no crash); any other error leaves the daemon serving.
 * Then a restart without the fault reconciles and completes the install.
 *
 * LLM: with the fake OpenAI server, a server that hangs (timeout → failed after the retries,
 * description kept), answers 429 forever (failed, reason shown, at most maxRetries+1 calls) or
 * returns 1 MB (rejected, nothing installed); and the API key never appears in the daemon's
 * stdout/stderr, its request records or jitctl's output.
 */
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generatedName } from '../../src/library/names.js';
import type { RunningDaemon } from '../support/daemon-process.js';
import { apiError, completion, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { ctl, kill, makeHardLib, output, sleep, start, tempsUnder, waitFor, type HardLib } from './support.js';
import { libraryAt } from '../support/library-fixture.js';
import { rawCall } from '../support/raw-client.js';

const GOAL = 'G';
const MISSING = 'wanted.txt';
const GENERATED = generatedName(GOAL, 'protocol');
const DESCRIPTION = 'Fault-injected install: keep this description';
const MAP = { REVIEW: { protocol: 'review.txt' }, [GOAL]: { protocol: MISSING } };

// ---------------------------------------------------------------------------------------------
// the library template: created once, started once (so its request exists), then traced once to
// learn how many steps of each kind a start-up takes; every case runs on a copy of it.

interface Template {
  lib: HardLib;
  /** Steps a start-up of the template performs, by `op:role`. */
  startup: Map<string, number>;
}
let template: Promise<Template> | undefined;
afterAll(async () => {
  await (await template)?.lib.cleanup();
});

function getTemplate(): Promise<Template> {
  return (template ??= (async () => {
    const lib = await makeHardLib({ map: MAP, config: { rescanIntervalMs: 0 } });
    await kill(await start(lib)); // creates the waiting request
    const trace = join(lib.outer, 'startup.trace');
    await writeFile(trace, '');
    await kill(await start(lib, { JITD_TEST_TRACE: trace }));
    const startup = new Map<string, number>();
    for (const line of (await readFile(trace, 'utf8')).split('\n').filter(Boolean)) {
      const key = line.replace(/#\d+$/, '');
      startup.set(key, (startup.get(key) ?? 0) + 1);
    }
    return { lib, startup };
  })());
}

async function cloneTemplate(): Promise<HardLib> {
  const { lib: t } = await getTemplate();
  const outer = await mkdtemp(join(tmpdir(), 'jh-'));
  // Sockets cannot be copied (and the stale one is replaced at start anyway).
  await cp(t.outer, outer, { recursive: true, filter: (src) => !src.endsWith('.sock') && !src.endsWith('.trace') });
  return libraryAt(outer, join(outer, 'lib'), join(outer, 'lib', '.jitd', 'ctl.sock')) as HardLib;
}

// ---------------------------------------------------------------------------------------------
// the disk-fault matrix

interface Step {
  /** `op:role` */
  at: string;
  /** Which occurrence after start-up: the answer's record is the 1st request write, `done` the 2nd. */
  nth?: number;
  label: string;
}
const STEPS: Step[] = [
  { at: 'open:staged', label: 'staged output temp create' },
  { at: 'write:staged', label: 'staged output write' },
  { at: 'fsync:staged', label: 'staged output fsync' },
  { at: 'rename:staged', label: 'staged output rename' },
  { at: 'fsyncdir:staged', label: 'staged output directory fsync' },
  { at: 'link:component', label: 'component link (publish)' },
  { at: 'fsyncdir:component', label: 'component directory fsync' },
  { at: 'open:map', label: 'map temp create' },
  { at: 'write:map', label: 'map write' },
  { at: 'fsync:map', label: 'map fsync' },
  { at: 'rename:map', label: 'map rename (publish)' },
  { at: 'fsyncdir:map', label: 'map directory fsync' },
  { at: 'write:request', nth: 1, label: "answer's record write" },
  { at: 'fsync:request', nth: 1, label: "answer's record fsync" },
  { at: 'rename:request', nth: 1, label: "answer's record rename" },
  { at: 'fsyncdir:request', nth: 1, label: "answer's record directory fsync" },
  { at: 'write:request', nth: 2, label: 'done record write' },
  { at: 'fsync:request', nth: 2, label: 'done record fsync' },
];
const isFsync = (s: Step) => s.at.startsWith('fsync');

/**
 * Found by this matrix and fixed (each case below now proves the fix):
 *  A — a failed fsync of the component file was a retryable per-item failure; it is fatal now
 *      (install-batch.ts rethrows FsyncFailedError).
 *  B — a failed fsync while recording an answer reached the client but the daemon carried on;
 *      every lane task's FsyncFailedError now goes to onFatal (Engine.onLane).
 *  C — ENOSPC/EIO on the map write became an unhandled rejection (exit 1, a crash loop under
 *      systemd); background lane work and watcher hints now report it in `writeError` and retry.
 */
let faultsInjected = 0;

async function runDiskFault(step: Step, errno: string): Promise<void> {
  const { startup } = await getTemplate();
  const lib = await cloneTemplate();
  const rule = step.nth ? `${step.at}#${(startup.get(step.at) ?? 0) + step.nth}=${errno}` : `${step.at}=${errno}`;
  let d: RunningDaemon | undefined;
  try {
    d = await start(lib, { JITD_TEST_FAULT: rule });
    faultsInjected++;
    const [req] = (await rawCall(lib.socketPath, 'pending', {})).result.requests;
    expect(req).toMatchObject({ goal: GOAL, state: 'waiting' });
    const answer = await rawCall(lib.socketPath, 'answer', { id: req.id, text: DESCRIPTION }).catch((err) => ({ lost: String(err) }));
    const acked = 'result' in answer;
    // Let the install run into the fault (and whatever follows from it) and settle.
    await rawCall(lib.socketPath, 'status', { sync: true }).catch(() => undefined);
    await sleep(400);
    await rawCall(lib.socketPath, 'status', { sync: true }).catch(() => undefined);
    const exited = d.child.exitCode !== null || d.child.signalCode !== null;
    const log = output(d);

    // 1. fatal exactly for fsync, and cleanly: a logged fatal line, no unhandled crash.
    if (isFsync(step)) {
      await Promise.race([d.exit, sleep(2000)]);
      expect(d.child.exitCode, `${rule}: a failed fsync must stop jitd with exit 1\n${log.slice(-800)}`).toBe(1);
      expect(log).toMatch(/"level":60.*fsync failed/);
    } else {
      expect(exited, `${rule}: jitd must keep serving after a ${errno} that is not an fsync\n${log.slice(-800)}`).toBe(false);
      expect((await rawCall(lib.socketPath, 'ping', {})).result.pong).toBe(true);
    }
    expect(log).not.toMatch(/jitd: fatal: /); // the unhandled-rejection handler of jitd.ts

    // 2. the request keeps its description; the map is intact and never names a missing file.
    const record = JSON.parse(await readFile(join(lib.stateDir, 'requests', `${req.id}.json`), 'utf8'));
    if (acked) expect(record, rule).toMatchObject({ description: DESCRIPTION });
    if (acked) expect(['answered', 'failed', 'done']).toContain(record.state);
    const map = JSON.parse(await readFile(lib.mapFile, 'utf8'));
    expect(map.REVIEW).toEqual({ protocol: 'review.txt' });
    expect([MISSING, GENERATED]).toContain(map[GOAL].protocol);
    if (map[GOAL].protocol === GENERATED) expect(await readFile(join(lib.componentsDir, 'protocols', GENERATED), 'utf8')).toContain(DESCRIPTION);
    if (!exited) expect(await tempsUnder(lib.root), `${rule}: temps left while running`).toEqual([]);

    // 3. restart without the fault: reconciled, no temp, the install completes.
    await kill(d);
    d = await start(lib);
    const again = (await rawCall(lib.socketPath, 'pending', {})).result.requests;
    if (acked)
      expect(
        again.map((r: { id: string }) => r.id),
        `${rule}: acknowledged answer asked again`,
      ).not.toContain(req.id);
    else if (again.length) expect((await rawCall(lib.socketPath, 'answer', { id: req.id, text: DESCRIPTION })).result).toBeDefined();
    await waitFor(
      `${rule}: the install to complete after the restart`,
      async () => JSON.parse(await readFile(lib.mapFile, 'utf8'))[GOAL].protocol === GENERATED,
      10_000,
      100,
    );
    expect(await readFile(join(lib.componentsDir, 'protocols', GENERATED), 'utf8')).toContain(DESCRIPTION);
    await rawCall(lib.socketPath, 'status', { sync: true });
    expect(await tempsUnder(lib.root)).toEqual([]);
    const autogen = (await readdir(join(lib.componentsDir, 'protocols'))).filter((n) => n.startsWith('autogen_'));
    expect(autogen).toEqual([GENERATED]);
  } finally {
    await kill(d);
    await lib.cleanup();
  }
}

describe('disk faults at each step of an install (real daemon, fault-fs)', () => {
  for (const step of STEPS) {
    for (const errno of ['ENOSPC', 'EIO']) {
      const key = `${step.at}${step.nth ? `#${step.nth}` : ''}=${errno}`;
      const name = `${errno} at the ${step.label} (${key}): ${isFsync(step) ? 'exits 1 cleanly' : 'keeps serving'}, description kept, map intact, no temp, completed after restart`;
      it.concurrent(name, () => runDiskFault(step, errno), 60_000);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// LLM faults through the fake OpenAI server

const KEY = 'sk-test-SECRET-hardening-6c1f0e9d';

interface LlmCase {
  lib: HardLib;
  fake: FakeOpenAI;
  daemon: RunningDaemon;
  id: string;
}

async function llmCase(provider: Record<string, unknown>, fn: (c: LlmCase) => Promise<void>): Promise<void> {
  const fake = await startFakeOpenAI();
  const lib = await makeHardLib({
    map: MAP,
    config: { rescanIntervalMs: 0, provider: { kind: 'openai', baseURL: fake.baseURL, model: 'fake-model', ...provider } },
  });
  let daemon: RunningDaemon | undefined;
  try {
    daemon = await start(lib, { OPENAI_API_KEY: KEY });
    const [req] = (await rawCall(lib.socketPath, 'pending', {})).result.requests;
    expect(req).toMatchObject({ goal: GOAL, state: 'waiting' });
    await fn({ lib, fake, daemon, id: req.id });
    // The key never shows: daemon output, request records, jitctl's JSON.
    const records = await Promise.all((await readdir(join(lib.stateDir, 'requests'))).map((f) => readFile(join(lib.stateDir, 'requests', f), 'utf8')));
    // jitctl's own output, where the person sees the reason.
    const pending = await ctl(lib, ['pending', '--json', '--state', 'failed']);
    expect(JSON.parse(pending.stdout)[0]?.lastError).toBeTruthy();
    const status = await ctl(lib, ['status']);
    expect(status.stdout).toMatch(/failed 1/);
    for (const [where, text] of Object.entries({
      'daemon stdout/stderr': output(daemon),
      'request records': records.join('\n'),
      'jitctl pending --json': pending.stdout,
      'jitctl status': status.stdout,
    })) {
      expect(text, where).not.toContain(KEY);
      expect(text, where).not.toContain('SECRET');
    }
    expect(fake.requests.every((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
  } finally {
    await kill(daemon);
    await fake.stop();
    await lib.cleanup();
  }
}

async function expectFailedKeepingDescription(c: LlmCase, reason: RegExp): Promise<any> {
  const failed = await waitFor(
    'the request to fail',
    async () => (await rawCall(c.lib.socketPath, 'pending', { states: ['failed'] })).result.requests.find((r: { id: string }) => r.id === c.id),
    20_000,
    100,
  );
  expect(failed.description).toBe(DESCRIPTION);
  expect(failed.lastError).toMatch(reason);
  const record = JSON.parse(await readFile(join(c.lib.stateDir, 'requests', `${c.id}.json`), 'utf8'));
  expect(record).toMatchObject({ state: 'failed', description: DESCRIPTION });
  // Nothing installed, the map untouched, nobody asked again.
  expect((await readdir(join(c.lib.componentsDir, 'protocols'))).filter((n) => n.startsWith('autogen_'))).toEqual([]);
  expect(JSON.parse(await readFile(c.lib.mapFile, 'utf8'))).toEqual(MAP);
  expect((await rawCall(c.lib.socketPath, 'pending', {})).result.requests).toEqual([]);
  expect((await rawCall(c.lib.socketPath, 'status', {})).result.counts.requests.failed).toBe(1);
  return failed;
}

describe('LLM faults (fake OpenAI server through the real daemon)', () => {
  it.concurrent('a server that never answers: each attempt times out, the request fails after maxRetries+1 calls, keeping its description', async () => {
    await llmCase({ timeoutMs: 400, maxRetries: 1 }, async (c) => {
      c.fake.enqueue({ hang: true }, { hang: true }, { hang: true });
      expect((await rawCall(c.lib.socketPath, 'answer', { id: c.id, text: DESCRIPTION })).result).toBeDefined();
      await expectFailedKeepingDescription(c, /no complete answer .* within 400 ms/);
      await sleep(800);
      expect(c.fake.requests).toHaveLength(2);
      expect(c.daemon.child.exitCode).toBeNull();
    });
  });

  it.concurrent('a server that answers 429 forever: failed with the reason shown in pending --json, no more than maxRetries+1 calls', async () => {
    await llmCase({ maxRetries: 2, timeoutMs: 5000 }, async (c) => {
      const tooMany = {
        status: 429,
        headers: { 'retry-after-ms': '20' },
        json: apiError(`Rate limit reached for key ${KEY}`, 'requests', 'rate_limit_exceeded'),
      };
      c.fake.enqueue(...Array.from({ length: 10 }, () => tooMany));
      expect((await rawCall(c.lib.socketPath, 'answer', { id: c.id, text: DESCRIPTION })).result).toBeDefined();
      await expectFailedKeepingDescription(c, /rate-limiting requests \(429\)/);
      await sleep(1000);
      expect(c.fake.requests).toHaveLength(3);
    });
  });

  it.concurrent('a 1 MB answer is rejected (one call, not retried) and nothing is installed', async () => {
    await llmCase({ maxRetries: 3, timeoutMs: 10_000 }, async (c) => {
      c.fake.enqueue({ json: completion('x'.repeat(1024 * 1024)) });
      expect((await rawCall(c.lib.socketPath, 'answer', { id: c.id, text: DESCRIPTION })).result).toBeDefined();
      await expectFailedKeepingDescription(c, /over provider\.maxOutputBytes/);
      await sleep(500);
      expect(c.fake.requests).toHaveLength(1);
    });
  });

  it.concurrent('a 401 whose message echoes the API key: failed at once, and the key appears nowhere', async () => {
    await llmCase({ maxRetries: 2 }, async (c) => {
      c.fake.enqueue({
        status: 401,
        json: apiError(`Incorrect API key provided: ${KEY}. You can find your API key at ...`, 'invalid_request_error', 'invalid_api_key'),
      });
      expect((await rawCall(c.lib.socketPath, 'answer', { id: c.id, text: DESCRIPTION })).result).toBeDefined();
      await expectFailedKeepingDescription(c, /refused the API key \(401\)/);
      expect(c.fake.requests).toHaveLength(1);
    });
  });
});

describe('figures', () => {
  it('injected every disk fault of the matrix into a running daemon', () => {
    console.log(`faults: ${faultsInjected} disk faults injected into a real daemon (${STEPS.length} steps x ENOSPC/EIO), 4 LLM fault scenarios`);
    expect(faultsInjected).toBe(STEPS.length * 2);
  });
});
