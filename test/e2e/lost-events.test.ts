/**
 * Lost events (issue 12 item 4) with a real daemon: stopped with SIGSTOP while a burst of files
 * larger than the kernel's inotify queue (fs.inotify.max_queued_events, 16384 by default) lands
 * in a type directory, the last of them the files the map names. The overflow is not reported by
 * node; the lost-event detector notices the settled directory differs from what jitd was told and
 * rescans it. The periodic full rescan is off (rescanIntervalMs 0), so nothing else can catch it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StatusResult } from '../../src/ipc/messages/status.js';
import { jitctl, type RunningDaemon } from '../support/daemon-process.js';
import { type TempLibrary } from '../support/library-fixture.js';
import { testLibrary, testDaemon } from '../support/per-test.js';

let lib: TempLibrary | undefined;
let daemon: RunningDaemon | undefined;

const NAMED = 300;

function queueLimit(): number {
  try {
    return Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
  } catch {
    return 16384;
  }
}

describe('events lost while jitd was stopped', () => {
  it('are noticed by the detector, not the periodic rescan: every request for a file that now exists is resolved', { timeout: 120_000 }, async () => {
    const map: Record<string, Record<string, string>> = {};
    for (let i = 0; i < NAMED; i++) map[`GOAL_${i}`] = { protocol: `named_${i}.txt` };
    lib = await testLibrary({ map, components: {}, config: { rescanIntervalMs: 0, log: { level: 'info' } } });
    daemon = await testDaemon(lib.configFile, lib.socketPath);
    const ctl = (args: string[]) => jitctl(['--socket', lib!.socketPath, ...args]);
    const status = async (): Promise<StatusResult> => JSON.parse((await ctl(['status', '--json'])).stdout);
    await ctl(['status', '--sync']);
    expect((await status()).counts.requests.waiting).toBe(NAMED);

    daemon.child.kill('SIGSTOP');
    // More files than the kernel queues events for (each write is at least two events), the
    // named ones last: their events are the ones dropped.
    const protocols = join(lib.componentsDir, 'protocols');
    const filler = queueLimit() + 4000;
    for (let i = 0; i < filler; i++) writeFileSync(join(protocols, `filler_${i}.txt`), 'x');
    for (let i = 0; i < NAMED; i++) writeFileSync(join(protocols, `named_${i}.txt`), `component ${i}\n`);
    daemon.child.kill('SIGCONT');

    // Generous deadline: the goal is seconds, but no test asserts on timing.
    const deadline = Date.now() + 90_000;
    let st = await status();
    while (st.counts.requests.waiting > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      st = await status();
    }
    expect(st.counts.requests.waiting).toBe(0);
    expect(st.counts.missing).toBe(0);
    expect(st.watcher.lossDetector?.noticed).toBeGreaterThanOrEqual(1);
    expect(st.watcher.lossDetector?.lastNoticed).toContain('protocols');
    expect((await ctl(['status'])).stdout).toMatch(/lost events\s+noticed \d+× .*protocols/);
    expect(daemon.logs.some((l) => l.includes('a change came without its events') && l.includes('"what":"protocols"'))).toBe(true);
    // Nothing but the detector and the events ran a rescan: the periodic one is off.
    expect(daemon.logs.some((l) => l.includes('"reason":"periodic"'))).toBe(false);
  });
});
