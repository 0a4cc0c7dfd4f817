/**
 * P8 lost events (issue 12 item 4): how soon jitd notices events the kernel dropped, and what
 * the lost-event detector costs when nothing happens.
 *
 *  - notice: a library whose map names NAMED missing files; jitd is stopped (SIGSTOP) while more
 *    files than the kernel queues events for (fs.inotify.max_queued_events + 4,000) land in one
 *    type directory, the named ones last, so their events are the ones dropped; then SIGCONT.
 *    Figures: time from SIGCONT to the detector's "a change came without its events" log line,
 *    and to every request for an existing file resolved (rescanIntervalMs 0: the periodic full
 *    rescan cannot be what caught it). Baseline, same run: a bare fs.watch process
 *    (baseline/fswatch-dirs.mjs) stopped and resumed through the same burst, until it goes quiet
 *    — the time the kernel alone needs to hand over what it kept.
 *  - idle CPU: jitd on the large library (100,000 components in 1,000 directories; quick 10,000
 *    in 100) against a bare fs.watch process watching the same directories, both idle, CPU ms
 *    per second of wall time over IDLE_S (/proc/PID/stat).
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LARGE,
  QUICK,
  cpuMs,
  fmt,
  largeLibrary,
  makeLibrary,
  now,
  report,
  rmrf,
  runScript,
  sleep,
  socketClient,
  startBaseline,
  startDaemon,
  workDir,
} from './lib.mjs';

const NAMED = QUICK ? 100 : 300;
const IDLE_S = QUICK ? 6 : 20;
const NOTICE_GOAL_S = 10;

function queueLimit() {
  try {
    return Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
  } catch {
    return 16384;
  }
}

/** Writes the burst: `filler` files, then the NAMED files the map names (their events are lost). */
function burst(dir, filler, prefix = '') {
  for (let i = 0; i < filler; i++) writeFileSync(join(dir, `${prefix}filler_${i}.txt`), 'x');
  for (let i = 0; i < NAMED; i++) writeFileSync(join(dir, `${prefix}named_${i}.txt`), `component ${i}\n`);
}

async function idleCpu(pid, seconds) {
  const c0 = await cpuMs(pid);
  const t0 = now();
  await sleep(seconds * 1000);
  return ((await cpuMs(pid)) - c0) / ((now() - t0) / 1000);
}

/** Baseline: a bare fs.watch on `dir`'s tree, stopped through the burst; ms from SIGCONT until quiet. */
async function bareDrain(componentsDir, filler) {
  const base = startBaseline('fswatch-dirs.mjs', [componentsDir]);
  await base.ready;
  let last = now();
  let events = 0;
  base.onLine(() => {
    last = now();
    events++;
  });
  process.kill(base.pid, 'SIGSTOP');
  burst(join(componentsDir, 'protocols'), filler, 'bare_');
  const t0 = now();
  last = t0;
  process.kill(base.pid, 'SIGCONT');
  // Quiet: no event for 1 s.
  while (now() - last < 1000) await sleep(50);
  await base.stop();
  return { ms: last - t0, events };
}

async function noticeRun() {
  const root = await workDir('p8');
  try {
    const map = {};
    for (let i = 0; i < NAMED; i++) map[`GOAL_${i}`] = { protocol: `named_${i}.txt` };
    const lib = await makeLibrary(root, { map, files: ['protocols/.keep'], config: { rescanIntervalMs: 0, debounceMs: 50 } });
    const protocols = join(lib.componentsDir, 'protocols');
    const filler = queueLimit() + 4000;

    // The bare baseline first, in a directory of its own (then removed: jitd starts on a clean tree).
    const bareDir = join(root, 'bare');
    await (await import('node:fs/promises')).mkdir(join(bareDir, 'protocols'), { recursive: true });
    const bare = await bareDrain(bareDir, filler);
    await rmrf(bareDir);

    const d = startDaemon(lib.configFile, {});
    await d.ready;
    const client = await socketClient(lib.socketPath);
    await client.request('status', { sync: true });
    const before = await client.request('status');
    if (before.counts.requests.waiting !== NAMED) throw new Error(`expected ${NAMED} waiting requests, got ${before.counts.requests.waiting}`);
    let noticedAt;
    d.onLine((l) => {
      if (noticedAt === undefined && typeof l.msg === 'string' && l.msg.startsWith('a change came without its events')) noticedAt = now();
    });

    process.kill(d.pid, 'SIGSTOP');
    burst(protocols, filler);
    const t0 = now();
    process.kill(d.pid, 'SIGCONT');
    let resolvedAt;
    let st;
    const deadline = t0 + 120_000;
    for (;;) {
      st = await client.request('status');
      if (st.counts.requests.waiting === 0) {
        resolvedAt = now();
        break;
      }
      if (now() > deadline) break;
      await sleep(100);
    }
    client.socket.destroy();
    await d.stop();
    return { bare, noticeMs: noticedAt === undefined ? NaN : noticedAt - t0, resolvedMs: resolvedAt === undefined ? NaN : resolvedAt - t0, st, filler };
  } finally {
    await rmrf(root);
  }
}

runScript(`P8 lost events: SIGSTOP + a burst past the inotify queue; idle CPU on ${LARGE.files} components`, async () => {
  const n = await noticeRun();
  const lost = n.st.watcher?.lossDetector;
  report({
    figure: 'P8 time to notice lost events',
    value: n.noticeMs / 1000,
    unit: 's',
    baseline: n.bare.ms / 1000,
    baselineLabel: `bare fs.watch drains the same burst: ${n.bare.events} events delivered for ${n.filler + NAMED} files`,
    goal: `≤ ${NOTICE_GOAL_S} s`,
    pass: n.noticeMs <= NOTICE_GOAL_S * 1000,
    note: `${n.filler + NAMED} files while stopped, ${NAMED} named by the map; detector noticed ${lost?.noticed ?? '?'} time(s), period ${lost?.periodMs ?? '?'} ms; periodic rescan off`,
  });
  report({
    figure: 'P8 every request for an existing file resolved',
    value: n.resolvedMs / 1000,
    unit: 's',
    baseline: n.bare.ms / 1000,
    baselineLabel: 'bare fs.watch drains the same burst',
    goal: `≤ ${NOTICE_GOAL_S} s`,
    pass: n.resolvedMs <= NOTICE_GOAL_S * 1000,
    note: `${n.st.counts.requests.waiting} still waiting at the end`,
  });

  const lib = await largeLibrary();
  try {
    // The work of one look while events flow (a stat per watched directory, as the detector
    // does it), against one listing of every directory (what a full rescan reads).
    const dirs = [lib.componentsDir, ...readdirSync(lib.componentsDir).map((d) => join(lib.componentsDir, d))];
    const look = () => {
      const t = now();
      for (const d of dirs) statSync(d, { throwIfNoEntry: false });
      return now() - t;
    };
    const list = () => {
      const t = now();
      for (const d of dirs) readdirSync(d);
      return now() - t;
    };
    look();
    list();
    const lookMs = Math.min(...Array.from({ length: 5 }, look));
    const listMs = Math.min(...Array.from({ length: 3 }, list));
    report({
      figure: `P8 one look of the detector (${dirs.length} stats)`,
      value: lookMs,
      unit: 'ms',
      baseline: listMs,
      baselineLabel: 'one readdir of every directory, as a full rescan',
      goal: 'a small fraction of a rescan',
      pass: lookMs < listMs / 5,
      note: 'made every 2 s only while events flow and 20 s after; once a minute when quiet',
    });

    const base = startBaseline('fswatch-dirs.mjs', [lib.componentsDir]);
    await base.ready;
    await sleep(1000);
    const bIdle = await idleCpu(base.pid, IDLE_S);
    await base.stop();
    const d = startDaemon(lib.configFile, {});
    await d.ready;
    await sleep(3000); // past the start-up's own work
    const jIdle = await idleCpu(d.pid, IDLE_S);
    await d.stop();
    report({
      figure: `P8 idle CPU with the lost-event detector, ${LARGE.files} components in ${LARGE.dirs} directories`,
      value: jIdle,
      unit: 'ms/s',
      baseline: bIdle,
      baselineLabel: 'idle bare fs.watch on the same directories',
      ratio: bIdle > 0 ? jIdle / bIdle : undefined,
      goal: '≈ 0 (≤ 2 ms/s, as P4)',
      pass: jIdle <= 2,
      note: `over ${IDLE_S} s; difference ${fmt(jIdle - bIdle)} ms/s (${fmt((jIdle - bIdle) / 10)} % of one core)${bIdle > 0 ? '' : '; baseline 0 at tick resolution: no ratio'}`,
    });
  } finally {
    await lib.cleanup();
  }
});
