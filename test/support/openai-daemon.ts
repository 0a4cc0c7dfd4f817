/**
 * A daemon fixture whose provider is the real openai client talking to the fake OpenAI server
 * (fake-openai.ts): for tests that need the model to answer differently each time (regenerate).
 */
import { resolveConfig } from '../../src/library/config.js';
import { createOpenAIProvider } from '../../src/generation/openai.js';
import { startDaemonFixture, type DaemonFixture, type FixtureOptions } from './daemon-fixture.js';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';

export interface OpenAIDaemon {
  fx: DaemonFixture;
  fake: FakeOpenAI;
  /** Closes the daemon, then the fake server. */
  close(): Promise<void>;
}

/** Starts the fake OpenAI server and a daemon fixture whose provider calls it. */
export async function startOpenAIDaemon(opts: FixtureOptions = {}): Promise<OpenAIDaemon> {
  const fake = await startFakeOpenAI();
  const cfg = resolveConfig(
    { provider: { kind: 'openai', baseURL: fake.baseURL, model: 'test-model', maxRetries: 0, timeoutMs: 5000 } },
    '/x/config/jitd.json',
    {},
  );
  const fx = await startDaemonFixture({ ...opts, provider: createOpenAIProvider(cfg.provider, 'sk-test') });
  return {
    fx,
    fake,
    async close() {
      await fx.close();
      await fake.stop();
    },
  };
}
