/**
 * P3 start-up on a large library: 100,000 component files in 1,000 type directories and a map
 * of 50,000 goals naming every one of them (quick: 10,000 / 100 / 5,000). Measures the time
 * from spawning `jitd` to its 'jitd ready' log line (reconciled, watching, socket listening),
 * then checks the socket answers. Baseline: the bare-Node floor (baseline/node-floor.mjs: boot
 * Node, readdir every type directory, JSON.parse the map, nothing else), spawn to exit, with the
 * same warm page cache; `find <componentsDir> -type f` is printed beside it. Goal (issue 13):
 * at most 2x that floor — 2x `find` is below what any Node process can reach. Median of several
 * runs of each.
 */
import { join } from 'node:path';
import {
  BENCH_DIR,
  LARGE,
  QUICK,
  fmt,
  inotifyWatches,
  largeLibrary,
  median,
  report,
  rmrf,
  rssMiB,
  runScript,
  socketClient,
  startDaemon,
  timeCommand,
} from './lib.mjs';

const RUNS = QUICK ? 2 : 5;

runScript(`P3 start-up: ${LARGE.files} components in ${LARGE.dirs} directories, ${LARGE.goals} goals`, async () => {
  const lib = await largeLibrary();
  try {
    if (lib.built) console.log(`  (library built in ${fmt(lib.buildMs / 1000)} s)`);
    await timeCommand('find', [lib.componentsDir, '-type', 'f']); // warm the cache
    const finds = [];
    let found = 0;
    for (let i = 0; i < RUNS; i++) {
      const r = await timeCommand('find', [lib.componentsDir, '-type', 'f']);
      finds.push(r.ms);
      found = r.lines;
    }
    if (found !== LARGE.files) throw new Error(`find saw ${found} files, expected ${LARGE.files}`);

    // Reference: a bare Node process that lists the tree and parses the map, nothing else.
    const nodeFloor = [];
    for (let i = 0; i < RUNS; i++)
      nodeFloor.push((await timeCommand(process.execPath, [join(BENCH_DIR, 'baseline', 'node-floor.mjs'), lib.componentsDir, lib.mapFile])).ms);

    const starts = [];
    const phases = [];
    let facts = {};
    for (let i = 0; i < RUNS; i++) {
      await rmrf(lib.stateDir);
      const spawnedAt = Date.now();
      const d = startDaemon(lib.configFile);
      const ms = await d.ready;
      starts.push(ms);
      const c = await socketClient(lib.socketPath);
      const st = await c.request('status');
      c.close();
      if (st.counts?.components !== LARGE.files || st.counts?.missing !== 0) throw new Error(`status after start: ${JSON.stringify(st.counts)}`);
      facts = { rss: await rssMiB(d.pid), watches: await inotifyWatches(d.pid), watcher: st.watcher?.backend };
      // Phases from the daemon's own log: spawn -> 'jitd starting' (Node boot + module loading),
      // -> 'reconciled' (the start-up reconcile), -> 'jitd ready' (watchers, socket).
      const at = (msg) => d.lines.find((l) => l.msg === msg)?.time;
      phases.push({ boot: at('jitd starting') - spawnedAt, reconcile: at('reconciled') - at('jitd starting'), rest: at('jitd ready') - at('reconciled') });
      await d.stop();
    }
    const value = median(starts);
    const floor = median(nodeFloor);
    const find = median(finds);
    const ph = phases[starts.indexOf(value)] ?? phases[0];
    report({
      figure: 'P3 start-up to ready',
      value,
      unit: 'ms',
      digits: 0,
      baseline: floor,
      baselineLabel: 'bare Node floor',
      goal: '<= 2x',
      pass: value <= 2 * floor,
      findMs: find,
      phases: ph,
      note: `floor = boot Node, readdir every directory, JSON.parse the map; find -type f ${fmt(find, 0)} ms (jitd ${fmt(value / find)}x, floor ${fmt(floor / find)}x); jitd phases (median run): boot+imports ${fmt(ph.boot, 0)} ms, reconcile ${fmt(ph.reconcile, 0)} ms, watch+socket ${fmt(ph.rest, 0)} ms; runs ${starts.map((x) => fmt(x, 0)).join(', ')} ms vs floor ${nodeFloor.map((x) => fmt(x, 0)).join(', ')} ms; at ready: RSS ${fmt(facts.rss, 0)} MiB, ${facts.watches} inotify watches (${facts.watcher})`,
    });
  } finally {
    await lib.cleanup();
  }
});
