/**
 * Invariant 3, "a crash after generation does not pay for a second call": the engine stages the
 * model's output durably before installing it, and installs from the staged file after a
 * restart or a failed install. The engine runs in-process on a real temp library; the provider
 * counts its calls.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
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
