/**
 * Invariant 3, "a crash after generation does not pay for a second call": the engine stages the
 * model's output durably before installing it, and installs from the staged file after a
 * restart or a failed install. The engine runs in-process on a real temp library; the provider
 * counts its calls.
 */
import { createHash } from 'node:crypto';
import { link, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import type { FsLayer } from '../../src/fsio/fs-layer.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import type { Provider } from '../../src/generation/provider.js';
import { Engine } from '../../src/jobs/engine.js';
import { loadConfig } from '../../src/library/config.js';
import { generatedName } from '../../src/library/names.js';
import { makeLibrary, type TempLibrary } from '../support/library-fixture.js';

const GOAL = 'DIAGNOSE_ROOT_CAUSE';
const GENERATED = generatedName(GOAL, 'protocol');

let lib: TempLibrary | undefined;
afterEach(async () => {
  await lib?.cleanup();
  lib = undefined;
});

function countingProvider(gate?: Promise<void>): Provider & { calls: number } {
  const p = {
    name: 'counting',
    calls: 0,
    async generate(input: { goal: string; description: string }) {
      p.calls++;
      await gate;
      return `Component for ${input.goal}: ${input.description}\n`;
    },
  };
  return p;
}

async function engineFor(l: TempLibrary, provider: Provider, fs: FsLayer = nodeFs): Promise<Engine> {
  const config = await loadConfig(l.configFile, {});
  const engine = new Engine({ fs, config, provider, log: pino({ level: 'silent' }) });
  await engine.start();
  return engine;
}

const waitingId = (e: Engine) => e.store.all().find((r) => r.goal === GOAL && r.state === 'waiting')!.id;
const mapNow = async (l: TempLibrary) => JSON.parse(await readFile(l.mapFile, 'utf8'));

describe('staged model output', () => {
  /** Stages one output behind an unparsable map (parked, not installed), stops, and answers the id and the map to restore. */
  async function stagedNotInstalled(l: TempLibrary, provider: Provider): Promise<{ id: string; good: string }> {
    const e1 = await engineFor(l, provider);
    const id = waitingId(e1);
    const good = await readFile(l.mapFile, 'utf8');
    await writeFile(l.mapFile, '{ "DIAGNOSE_ROOT_CAUSE": ');
    await e1.onMapHint();
    await e1.answer(id, 'Drill down from symptom to cause');
    await e1.idle();
    expect(e1.counts().queue.parked).toBe(1);
    await e1.stop();
    return { id, good };
  }
  const reporting: Provider = {
    name: 'openai',
    async generate() {
      return { text: 'Reported text.\n', model: 'm-staged', server: 'http://127.0.0.1:9/v1', usage: { promptTokens: 8, completionTokens: 2, totalTokens: 10 } };
    },
  };

  it('keeps the provenance of an output staged but not installed across a restart: the done record names what wrote it, not the new provider', async () => {
    lib = await makeLibrary();
    const { id, good } = await stagedNotInstalled(lib, reporting);
    expect((await readdir(join(lib.stateDir, 'staged'))).sort()).toEqual([`${id}.json`, `${id}.txt`]);
    await writeFile(lib.mapFile, good);
    const second = countingProvider();
    const e2 = await engineFor(lib, second);
    await e2.idle();
    expect(second.calls).toBe(0);
    const done = e2.store.get(id)!;
    expect(done.state).toBe('done');
    expect(done.installed).toEqual({
      provider: 'openai',
      model: 'm-staged',
      server: 'http://127.0.0.1:9/v1',
      usage: { promptTokens: 8, completionTokens: 2, totalTokens: 10 },
      at: expect.any(String),
    });
    // Durable in the record, not only in memory.
    expect(JSON.parse(await readFile(join(lib.stateDir, 'requests', `${id}.json`), 'utf8')).installed.model).toBe('m-staged');
    await e2.stop();
  });

  it('keeps the provenance when a crash left the component published but the map not repointed: the restart adopts it with what wrote it', async () => {
    lib = await makeLibrary();
    const { id, good } = await stagedNotInstalled(lib, reporting);
    // What a kill between the component's link and the map write leaves.
    await link(join(lib.stateDir, 'staged', `${id}.txt`), join(lib.componentsDir, 'protocols', GENERATED));
    await writeFile(lib.mapFile, good);
    const e2 = await engineFor(lib, countingProvider());
    await e2.idle();
    expect((await mapNow(lib))[GOAL].protocol).toBe(GENERATED);
    expect(e2.store.get(id)).toMatchObject({
      state: 'done',
      resolution: 'adopted',
      installed: { provider: 'openai', model: 'm-staged', usage: { totalTokens: 10 } },
      // jitd's own text, vouched for by the sidecar: a later regeneration may replace it.
      componentSha256: createHash('sha256').update('Reported text.\n').digest('hex'),
    });
    await e2.stop();
  });

  it("records no hash when a person edited the published component in place before the restart's close (the kept output is the same inode)", async () => {
    lib = await makeLibrary();
    const { id, good } = await stagedNotInstalled(lib, reporting);
    const component = join(lib.componentsDir, 'protocols', GENERATED);
    await link(join(lib.stateDir, 'staged', `${id}.txt`), component);
    await writeFile(component, 'A person rewrote this in place.\n'); // same inode: the staged text changes too
    await writeFile(lib.mapFile, good);
    const e2 = await engineFor(lib, countingProvider());
    await e2.idle();
    const done = e2.store.get(id)!;
    expect(done).toMatchObject({ state: 'done', resolution: 'adopted' });
    expect(done.componentSha256).toBeUndefined();
    expect(done.installed).toBeUndefined();
    await e2.stop();
  });

  it('installs a staged output without a sidecar (an older jitd) or with one naming another text, recording no provenance for it', async () => {
    lib = await makeLibrary();
    const { id, good } = await stagedNotInstalled(lib, reporting);
    const sidecar = join(lib.stateDir, 'staged', `${id}.json`);
    // A sidecar whose hash names another text: it is not this output's.
    const other = JSON.parse(await readFile(sidecar, 'utf8'));
    await writeFile(sidecar, JSON.stringify({ ...other, sha256: '0'.repeat(64) }));
    await writeFile(lib.mapFile, good);
    const e2 = await engineFor(lib, countingProvider());
    await e2.idle();
    expect(e2.store.get(id)).toMatchObject({ state: 'done', resolution: 'generated' });
    expect(e2.store.get(id)!.installed).toBeUndefined();
    expect(await readFile(join(lib.componentsDir, 'protocols', GENERATED), 'utf8')).toBe('Reported text.\n');
    await e2.stop();

    const lib2 = await makeLibrary();
    try {
      const staged = await stagedNotInstalled(lib2, reporting);
      await rm(join(lib2.stateDir, 'staged', `${staged.id}.json`));
      await writeFile(lib2.mapFile, staged.good);
      const e3 = await engineFor(lib2, countingProvider());
      await e3.idle();
      expect(e3.store.get(staged.id)).toMatchObject({ state: 'done' });
      expect(e3.store.get(staged.id)!.installed).toBeUndefined();
      await e3.stop();
    } finally {
      await lib2.cleanup();
    }
  });

  it('installs a staged output after a restart without calling the model again (output parked behind an unparsable map)', async () => {
    lib = await makeLibrary();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = countingProvider(gate);
    const e1 = await engineFor(lib, first);
    await e1.answer(waitingId(e1), 'Drill down from symptom to cause');
    // While the model works, a person leaves the map half-saved: the output cannot be installed.
    const good = await readFile(lib.mapFile, 'utf8');
    await writeFile(lib.mapFile, '{ "DIAGNOSE_ROOT_CAUSE": ');
    await e1.onMapHint();
    release();
    await e1.idle();
    expect(first.calls).toBe(1);
    expect(e1.counts().queue.parked).toBe(1);
    expect((await readdir(join(lib.stateDir, 'staged'))).filter((n) => n.endsWith('.txt'))).toHaveLength(1);
    await e1.stop();

    // Restarted (a deploy, a crash): the map is whole again; the staged output is installed.
    await writeFile(lib.mapFile, good);
    const second = countingProvider();
    const e2 = await engineFor(lib, second);
    await e2.idle();
    expect(second.calls).toBe(0);
    expect((await mapNow(lib))[GOAL].protocol).toBe(GENERATED);
    expect(await readFile(join(lib.componentsDir, 'protocols', GENERATED), 'utf8')).toContain('Drill down from symptom to cause');
    // Done: the staged copy stays as the request's kept output (the component's own inode).
    expect((await readdir(join(lib.stateDir, 'staged'))).filter((n) => n.endsWith('.txt'))).toHaveLength(1);
    await e2.stop();
  });

  it('retries a failed install from the staged output, not the model (ENOSPC on the component link)', async () => {
    lib = await makeLibrary();
    const paths = { mapFile: lib.mapFile, componentsDir: lib.componentsDir, stateDir: lib.stateDir };
    const fs = faultFs(nodeFs, { classify: libraryClassifier(paths), faults: [{ at: 'link:component#1', fault: { error: 'ENOSPC' } }] });
    const provider = countingProvider();
    const engine = await engineFor(lib, provider, fs);
    const id = waitingId(engine);
    await engine.answer(id, 'Drill down from symptom to cause');
    await engine.idle();
    expect(engine.store.get(id)?.state).toBe('failed');
    expect(engine.store.get(id)?.description).toBe('Drill down from symptom to cause');
    await engine.retry(id);
    await engine.idle();
    expect(engine.store.get(id)?.state).toBe('done');
    expect(provider.calls).toBe(1);
    expect((await mapNow(lib))[GOAL].protocol).toBe(GENERATED);
    await engine.stop();
  });

  it('does not install an earlier staged output for a new answer after the entry was reopened', async () => {
    lib = await makeLibrary();
    const provider = countingProvider();
    const engine = await engineFor(lib, provider);
    const id = waitingId(engine);
    // A stale staged file, as a request reopened after a crash could leave.
    await writeFile(join(lib.stateDir, 'staged', `${id}.txt`), 'stale output\n');
    await engine.staged.load();
    await engine.answer(id, 'The new description');
    await engine.idle();
    expect(provider.calls).toBe(1);
    expect(await readFile(join(lib.componentsDir, 'protocols', GENERATED), 'utf8')).toContain('The new description');
    await engine.stop();
  });
});
