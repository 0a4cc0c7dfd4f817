/** The package version, read once from package.json (two levels above this module, in src/ and dist/). */
import { readFile } from 'node:fs/promises';

let cached: Promise<string> | undefined;

/** jitd's version from package.json, or `unknown` if it cannot be read. */
export function packageVersion(): Promise<string> {
  cached ??= readFile(new URL('../../package.json', import.meta.url), 'utf8')
    .then((text) => {
      const v = (JSON.parse(text) as { version?: unknown }).version;
      return typeof v === 'string' ? v : 'unknown';
    })
    .catch(() => 'unknown');
  return cached;
}
