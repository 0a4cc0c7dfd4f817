/**
 * Stays in its lane (invariant 6): component paths never resolve outside componentsDir —
 * unsafe names are refused, and symlinks pointing out are found by their real path.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { componentPath, escapesRoot, isInside, typeDir, UnsafePathError } from '../../src/library/paths.js';
import { publishComponent } from '../../src/install/publish-component.js';
import { scanComponents } from '../../src/reconcile/scan-components.js';

let root: string;
let components: string;
let outside: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'jitd-paths-'));
  components = join(root, 'components');
  outside = join(root, 'outside');
  await mkdir(join(components, 'protocols'), { recursive: true });
  await mkdir(join(outside, 'personas'), { recursive: true });
  await mkdir(join(components, 'real-formats'), { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'secret\n');
  await symlink(join(outside, 'personas'), join(components, 'personas')); // points out
  await symlink(join(components, 'real-formats'), join(components, 'formats')); // stays inside
  await symlink(join(outside, 'secret.txt'), join(components, 'protocols', 'leak.txt'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('componentPath', () => {
  it('joins <componentsDir>/<type>s/<file>', () => {
    expect(componentPath('/lib/components', 'protocol', 'a.txt')).toBe('/lib/components/protocols/a.txt');
    expect(typeDir('/lib/components', 'persona')).toBe('/lib/components/personas');
  });

  it.each([
    ['protocol', '../../etc/passwd'],
    ['protocol', '/etc/passwd'],
    ['protocol', 'a\\b'],
    ['protocol', 'nul\0'],
    ['protocol', '..'],
    ['protocol', 'x'.repeat(300)],
    ['../x', 'a.txt'],
    ['a/b', 'a.txt'],
  ])('refuses type %j with file %j', (type, file) => {
    expect(() => componentPath('/lib/components', type, file)).toThrow(UnsafePathError);
  });
});

describe('escapesRoot', () => {
  it('accepts a path inside, existing or not', async () => {
    expect(await escapesRoot(nodeFs, components, join(components, 'protocols', 'a.txt'))).toBeUndefined();
    expect(await escapesRoot(nodeFs, components, join(components, 'newtypes', 'a.txt'))).toBeUndefined();
    expect(await escapesRoot(nodeFs, components, join(components, 'formats', 'a.txt'))).toBeUndefined();
  });

  it('refuses a path under a symlinked type directory that points outside', async () => {
    const why = await escapesRoot(nodeFs, components, join(components, 'personas', 'a.txt'));
    expect(why).toContain(outside);
  });

  it('refuses a component that is itself a symlink pointing outside', async () => {
    expect(await escapesRoot(nodeFs, components, join(components, 'protocols', 'leak.txt'))).toContain('secret.txt');
  });

  it('publishing through a type directory that points outside is refused and writes nothing there', async () => {
    await expect(publishComponent(nodeFs, components, 'persona', 'autogen_persona_for_x.txt', 'x\n')).rejects.toThrow(UnsafePathError);
    expect(await nodeFs.readdir(join(outside, 'personas'))).toEqual([]);
  });

  it('the scan refuses the outward symlinked type directory and follows the inward one', async () => {
    const scan = await scanComponents(nodeFs, components);
    expect(scan.refused).toEqual([join(components, 'personas')]);
    expect(scan.index.dirs().sort()).toEqual(['formats', 'protocols', 'real-formats']);
  });
});

describe('isInside', () => {
  it('is lexical and exact about prefixes', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
  });
});
