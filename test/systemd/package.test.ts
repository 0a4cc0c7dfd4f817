/**
 * The installable package (issue 5): `npm pack` makes a tarball with only what runs — the built
 * daemon, the example library, the units and the native helper's sources — and `npm install -g`
 * of it into a fresh prefix gives working `jitd` and `jitctl` commands, the helper built.
 * Needs the npm registry for the runtime dependencies, as any install does.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILT = existsSync(join(ROOT, 'dist', 'bin', 'jitd.js'));

let work: string;
let tarball: string;
let files: string[] = [];
let prefix: string;

beforeAll(async () => {
  if (!BUILT) return;
  work = await mkdtemp(join(tmpdir(), 'jitd-pack-'));
  // --ignore-scripts: dist/ is built already (npm test builds first), and rebuilding it here
  // would rewrite files that other test files are running.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, maxBuffer: 16 << 20 });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info!.filename);
  files = info!.files.map((f) => f.path);
  prefix = join(work, 'prefix');
  await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work, maxBuffer: 16 << 20, timeout: 170_000 });
}, 180_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.runIf(BUILT)('npm pack and a global install', () => {
  it('packs the built daemon, units, example library and helper sources, and no tests, TypeScript sources or source maps', () => {
    expect(files).toContain('dist/bin/jitd.js');
    expect(files).toContain('dist/bin/jitctl.js');
    expect(files).toContain('systemd/jitd.service');
    expect(files).toContain('systemd/jitd@.service');
    expect(files).toContain('config/jitd.json');
    expect(files).toContain('src/fsio/native/exchange.c');
    // Fault injection is test code: it lives in test/support and is never built into dist/.
    expect(files.filter((f) => f.includes('fault-fs'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('test/') || f.endsWith('.ts') || f.endsWith('.map') || f.startsWith('bench/'))).toEqual([]);
  });

  it('installs into a fresh prefix with working jitd and jitctl commands and the native helper built', async () => {
    const bin = join(prefix, 'bin');
    const version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version as string;
    expect((await run(join(bin, 'jitd'), ['--version'])).stdout.trim()).toBe(version);
    expect((await run(join(bin, 'jitd'), ['--help'])).stdout).toMatch(/Usage: jitd/);
    expect((await run(join(bin, 'jitctl'), ['--help'])).stdout).toMatch(/jitctl/);
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'jitd', 'src', 'fsio', 'native', 'build', 'Release', 'exchange.node'))).toBe(true);
  });
});
