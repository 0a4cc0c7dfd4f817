/**
 * One daemon per library (contract §4.7, issue 12 item 3) with two real daemons: a second config
 * with its own map but the first's components tree, or its state directory, is refused at start
 * with a message naming what is shared and the holder's pid; two distinct libraries both run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jitctl, startDaemon, type RunningDaemon } from '../support/daemon-process.js';
import { makeLibrary, type TempLibrary } from '../support/library-fixture.js';

const libs: TempLibrary[] = [];
const daemons: RunningDaemon[] = [];

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop('SIGKILL');
  for (const l of libs.splice(0)) await l.cleanup();
});

async function library(): Promise<TempLibrary> {
  const lib = await makeLibrary();
  libs.push(lib);
  return lib;
}

/** A second config in `lib.root/second/` with its own map, and `paths` taken from elsewhere. */
async function secondConfig(lib: TempLibrary, paths: { componentsDir?: string; stateDir?: string }) {
  const dir = join(lib.root, 'second');
  await mkdir(join(dir, 'components', 'protocols'), { recursive: true });
  const mapFile = join(dir, 'other_map.json');
  await writeFile(mapFile, `${JSON.stringify({ OTHER: { protocol: 'other.txt' } })}\n`);
  const socketPath = join(dir, 'jitd.sock');
  const configFile = join(dir, 'jitd.json');
  await writeFile(
    configFile,
    JSON.stringify({
      mapFile,
      componentsDir: paths.componentsDir ?? join(dir, 'components'),
      stateDir: paths.stateDir ?? join(dir, '.jitd'),
      socketPath,
      log: { level: 'debug' },
    }),
  );
  return { configFile, socketPath };
}

async function run(configFile: string, socketPath: string): Promise<RunningDaemon> {
  const d = await startDaemon(configFile, socketPath);
  daemons.push(d);
  return d;
}

describe('two daemons on one components tree or state directory', () => {
  it('refuses a second daemon whose config has another map but the same componentsDir, naming the tree and the pid', async () => {
    const lib = await library();
    const first = await run(lib.configFile, lib.socketPath);
    const second = await secondConfig(lib, { componentsDir: lib.componentsDir });
    const refused = await run(second.configFile, second.socketPath);
    const { code } = await refused.exit;
    expect(code).toBe(1);
    const message = refused.stderr.join('');
    expect(message).toContain(`the same components tree ${lib.componentsDir}`);
    expect(message).toContain(`pid ${first.child.pid}`);
    // The first one is unharmed and still the only one at work in the tree.
    expect((await jitctl(['--socket', lib.socketPath, 'status'])).code).toBe(0);
  });

  it('refuses a second daemon that shares only the state directory', async () => {
    const lib = await library();
    const first = await run(lib.configFile, lib.socketPath);
    const second = await secondConfig(lib, { stateDir: lib.stateDir });
    const refused = await run(second.configFile, second.socketPath);
    expect((await refused.exit).code).toBe(1);
    expect(refused.stderr.join('')).toContain(`the same state directory ${lib.stateDir}`);
    expect(refused.stderr.join('')).toContain(`pid ${first.child.pid}`);
  });

  it('starts both daemons of two distinct libraries', async () => {
    const a = await library();
    const b = await library();
    await run(a.configFile, a.socketPath);
    await run(b.configFile, b.socketPath);
    expect((await jitctl(['--socket', a.socketPath, 'status'])).code).toBe(0);
    expect((await jitctl(['--socket', b.socketPath, 'status'])).code).toBe(0);
  });
});
