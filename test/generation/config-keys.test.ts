/** The generation keys of the config (contract §2): `generation.contextBytes` and `generation.promptsDir`. */
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/library/config.js';

const FILE = '/srv/lib/config/jitd.json';

describe('generation config keys', () => {
  it('default to a 32 KiB context budget and prompts/ beside the config file', () => {
    const c = resolveConfig({}, FILE, {});
    expect(c.generation.contextBytes).toBe(32_768);
    expect(c.generation.promptsDir).toBe('/srv/lib/config/prompts');
  });

  it('resolve a relative promptsDir against the config directory and keep an absolute one', () => {
    expect(resolveConfig({ generation: { promptsDir: '../house-prompts' } }, FILE, {}).generation.promptsDir).toBe('/srv/lib/house-prompts');
    expect(resolveConfig({ generation: { promptsDir: '/etc/jitd/prompts' } }, FILE, {}).generation.promptsDir).toBe('/etc/jitd/prompts');
  });

  it('accept a budget of 0 (no library context) and refuse a negative or fractional one, naming the key', () => {
    expect(resolveConfig({ generation: { contextBytes: 0 } }, FILE, {}).generation.contextBytes).toBe(0);
    for (const bad of [-1, 1.5, '32k']) {
      expect(() => resolveConfig({ generation: { contextBytes: bad } }, FILE, {})).toThrow(ConfigError);
      expect(() => resolveConfig({ generation: { contextBytes: bad } }, FILE, {})).toThrow(/generation\.contextBytes/);
    }
    expect(() => resolveConfig({ generation: { promptsDir: '' } }, FILE, {})).toThrow(/generation\.promptsDir/);
  });
});
