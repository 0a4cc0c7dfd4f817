/**
 * Set-up that undoes itself when the current test ends: each helper registers its teardown with
 * vitest's `onTestFinished` (run last-registered first, so a daemon stops before its library is
 * removed), instead of every test file keeping module variables and its own `afterEach` copy.
 * Call them inside a test (or a helper a test calls), not in `beforeAll`.
 */
import { onTestFinished } from 'vitest';
import { spawnDaemon, startDaemon, type RunningDaemon } from './daemon-process.js';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';
import { makeLibrary, type TempLibrary } from './library-fixture.js';
import { startOpenAIDaemon, type OpenAIDaemon } from './openai-daemon.js';

/** A temporary library (makeLibrary), removed when the test ends. */
export async function testLibrary(opts: Parameters<typeof makeLibrary>[0] = {}): Promise<TempLibrary> {
  const lib = await makeLibrary(opts);
  onTestFinished(() => lib.cleanup());
  return lib;
}

/** A jitd process ready on its socket (startDaemon), SIGKILLed when the test ends if still running. */
export async function testDaemon(...args: Parameters<typeof startDaemon>): Promise<RunningDaemon> {
  const daemon = await startDaemon(...args);
  onTestFinished(async () => void (await daemon.stop('SIGKILL')));
  return daemon;
}

/** A jitd process just spawned (spawnDaemon, not waited for), SIGKILLed when the test ends. */
export function testSpawn(...args: Parameters<typeof spawnDaemon>): RunningDaemon {
  const daemon = spawnDaemon(...args);
  onTestFinished(async () => void (await daemon.stop('SIGKILL')));
  return daemon;
}

/** A fake OpenAI-compatible server (startFakeOpenAI), stopped when the test ends. */
export async function testFakeOpenAI(...args: Parameters<typeof startFakeOpenAI>): Promise<FakeOpenAI> {
  const fake = await startFakeOpenAI(...args);
  onTestFinished(() => fake.stop());
  return fake;
}

/** An in-process daemon on the fake OpenAI server (startOpenAIDaemon), closed when the test ends. */
export async function testOpenAIDaemon(...args: Parameters<typeof startOpenAIDaemon>): Promise<OpenAIDaemon> {
  const d = await startOpenAIDaemon(...args);
  onTestFinished(() => d.close());
  return d;
}
