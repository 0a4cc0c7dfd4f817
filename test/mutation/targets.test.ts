// `npm run mutate` reaches every file of the core: each source file the Stryker config mutates
// has a target (with tests that exist), so a new file of the protocol cannot go unscored.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module without types (run by node directly)
import { targets } from './targets.mjs';

const listed: { file: string; tests: string[] }[] = targets;

describe('npm run mutate targets', () => {
  it('name every source file under the folders stryker.config.json mutates, once each', () => {
    const config = JSON.parse(readFileSync('stryker.config.json', 'utf8')) as { mutate: string[] };
    const files = config.mutate.flatMap((glob) => {
      const m = /^(src\/[a-z]+)\/\*\*\/\*\.ts$/.exec(glob);
      if (!m) return [glob];
      return readdirSync(m[1]!, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(m[1]!, f));
    });
    expect(files.length).toBeGreaterThan(20);
    expect(listed.map((t) => t.file).sort()).toEqual([...new Set(files)].sort());
  });

  it('give each file tests that exist', () => {
    const all = readdirSync('test', { recursive: true, encoding: 'utf8' }).map((f) => `test/${f}`);
    for (const t of listed)
      for (const glob of t.tests) {
        const re = new RegExp(`^${glob.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
        expect(
          all.some((f) => re.test(f)),
          `${t.file}: ${glob}`,
        ).toBe(true);
      }
  });
});
