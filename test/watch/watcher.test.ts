/**
 * The library watcher (src/watch/watcher.ts), directly, on a real temp library with the real
 * chokidar and fs.watch: what it reports for a component added or removed, a type directory
 * added, a map saved as editors save it (temp file + rename), and what it keeps quiet about
 * (jitd temps, hidden files, editor litter, files beside the map). No timing is asserted: each
 * test waits, with a generous timeout, for the event it expects, then checks what was reported.
 * The lost-event detector is off, so every report comes from an event.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from '../../src/fsio/temp-files.js';
import { startWatcher, type LibraryWatcher } from '../../src/watch/watcher.js';
import { makeLibrary, type TempLibrary } from '../support/library-fixture.js';

const TIMEOUT_MS = 10_000;

interface Report {
  kind: 'map' | 'component' | 'typeDir' | 'error';
  dir?: string;
  name?: string;
  present?: boolean;
}

let lib: TempLibrary | undefined;
let watcher: LibraryWatcher | undefined;
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  await lib?.cleanup();
  lib = undefined;
});

/** A library and a ready watcher on it, with every report collected in order. */
async function watched() {
  lib = await makeLibrary({ prefix: 'jitd-watcher-' });
  const reports: Report[] = [];
  const waiters: { ok: (r: Report) => boolean; res: () => void }[] = [];
  const push = (r: Report) => {
    reports.push(r);
    for (const w of [...waiters]) {
      if (!w.ok(r)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.res();
    }
  };
  watcher = startWatcher(
    { mapFile: lib.mapFile, componentsDir: lib.componentsDir, stateDir: lib.stateDir, debounceMs: 50, lossCheckMs: 0 },
    {
      onMap: () => push({ kind: 'map' }),
      onComponent: (dir, name, present) => push({ kind: 'component', dir, name, present }),
      onTypeDir: (dir) => push({ kind: 'typeDir', dir }),
      onError: (err) => push({ kind: 'error', name: err.message }),
    },
  );
  await watcher.ready;
  /** Resolves at the first report (already seen or to come) that `ok` accepts; fails after TIMEOUT_MS. */
  const seen = (what: string, ok: (r: Report) => boolean): Promise<void> => {
    if (reports.some(ok)) return Promise.resolve();
    return new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no report of ${what} within ${TIMEOUT_MS} ms; saw ${JSON.stringify(reports)}`)), TIMEOUT_MS);
      waiters.push({
        ok,
        res: () => {
          clearTimeout(timer);
          res();
        },
      });
    });
  };
  const component = (dir: string, name: string, present: boolean) => (r: Report) =>
    r.kind === 'component' && r.dir === dir && r.name === name && r.present === present;
  return { lib, watcher, reports, seen, component };
}

describe('startWatcher', () => {
  it('reports a component file created in a type directory as present, with its directory and name', async () => {
    const { lib, reports, seen, component } = await watched();
    await writeFile(join(lib.componentsDir, 'protocols', 'new_one.txt'), 'A protocol.\n');
    await seen('protocols/new_one.txt added', component('protocols', 'new_one.txt', true));
    expect(reports.filter((r) => r.kind === 'component' && r.name === 'new_one.txt').every((r) => r.dir === 'protocols')).toBe(true);
    expect(reports.filter((r) => r.kind === 'error')).toEqual([]);
  });

  it('reports a component file removed from a type directory as not present', async () => {
    const { lib, seen, component } = await watched();
    await rm(join(lib.componentsDir, 'personas', 'sre.txt'));
    await seen('personas/sre.txt removed', component('personas', 'sre.txt', false));
  });

  it('reports a component renamed within a type directory as the old name gone and the new one present', async () => {
    const { lib, seen, component } = await watched();
    await rename(join(lib.componentsDir, 'protocols', 'review.txt'), join(lib.componentsDir, 'protocols', 'review_v2.txt'));
    await seen('review.txt gone', component('protocols', 'review.txt', false));
    await seen('review_v2.txt present', component('protocols', 'review_v2.txt', true));
  });

  it('reports a new type directory, then the files created in it', async () => {
    const { lib, seen, component } = await watched();
    await mkdir(join(lib.componentsDir, 'formats'));
    await seen('formats/ added', (r) => r.kind === 'typeDir' && r.dir === 'formats');
    // The new directory is watched once its rescan was asked for; a file written now is an event in it.
    await watcher!.syncCookie(TIMEOUT_MS);
    await writeFile(join(lib.componentsDir, 'formats', 'table.txt'), 'A table.\n');
    await seen('formats/table.txt added', component('formats', 'table.txt', true));
  });

  it('reports a map saved as editors do (write a temp file beside it, rename it over the map) as a map change', async () => {
    const { lib, reports, seen } = await watched();
    const temp = join(lib.root, 'config', 'goal_map.json.tmp-save');
    await writeFile(temp, `${JSON.stringify({ REVIEW: { protocol: 'review.txt' } }, null, 2)}\n`);
    await rename(temp, lib.mapFile);
    await seen('the map saved', (r) => r.kind === 'map');
    expect(reports.filter((r) => r.kind === 'component' || r.kind === 'typeDir')).toEqual([]);
  });

  it('reports a map rewritten in place as a map change', async () => {
    const { lib, seen } = await watched();
    await writeFile(lib.mapFile, `${JSON.stringify({ OTHER: { persona: 'sre.txt' } })}\n`);
    await seen('the map rewritten', (r) => r.kind === 'map');
  });

  it('does not report jitd temps, editor litter, or other files beside the map', async () => {
    const { lib, reports, seen, component } = await watched();
    const protocols = join(lib.componentsDir, 'protocols');
    await writeFile(join(protocols, `${TEMP_PREFIX}abc123`), 'half written\n');
    await writeFile(join(protocols, 'review.txt.swp'), 'vim\n');
    await writeFile(join(protocols, 'notes.txt~'), 'backup\n');
    await writeFile(join(lib.root, 'config', 'notes.md'), 'beside the map\n');
    await writeFile(join(lib.root, 'config', `${TEMP_PREFIX}map`), 'a jitd temp beside the map\n');
    // A real change after them all: once it is reported, the ignored ones have had their chance.
    await writeFile(join(protocols, 'sentinel.txt'), 'seen\n');
    await seen('the sentinel', component('protocols', 'sentinel.txt', true));
    await watcher!.syncCookie(TIMEOUT_MS);
    expect(reports.filter((r) => r.kind !== 'map' && !(r.kind === 'component' && r.name === 'sentinel.txt'))).toEqual([]);
    expect(reports.filter((r) => r.kind === 'map')).toEqual([]);
  });

  // A full scan (component-index.ts) skips every dot-name; events must too, or the engine's index
  // takes in `.hidden.txt` until the next rescan (this test found it).
  it('does not report a hidden file created in a type directory', async () => {
    const { lib, reports, seen, component } = await watched();
    const protocols = join(lib.componentsDir, 'protocols');
    await writeFile(join(protocols, '.hidden.txt'), 'not a component\n');
    await writeFile(join(protocols, 'sentinel.txt'), 'seen\n');
    await seen('the sentinel', component('protocols', 'sentinel.txt', true));
    await watcher!.syncCookie(TIMEOUT_MS);
    expect(reports.filter((r) => r.kind === 'component' && r.name === '.hidden.txt')).toEqual([]);
  });

  it('does not report anything written under the state directory', async () => {
    const { lib, reports, seen } = await watched();
    await mkdir(lib.stateDir, { recursive: true });
    await writeFile(join(lib.stateDir, 'requests.json'), '{}\n');
    await writeFile(lib.mapFile, '{}\n');
    await seen('the map', (r) => r.kind === 'map');
    await watcher!.syncCookie(TIMEOUT_MS);
    expect(reports.filter((r) => r.kind !== 'map')).toEqual([]);
  });
});
