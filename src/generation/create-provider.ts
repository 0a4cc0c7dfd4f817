/**
 * Chooses the provider for `provider.kind`: the offline template, or the openai provider with
 * its key from the environment / systemd credential (never from the config file).
 *
 * The openai module (and with it the `openai` SDK) is imported only when the config asks for it:
 * loading the SDK cold takes about 120 ms, a fifth of jitd's whole start-up on a large library,
 * which the template provider has no reason to pay (issue 13, P3 in BENCHMARKS.md).
 */
import type { ProviderConfig } from '../library/config.js';
import { readApiKey, type CredentialsEnv } from './credentials.js';
import type { Provider } from './provider.js';
import { templateProvider } from './template.js';

/**
 * The provider `cfg` asks for.
 * @throws ConfigError for `openai` with neither a key nor a `baseURL`; CredentialError when
 * the credential file exists but cannot be read.
 */
export async function createProvider(cfg: ProviderConfig, env: CredentialsEnv = process.env): Promise<Provider> {
  switch (cfg.kind) {
    case 'template':
      return templateProvider;
    case 'openai': {
      const apiKey = readApiKey(env);
      const { createOpenAIProvider } = await import('./openai.js');
      return createOpenAIProvider(cfg, apiKey);
    }
  }
}
