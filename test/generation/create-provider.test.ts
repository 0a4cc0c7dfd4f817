import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProvider } from '../../src/generation/create-provider.js';
import { readApiKey } from '../../src/generation/credentials.js';
import type { ProviderConfig } from '../../src/library/config.js';

const base: ProviderConfig = { kind: 'template', model: 'm', timeoutMs: 1_000, maxRetries: 0, maxOutputBytes: 1_000 };

function credDir(content?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'jitd-cred-'));
  if (content !== undefined) writeFileSync(join(dir, 'openai-api-key'), content);
  return dir;
}

describe('readApiKey', () => {
  it('prefers OPENAI_API_KEY, trimmed', () => {
    expect(readApiKey({ OPENAI_API_KEY: ' sk-env \n', CREDENTIALS_DIRECTORY: credDir('sk-file') })).toBe('sk-env');
  });

  it('falls back to $CREDENTIALS_DIRECTORY/openai-api-key, trimmed', () => {
    expect(readApiKey({ CREDENTIALS_DIRECTORY: credDir('sk-file\n') })).toBe('sk-file');
    expect(readApiKey({ OPENAI_API_KEY: '  ', CREDENTIALS_DIRECTORY: credDir('sk-file') })).toBe('sk-file');
  });

  it('returns undefined when neither is there (missing or blank file)', () => {
    expect(readApiKey({})).toBeUndefined();
    expect(readApiKey({ CREDENTIALS_DIRECTORY: credDir() })).toBeUndefined();
    expect(readApiKey({ CREDENTIALS_DIRECTORY: credDir('\n') })).toBeUndefined();
  });

  it('reports an unreadable credential instead of pretending there is none', () => {
    const dir = credDir();
    mkdirSync(join(dir, 'openai-api-key')); // a directory: EISDIR
    expect(() => readApiKey({ CREDENTIALS_DIRECTORY: dir })).toThrow(/cannot read the API key credential/);
  });
});

describe('createProvider', () => {
  it('chooses the template provider for kind template', async () => {
    expect((await createProvider(base, {})).name).toBe('template');
  });

  it('chooses the openai provider with the key from the environment', async () => {
    expect((await createProvider({ ...base, kind: 'openai' }, { OPENAI_API_KEY: 'sk-x' })).name).toBe('openai');
  });

  it('accepts a baseURL without a key (local server)', async () => {
    expect((await createProvider({ ...base, kind: 'openai', baseURL: 'http://127.0.0.1:8080/v1' }, {})).name).toBe('openai');
  });

  it('refuses openai with neither key nor baseURL, with a ConfigError naming both sources', async () => {
    await expect(createProvider({ ...base, kind: 'openai' }, {})).rejects.toThrow(
      expect.objectContaining({ code: 'ECONFIG', message: expect.stringMatching(/OPENAI_API_KEY or LoadCredential=openai-api-key/) }),
    );
  });
});

describe('start-up cost of the provider', () => {
  // A resolve hook in a child process reports every module loaded from the openai package.
  const hook = `export async function resolve(s, c, n) { const r = await n(s, c); if (r.url.includes('/node_modules/openai/')) process._rawDebug('LOADED openai'); return r; }`;
  const loads = (kind: 'template' | 'openai'): boolean => {
    const dist = resolve('dist');
    const script = `
      await import(${JSON.stringify(join(dist, 'daemon/run-daemon.js'))});
      const { createProvider } = await import(${JSON.stringify(join(dist, 'generation/create-provider.js'))});
      await createProvider({ kind: '${kind}', model: 'm', timeoutMs: 1000, maxRetries: 0, maxOutputBytes: 1000, baseURL: 'http://127.0.0.1:9/v1' }, {});`;
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
    const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stderr.includes('LOADED openai');
  };

  it('the daemon with the template provider never loads the openai SDK (about 120 ms of start-up)', () => {
    expect(loads('template')).toBe(false);
  });

  it('the openai provider loads the SDK when it is created (the control for the test above)', () => {
    expect(loads('openai')).toBe(true);
  });
});
