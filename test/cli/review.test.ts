/**
 * Review (issue 15): with `answer --review` or `generation.review: required`, the generated
 * component waits as a durable draft with a numbered candidate under stateDir, nothing in the
 * library changes until `jitctl approve`; reject drops a draft. Real jitctl processes against an
 * in-process daemon on a temp library (offline template provider).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/library/config.js';
import { generatedName } from '../../src/library/names.js';
import { requestId } from '../../src/requests/request.js';
import { MISSING_FILE, MISSING_GOAL, startDaemonFixture, type DaemonFixture, type FixtureOptions } from '../support/daemon-fixture.js';
import { assertBuilt, jitctl } from './run-jitctl.js';

const ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);
const NAME = generatedName(MISSING_GOAL, 'protocol');

let d: DaemonFixture | undefined;
async function start(opts: FixtureOptions = {}): Promise<DaemonFixture> {
  d = await startDaemonFixture(opts);
  return d;
}
afterEach(async () => {
  await d?.close();
  d = undefined;
});
beforeAll(() => assertBuilt());

const record = async (fx: DaemonFixture) => JSON.parse(await readFile(join(fx.config.stateDir, 'requests', `${ID}.json`), 'utf8'));
const mapEntry = async (fx: DaemonFixture) => JSON.parse(await readFile(fx.config.mapFile, 'utf8'))[MISSING_GOAL].protocol;
const installed = async (fx: DaemonFixture) => (await readdir(join(fx.config.componentsDir, 'protocols'))).includes(NAME);

describe('generation.review config key', () => {
  it('defaults to auto, accepts required, and refuses anything else naming the key', () => {
    expect(resolveConfig({}, '/srv/lib/config/jitd.json', {}).generation.review).toBe('auto');
    expect(resolveConfig({ generation: { review: 'required' } }, '/srv/lib/config/jitd.json', {}).generation.review).toBe('required');
    expect(() => resolveConfig({ generation: { review: 'maybe' } }, '/srv/lib/config/jitd.json', {})).toThrow(ConfigError);
    expect(() => resolveConfig({ generation: { review: 'maybe' } }, '/srv/lib/config/jitd.json', {})).toThrow(/generation\.review/);
  });
});

describe('drafts and approval', () => {
  it('answer --review holds the component as a durable draft (candidate 1 on disk, library untouched); approve installs it', async () => {
    const fx = await start();
    const mapBefore = await readFile(fx.config.mapFile, 'utf8');
    const a = await jitctl(['--socket', fx.socketPath, 'answer', ID, '--review', 'trace', 'every', 'step']);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain(`answered ${ID} (${MISSING_GOAL} · protocol): generating a draft for review (jitctl approve) protocols/${NAME}`);
    await fx.engine.idle();
    expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 1, review: true, description: 'trace every step' });
    const dir = join(fx.config.stateDir, 'candidates', ID);
    expect((await readdir(dir)).sort()).toEqual(['1.json', '1.txt']);
    expect(await readFile(join(dir, '1.txt'), 'utf8')).toContain('trace every step');
    expect(JSON.parse(await readFile(join(dir, '1.json'), 'utf8'))).toMatchObject({
      request: ID,
      candidate: 1,
      description: 'trace every step',
      provider: 'template',
    });
    // Nothing in the library changed.
    expect(await readFile(fx.config.mapFile, 'utf8')).toBe(mapBefore);
    expect(await installed(fx)).toBe(false);
    // A reconcile (as at a restart) keeps the draft and still installs nothing.
    await fx.engine.reconcileNow('test');
    await fx.engine.idle();
    expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 1 });
    expect(await installed(fx)).toBe(false);
    expect((await readdir(dir)).sort()).toEqual(['1.json', '1.txt']);

    const ok = await jitctl(['--socket', fx.socketPath, 'approve', ID.slice(0, 6)]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`approved ${ID} candidate 1`);
    await fx.engine.idle();
    expect(await record(fx)).toMatchObject({ state: 'done', resolution: 'generated', approved: 1 });
    expect(await readFile(join(fx.config.componentsDir, 'protocols', NAME), 'utf8')).toBe(await readFile(join(dir, '1.txt'), 'utf8'));
    expect(await mapEntry(fx)).toBe(NAME);
  });

  it('generation.review: required drafts every answer; without it (auto) the same answer installs at once', async () => {
    const fx = await start({ review: 'required' });
    expect((await jitctl(['--socket', fx.socketPath, 'answer', ID, 'held by config'])).code).toBe(0);
    await fx.engine.idle();
    expect(await record(fx)).toMatchObject({ state: 'draft', candidate: 1 });
    expect(await installed(fx)).toBe(false);
    await fx.close();
    const auto = await start();
    expect((await jitctl(['--socket', auto.socketPath, 'answer', ID, 'not held'])).code).toBe(0);
    await auto.engine.idle();
    expect(await record(auto)).toMatchObject({ state: 'done' });
    expect(await mapEntry(auto)).toBe(NAME);
  });

  it('reject drops a draft: nothing installed, not asked again', async () => {
    const fx = await start({ review: 'required' });
    await jitctl(['--socket', fx.socketPath, 'answer', ID, 'will be declined']);
    await fx.engine.idle();
    const r = await jitctl(['--socket', fx.socketPath, 'reject', ID]);
    expect(r.code).toBe(0);
    await fx.engine.idle();
    expect(await record(fx)).toMatchObject({ state: 'rejected' });
    expect(await installed(fx)).toBe(false);
    expect(await mapEntry(fx)).toBe(MISSING_FILE);
  });

  it('approve of a request that is not a draft, or of a candidate that does not exist, fails with one line and changes nothing', async () => {
    const fx = await start({ review: 'required' });
    const early = await jitctl(['--socket', fx.socketPath, 'approve', ID]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('only a draft can be approved (ESTATE)');
    await jitctl(['--socket', fx.socketPath, 'answer', ID, 'one candidate only']);
    await fx.engine.idle();
    const missing = await jitctl(['--socket', fx.socketPath, 'approve', ID, '--candidate', '7']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no candidate 7 (ENOCANDIDATE)');
    const bad = await jitctl(['--socket', fx.socketPath, 'approve', ID, '--candidate', 'x']);
    expect(bad.code).toBe(2);
    expect(await record(fx)).toMatchObject({ state: 'draft' });
    expect(await installed(fx)).toBe(false);
  });
});
