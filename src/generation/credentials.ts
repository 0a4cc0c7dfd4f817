/**
 * Where the OpenAI API key comes from (contract §2): `OPENAI_API_KEY`, else the systemd credential
 * `$CREDENTIALS_DIRECTORY/openai-api-key` (`LoadCredential=openai-api-key:/path`). Never from
 * the config file. The key is returned to the caller only; nothing here logs it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JitdError } from '../fsio/errors.js';

/** The credential file name under `$CREDENTIALS_DIRECTORY`. */
const CREDENTIAL_NAME = 'openai-api-key';

/** The environment this module reads. `process.env` fits. */
export interface CredentialsEnv {
  OPENAI_API_KEY?: string | undefined;
  CREDENTIALS_DIRECTORY?: string | undefined;
}

/** The credential file exists but cannot be read (permissions, a directory...). */
export class CredentialError extends JitdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECREDENTIAL', message, options);
  }
}

/**
 * The API key, trimmed: `OPENAI_API_KEY` when set and non-blank, else the credential file.
 * `undefined` when neither is there (a missing or blank file counts as absent).
 * @throws CredentialError when the credential file exists but cannot be read.
 */
export function readApiKey(env: CredentialsEnv = process.env): string | undefined {
  const fromEnv = env.OPENAI_API_KEY?.trim();
  if (fromEnv) return fromEnv;
  const dir = env.CREDENTIALS_DIRECTORY?.trim();
  if (!dir) return undefined;
  const file = join(dir, CREDENTIAL_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CredentialError(`cannot read the API key credential ${file} (${code ?? 'error'})`, { cause: err });
  }
  return text.replace(/^\uFEFF/, '').trim() || undefined;
}
