/**
 * Chooses the provider for `provider.kind`: the offline template, or the openai provider with
 * its key from the environment / systemd credential (never from the config file).
 */
import type { ProviderConfig } from '../library/config.js';
import { readApiKey, type CredentialsEnv } from './credentials.js';
import { createOpenAIProvider } from './openai.js';
import type { Provider } from './provider.js';
import { templateProvider } from './template.js';

/**
 * The provider `cfg` asks for.
 * @throws ConfigError for `openai` with neither a key nor a `baseURL`; CredentialError when
 * the credential file exists but cannot be read.
 */
export function createProvider(cfg: ProviderConfig, env: CredentialsEnv = process.env): Provider {
  switch (cfg.kind) {
    case 'template':
      return templateProvider;
    case 'openai':
      return createOpenAIProvider(cfg, readApiKey(env));
  }
}
