/**
 * Stays in its lane (invariant 6): component paths never resolve outside componentsDir —
 * unsafe names are refused, and symlinks pointing out are found by their real path.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { componentPath, escapesRoot, isInside, typeDir, UnsafePathError } from '../../src/library/paths.js';
import { publishComponent } from '../../src/install/publish-component.js';
import { compose } from '../../src/library/compose.js';
import { parseGoalMap } from '../../src/library/goal-map.js';
import { generatedName } from '../../src/library/names.js';
import { listTypeDir, scanComponents } from '../../src/library/component-index.js';

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

describe('symlinks under generated names, and type directories, pointing outside', () => {
  it("the scan and listTypeDir leave out a generated-name symlink that points outside, and keep a person's", async () => {
    const planted = join(components, 'protocols', generatedName('X', 'protocol'));
    await symlink(join(outside, 'secret.txt'), planted);
    try {
      const scan = await scanComponents(nodeFs, components);
      expect(scan.index.has('protocol', generatedName('X', 'protocol'))).toBe(false);
      expect(scan.index.has('protocol', 'leak.txt')).toBe(true); // compose refuses it at read time
      expect(await listTypeDir(nodeFs, join(components, 'protocols'))).not.toContain(generatedName('X', 'protocol'));
    } finally {
      await unlink(planted);
    }
  });

  it('listTypeDir lists a type directory that points outside as empty, and follows one that stays inside', async () => {
    await writeFile(join(outside, 'personas', 'p.txt'), 'outside\n');
    try {
      expect(await listTypeDir(nodeFs, join(components, 'personas'))).toEqual([]);
      await writeFile(join(components, 'real-formats', 'f.txt'), 'inside\n');
      expect(await listTypeDir(nodeFs, join(components, 'formats'))).toEqual(['f.txt']);
    } finally {
      await rm(join(outside, 'personas', 'p.txt'), { force: true });
      await rm(join(components, 'real-formats', 'f.txt'), { force: true });
    }
  });
});

describe('compose', () => {
  it('refuses a FIFO (directly or through a symlink) without blocking, and reads the regular files', async () => {
    const fifo = join(components, 'protocols', 'pipe.txt');
    execFileSync('mkfifo', [fifo]);
    await symlink(fifo, join(components, 'protocols', 'to-pipe.txt'));
    await writeFile(join(components, 'protocols', 'ok.txt'), 'Fine.\n');
    try {
      const map = parseGoalMap(JSON.stringify({ G: { protocol: 'pipe.txt' }, H: { protocol: 'to-pipe.txt' }, I: { protocol: 'ok.txt' } }));
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('compose blocked on a FIFO')), 2000).unref());
      const [g, h, i] = (await Promise.race([Promise.all(['G', 'H', 'I'].map((goal) => compose(nodeFs, components, map, goal))), timeout])) as Awaited<
        ReturnType<typeof compose>
      >[];
      expect(g!.parts.map((p) => p.status)).toEqual(['refused']);
      expect(h!.parts.map((p) => p.status)).toEqual(['refused']);
      expect(i!.text).toBe('Fine.\n');
    } finally {
      for (const n of ['pipe.txt', 'to-pipe.txt', 'ok.txt']) await rm(join(components, 'protocols', n), { force: true });
    }
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
