/**
 * A huge map (issue 7, item 7): 50,000 goals, each with one existing component, ~1% of them
 * also naming a missing one. Start-up completes; `jitctl pending --json` lists every waiting
 * request; the raw `pending` method pages (a `next` cursor while more remain) instead of
 * building one giant reply. Start-up time and RSS are reported, not asserted.
 */
import { linkSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningDaemon } from '../support/daemon-process.js';
import { ctl, kill, makeHardLib, output, rssKiB, start, waitFor, type HardLib } from './support.js';
import { RawClient } from '../support/raw-client.js';

const GOALS = 50_000;
const MISSING_EVERY = 83; // ~1.2%: 603 waiting requests, more than one default page (500)
const TYPES = ['protocol', 'persona', 'format', 'checklist', 'example'];

let lib: HardLib | undefined;
let daemon: RunningDaemon | undefined;
afterEach(async () => {
  await kill(daemon);
  daemon = undefined;
  await lib?.cleanup();
  lib = undefined;
});

describe('a map of 50,000 goals', () => {
  it('starts up, lists every waiting request through jitctl, and pages the raw pending method with a next cursor', async () => {
    const map: Record<string, Record<string, string>> = {};
    const files: string[] = [];
    let missing = 0;
    for (let i = 0; i < GOALS; i++) {
      const type = TYPES[i % TYPES.length] as string;
      const file = `c_${i}.txt`;
      const entry: Record<string, string> = { [type]: file };
      files.push(`${type}s/${file}`);
      if (i % MISSING_EVERY === 0) {
        entry[TYPES[(i + 1) % TYPES.length] as string] = `missing_${i}.txt`;
        missing++;
      }
      map[`GOAL_${String(i).padStart(5, '0')}`] = entry;
    }
    lib = await makeHardLib({ map, components: {}, config: { rescanIntervalMs: 0 } });
    for (const t of TYPES) await mkdir(join(lib.componentsDir, `${t}s`), { recursive: true });
    const t0 = performance.now();
    // One file, hard-linked under 50,000 names (one syscall each, synchronous: much faster than
    // 50,000 writes through the thread pool); to jitd they are 50,000 directory entries.
    const proto = join(lib.outer, 'component.txt');
    writeFileSync(proto, 'A component.\n');
    for (const f of files) linkSync(proto, join(lib.componentsDir, f));
    const writeMs = performance.now() - t0;

    const t1 = performance.now();
    daemon = await start(lib);
    // startDaemon gives up waiting after 30 s; a slower start-up is still waited for here.
    await waitFor('jitd ready', () => daemon!.logs.some((l) => l.includes('"jitd ready"')) || daemon!.child.exitCode !== null, 120_000, 100);
    const startMs = performance.now() - t1;
    expect(daemon.child.exitCode, output(daemon).slice(-1500)).toBeNull();
    const rss = await rssKiB(daemon.child.pid!);

    const st = JSON.parse((await ctl(lib, ['status', '--json'])).stdout);
    expect(st.counts.goals).toBe(GOALS);
    expect(st.counts.components).toBe(GOALS);
    expect(st.counts.missing).toBe(missing);
    expect(st.counts.requests.waiting).toBe(missing);
    expect(st.mapError).toBeNull();

    // jitctl follows the pages: every waiting request, each once.
    const t2 = performance.now();
    const all = await ctl(lib, ['pending', '--json']);
    const pendingMs = performance.now() - t2;
    expect(all.code, all.stderr).toBe(0);
    const listed = JSON.parse(all.stdout) as { id: string; filename: string; state: string }[];
    expect(listed).toHaveLength(missing);
    expect(new Set(listed.map((r) => r.id)).size).toBe(missing);
    expect(listed.every((r) => r.state === 'waiting' && r.filename.startsWith('missing_'))).toBe(true);

    // The raw method pages: `limit` per reply and a `next` cursor while more remain.
    const c = await RawClient.connect(lib.socketPath);
    const seen = new Set<string>();
    let pages = 0;
    let biggest = 0;
    let after: string | undefined;
    do {
      const before = c.responses.length;
      const r = await c.call('pending', { limit: 100, ...(after ? { after } : {}) }, 30_000);
      expect(r.result, JSON.stringify(r.error)).toBeDefined();
      expect(r.result.requests.length).toBeLessThanOrEqual(100);
      expect(r.result.total).toBe(missing);
      biggest = Math.max(biggest, JSON.stringify(c.responses[before]).length);
      for (const q of r.result.requests) seen.add(q.id);
      pages++;
      if (seen.size < missing) expect(typeof r.result.next).toBe('string');
      after = r.result.next;
    } while (after);
    expect(seen.size).toBe(missing);
    expect(pages).toBe(Math.ceil(missing / 100));
    // Without a limit: the default page (500), still with a cursor for the rest.
    const first = await c.call('pending', {}, 30_000);
    expect(first.result.requests).toHaveLength(500);
    expect(first.result.next).toBeTruthy();
    c.close();

    // compose of one goal out of 50,000 still works.
    const composed = await ctl(lib, ['compose', 'GOAL_00001']);
    expect(composed.stdout).toContain('A component.');
    const mapText = await readFile(lib.mapFile, 'utf8');
    console.log(
      `huge-map: ${GOALS} goals (${(mapText.length / 1e6).toFixed(1)} MB map), ${GOALS} components written in ${(writeMs / 1000).toFixed(1)} s, ` +
        `start-up to ready ${(startMs / 1000).toFixed(1)} s, RSS after start-up ${(rss / 1024).toFixed(0)} MB, ${missing} waiting requests, ` +
        `jitctl pending --json ${pendingMs.toFixed(0)} ms, raw pages of 100: ${pages} (largest reply ${(biggest / 1024).toFixed(0)} KiB)`,
    );
  }, 150_000);
});
