/**
 * Configuration (contract §2): defaults, paths relative to the config file, systemd directories, and
 * readable errors that name each bad key.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveConfig } from '../../src/library/config.js';

const FILE = '/srv/lib/config/jitd.json';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it("fills every default, with paths resolved against the config file's directory", () => {
    const c = resolveConfig({}, FILE, {});
    expect(c).toMatchObject({
      configFile: FILE,
      mapFile: '/srv/lib/config/goal_map.json',
      componentsDir: '/srv/lib/components',
      stateDir: '/srv/lib/.jitd',
      socketPath: '/srv/lib/.jitd/jitd.sock',
      orphans: 'quarantine',
      provider: { kind: 'template' },
      log: { level: 'info' },
    });
    expect(c.generation.concurrency).toBeGreaterThanOrEqual(1);
    expect(c.debounceMs).toBeGreaterThanOrEqual(0);
    expect(c.socketGroup).toBeUndefined();
  });

  it('resolves relative paths against the config file, keeps absolute ones', () => {
    const c = resolveConfig({ mapFile: 'maps/m.json', componentsDir: '/abs/components', stateDir: '../state', socketPath: 'sock' }, FILE, {});
    expect(c.mapFile).toBe('/srv/lib/config/maps/m.json');
    expect(c.componentsDir).toBe('/abs/components');
    expect(c.stateDir).toBe('/srv/lib/state');
    expect(c.socketPath).toBe('/srv/lib/config/sock');
  });

  it("uses systemd's STATE_DIRECTORY and RUNTIME_DIRECTORY (first of a list) when the config sets no stateDir", () => {
    const c = resolveConfig({}, FILE, { STATE_DIRECTORY: '/var/lib/jitd:/var/lib/other', RUNTIME_DIRECTORY: '/run/jitd' });
    expect(c.stateDir).toBe('/var/lib/jitd');
    expect(c.socketPath).toBe('/run/jitd/jitd.sock');
  });

  it("prefers the config's stateDir over STATE_DIRECTORY, and puts the socket under it", () => {
    const c = resolveConfig({ stateDir: '/data/jitd' }, FILE, { STATE_DIRECTORY: '/var/lib/jitd', RUNTIME_DIRECTORY: '/run/jitd' });
    expect(c.stateDir).toBe('/data/jitd');
    expect(c.socketPath).toBe('/data/jitd/jitd.sock');
  });

  it('names an unknown key, at any depth', () => {
    const e = errorOf(() => resolveConfig({ mapfile: 'x', provider: { kind: 'template', modle: 'x' } }, FILE, {}));
    expect(e.message).toContain(FILE);
    expect(e.message).toContain('mapfile: unknown key');
    expect(e.message).toContain('provider.modle: unknown key');
  });

  it('names each key with a bad value, one per line', () => {
    const e = errorOf(() => resolveConfig({ orphans: 'shred', debounceMs: -1, provider: { kind: 'gpt' }, log: { level: 'loud' } }, FILE, {}));
    const lines = e.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
    expect(lines.some((l) => l.startsWith('orphans:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('debounceMs:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('provider.kind:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('log.level:'))).toBe(true);
    expect(e.code).toBe('ECONFIG');
  });

  it('refuses a socket path longer than a Unix socket allows, naming socketPath', () => {
    const e = errorOf(() => resolveConfig({ socketPath: `/${'x'.repeat(110)}` }, FILE, {}));
    expect(e.message).toContain('socketPath');
    const derived = errorOf(() => resolveConfig({ stateDir: `/${'d'.repeat(110)}` }, FILE, {}));
    expect(derived.message).toContain('socketPath');
  });

  it('refuses a config that is not an object', () => {
    expect(errorOf(() => resolveConfig([], FILE, {})).message).toContain('(top level)');
  });
});

describe('loadConfig', () => {
  it('reports a missing file, and a file that is not JSON, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jitd-config-'));
    try {
      await expect(loadConfig(join(dir, 'nope.json'), {})).rejects.toThrow(/cannot read config .*nope\.json/);
      await writeFile(join(dir, 'bad.json'), '{ not json');
      await expect(loadConfig(join(dir, 'bad.json'), {})).rejects.toThrow(/invalid config .*bad\.json: not JSON/);
      await writeFile(join(dir, 'ok.json'), '{"orphans":"keep"}');
      const c = await loadConfig(join(dir, 'ok.json'), {});
      expect(c.orphans).toBe('keep');
      expect(c.mapFile).toBe(join(dir, 'goal_map.json'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
