/**
 * P4 memory and watches on the large library of P3 (100,000 components in 1,000 directories,
 * 50,000 goals; quick: 10,000 / 100 / 5,000):
 *  - resident memory (VmRSS) and inotify watches (`inotify` lines in /proc/PID/fdinfo/*) after
 *    start-up, and idle CPU over a few seconds (/proc/PID/stat);
 *  - then churn: CHURN editor-style map saves, each adding a goal whose component is missing;
 *    every `request.added` (over `subscribe`) is answered over the socket, and the template
 *    provider's output installed; then RSS, watches and idle CPU again. A fresh daemon started on
 *    the churned library tells growth that is data (more goals, more requests) from a leak.
 * Baseline: a bare chokidar process watching the same tree (depth 1), as jitd's component
 * watcher did; reference: bare non-recursive fs.watch per directory.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import {
  LARGE,
  QUICK,
  cpuMs,
  fmt,
  inotifyWatches,
  largeLibrary,
  machineFacts,
  now,
  report,
  rmrf,
  rssMiB,
  runScript,
  sleep,
  startBaseline,
  startDaemon,
  subscribe,
} from './lib.mjs';

const churnAt = process.argv.indexOf('--churn');
const CHURN = churnAt >= 0 ? Number(process.argv[churnAt + 1]) : QUICK ? 300 : 10_000;
const IDLE_S = QUICK ? 1 : 5;
/** Settling pauses (ms) before a probe; shorter in --quick. */
const SETTLE = QUICK ? 0.5 : 1;
const RSS_GOAL = 150;
// --heap DIR: start the daemons with --heapsnapshot-signal and write a heap snapshot (which runs
// a full GC first) after the churn and on the fresh daemon; prints RSS after each snapshot.
const heapAt = process.argv.indexOf('--heap');
const HEAP_DIR = heapAt >= 0 ? process.argv[heapAt + 1] : undefined;
// Diagnostics: --wait-after S (idle seconds before the after-churn probe), --daemon-env K=V,...
// (e.g. MALLOC_ARENA_MAX=2) and --node-args '--a --b' for the daemons.
const optAt = (name) => (process.argv.indexOf(name) >= 0 ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const WAIT_AFTER_MS = optAt('--wait-after') ? Number(optAt('--wait-after')) * 1000 : undefined;
const daemonEnv = Object.fromEntries(
  (optAt('--daemon-env') ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=')),
);
const daemonOpts = {
  env: daemonEnv,
  nodeArgs: [
    ...(optAt('--node-args') ?? '').split(' ').filter(Boolean),
    ...(HEAP_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_DIR}`] : []),
  ],
};

/** Writes a heap snapshot of `pid` (SIGUSR2) into HEAP_DIR; answers its path once complete. */
async function heapSnapshot(pid, label) {
  if (!HEAP_DIR) return undefined;
  await fsp.mkdir(HEAP_DIR, { recursive: true });
  const before = new Set(await fsp.readdir(HEAP_DIR));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(200);
    const fresh = (await fsp.readdir(HEAP_DIR)).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (fresh.length) {
      const file = join(HEAP_DIR, fresh[0]);
      let size = -1;
      for (;;) {
        await sleep(500);
        const s = (await fsp.stat(file)).size;
        if (s === size) break;
        size = s;
      }
      const renamed = join(HEAP_DIR, `${label}.heapsnapshot`);
      await fsp.rename(file, renamed);
      console.log(`  heap snapshot ${label}: ${renamed}; RSS after its GC ${fmt(await rssMiB(pid), 0)} MiB`);
      return renamed;
    }
  }
  return undefined;
}

/** CPU ms per second of wall time over `seconds`. */
async function idleCpu(pid, seconds) {
  const c0 = await cpuMs(pid);
  const t0 = now();
  await sleep(seconds * 1000);
  return ((await cpuMs(pid)) - c0) / ((now() - t0) / 1000);
}

async function probe(pid) {
  return { rss: await rssMiB(pid), watches: await inotifyWatches(pid) };
}

runScript(`P4 memory and watches: ${LARGE.files} components, ${LARGE.goals} goals, ${CHURN} saves of churn`, async () => {
  const lib = await largeLibrary();
  const churnDir = join(lib.componentsDir, 'churns');
  try {
    // --- baseline: bare chokidar on the same tree ---------------------------------------------
    const base = startBaseline('chokidar-watch.mjs', ['--tree', lib.componentsDir]);
    const baseReady = await base.ready;
    await sleep(1000 * SETTLE);
    const b = await probe(base.pid);
    const bIdle = await idleCpu(base.pid, IDLE_S);
    await base.stop();
    const ref = startBaseline('fswatch-dirs.mjs', [lib.componentsDir]);
    await ref.ready;
    await sleep(500 * SETTLE);
    const f = await probe(ref.pid);
    await ref.stop();

    // --- jitd after start-up --------------------------------------------------------------------
    const d = startDaemon(lib.configFile, daemonOpts);
    await d.ready;
    await sleep(2000 * SETTLE);
    const j0 = await probe(d.pid);
    const idle0 = await idleCpu(d.pid, IDLE_S);

    // --- churn ------------------------------------------------------------------------------
    const sub = await subscribe(lib.socketPath, ['request.added', 'request.installed', 'request.resolved', 'request.failed']);
    // Answers go over a few more connections: each connection's requests are served one at a
    // time, and several people (or `jitctl` runs) answering at once is the heavier churn.
    const answerers = await Promise.all(Array.from({ length: 8 }, () => subscribe(lib.socketPath, ['map.error'])));
    // Connections the daemon closes under us (it drops clients that do not read, or that hold
    // too much): counted, with the daemon's reason, so a stalled churn says why.
    let churnOver = false;
    let lostConnections = 0;
    for (const c of [sub, ...answerers]) c.socket.on('close', () => (churnOver ? undefined : lostConnections++));
    const drops = [];
    d.onLine((l) => {
      if (l.msg === 'closing control client' && drops.length < 5) drops.push(l.why);
    });
    let answerErrors = 0;
    let turn = 0;
    let added = 0;
    let installed = 0;
    let failed = 0;
    let peakRss = j0.rss;
    let allInstalled;
    const done = new Promise((r) => (allInstalled = r));
    sub.onEvent((e) => {
      if (!e.request?.goal?.startsWith('CHURN_')) return;
      if (e.type === 'request.added') {
        added++;
        answerers[turn++ % answerers.length].request('answer', { id: e.request.id, text: `Churn component for ${e.request.goal}.` }).catch((err) => {
          if (answerErrors++ < 3) console.error('answer failed', err.message);
        });
      } else if (e.type === 'request.installed' || e.type === 'request.resolved') {
        // (resolved: a save that raced jitd's map write dropped the repoint; jitd rolled it forward)
        if (++installed === CHURN) allInstalled();
      } else if (e.type === 'request.failed') failed++;
    });
    const timeline = [];
    const sampler = setInterval(() => {
      rssMiB(d.pid).then(
        (r) => {
          peakRss = Math.max(peakRss, r);
          timeline.push([Math.round(now() - t0), Math.round(r), added, installed]);
        },
        () => undefined,
      );
    }, 250);
    const t0 = now();
    for (let i = 0; i < CHURN; i++) {
      // The person's editor reads the map as it is now (with jitd's repoints) and adds a goal.
      const text = await fsp.readFile(lib.mapFile, 'utf8');
      const entry = `  "CHURN_${String(i).padStart(6, '0')}": {"churn": "churn_${i}.txt"},\n`;
      const next = text.startsWith('{\n') && text.length > 4 ? `{\n${entry}${text.slice(2)}` : `{\n${entry.replace(/,\n$/, '\n')}}\n`;
      await fsp.writeFile(`${lib.mapFile}.bench-save`, next);
      await fsp.rename(`${lib.mapFile}.bench-save`, lib.mapFile);
      if (i % 8 === 7) await sleep(1); // let the daemon breathe, as a person would
    }
    const savedMs = now() - t0;
    if (process.env.BENCH_VERBOSE) setInterval(() => console.log(JSON.stringify(timeline.slice(-1))), 2000).unref();
    const timeout = sleep(QUICK ? 120_000 : 420_000).then(() => 'timeout');
    const outcome = await Promise.race([done.then(() => 'done'), timeout]);
    const churnMs = now() - t0;
    clearInterval(sampler);
    churnOver = true;
    sub.close();
    for (const a of answerers) a.close();
    // V8 keeps the heap it grew to during the churn until its memory reducer runs, several
    // seconds into idleness (measured: 3 s after a churn RSS is still near its peak, 20 s after
    // it is back at the start-up level). So sample RSS once a second until it is back within
    // the growth bound of the start-up RSS, or the settle limit passes; report how long it took.
    const settleLimitMs = WAIT_AFTER_MS ?? (QUICK ? 5_000 : 45_000);
    const settle0 = now();
    const settleCurve = [];
    for (;;) {
      await sleep(1000);
      const r = await rssMiB(d.pid);
      settleCurve.push(Math.round(r));
      if (WAIT_AFTER_MS === undefined && r <= j0.rss * 1.15 + 5) break;
      if (now() - settle0 >= settleLimitMs) break;
    }
    const settledS = (now() - settle0) / 1000;
    const j1 = await probe(d.pid);
    const idle1 = await idleCpu(d.pid, IDLE_S);
    await heapSnapshot(d.pid, 'after-churn');
    await d.stop();

    // --- a fresh daemon on the churned library: what the data itself costs ------------------------
    const fresh = startDaemon(lib.configFile, daemonOpts);
    await fresh.ready;
    await sleep(2000 * SETTLE);
    const jf = await probe(fresh.pid);
    await heapSnapshot(fresh.pid, 'fresh');
    await fresh.stop();

    const limit = Number(machineFacts().maxUserWatches);
    report({
      figure: 'P4 RSS after start-up',
      value: j0.rss,
      unit: 'MiB',
      digits: 0,
      baseline: b.rss,
      baselineLabel: 'bare chokidar',
      goal: `<= ${RSS_GOAL} MiB`,
      pass: j0.rss <= RSS_GOAL,
      note: `bare fs.watch per directory ${fmt(f.rss, 0)} MiB; bare chokidar took ${fmt(baseReady / 1000)} s to be ready`,
    });
    report({
      figure: 'P4 inotify watches after start-up',
      value: j0.watches,
      unit: '',
      digits: 0,
      baseline: b.watches,
      baselineLabel: 'bare chokidar',
      goal: `within the limit (${limit})`,
      pass: j0.watches < limit && j0.watches <= LARGE.dirs + 10,
      note: `bare fs.watch per directory: ${f.watches}; chokidar alone uses ${fmt((100 * b.watches) / limit, 0)}% of the limit`,
    });
    report({
      figure: 'P4 idle CPU after start-up',
      value: idle0,
      unit: 'ms/s',
      baseline: bIdle,
      baselineLabel: 'bare chokidar',
      goal: '~0 (no polling)',
      pass: idle0 <= 2,
    });
    report({
      figure: `P4 RSS after ${CHURN} saves + installs`,
      value: j1.rss,
      unit: 'MiB',
      digits: 0,
      baseline: jf.rss,
      baselineLabel: 'fresh jitd on the churned library',
      goal: `<= ${RSS_GOAL} MiB, no growth`,
      pass: outcome === 'done' && j1.rss <= RSS_GOAL && j1.rss <= jf.rss * 1.15 + 5,
      note: `${outcome}: ${added} added, ${installed} installed, ${failed} failed in ${fmt(churnMs / 1000, 1)} s (saves took ${fmt(savedMs / 1000, 1)} s); peak RSS ${fmt(peakRss, 0)} MiB; start-up RSS ${fmt(j0.rss, 0)} MiB; RSS once a second after the churn ${settleCurve.length > 12 && !process.env.BENCH_VERBOSE ? `${settleCurve.slice(0, 6).join(', ')}, …, ${settleCurve.slice(-4).join(', ')}` : settleCurve.join(', ')} MiB (probed ${fmt(settledS, 0)} s after)${lostConnections ? `; ${lostConnections} control connections closed by jitd (${[...new Set(drops)].join('; ')})` : ''}${answerErrors ? `; ${answerErrors} answers failed` : ''}`,
    });
    report({
      figure: 'P4 inotify watches after churn',
      value: j1.watches,
      unit: '',
      digits: 0,
      baseline: j0.watches,
      baselineLabel: 'after start-up',
      goal: '+1 (the new type directory)',
      pass: j1.watches <= j0.watches + 1,
    });
    report({ figure: 'P4 idle CPU after churn', value: idle1, unit: 'ms/s', baseline: idle0, baselineLabel: 'after start-up', goal: '~0', pass: idle1 <= 2 });
  } finally {
    // Give the library back as it was, for the next user in this run.
    await rmrf(churnDir);
    await fsp.writeFile(lib.mapFile, lib.mapText);
    await rmrf(lib.stateDir);
    await lib.cleanup();
  }
});
