/**
 * P3 start-up on a large library: 100,000 component files in 1,000 type directories and a map
 * of 50,000 goals naming every one of them (quick: 10,000 / 100 / 5,000). Measures the time
 * from spawning `jitd` to its 'jitd ready' log line (reconciled, watching, socket listening),
 * then checks the socket answers. Baseline: `find <componentsDir> -type f` over the same tree,
 * spawn to exit, with the same warm page cache. Median of several runs of each.
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

const RUNS = QUICK ? 2 : 3;

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
    const base = median(finds);
    report({
      figure: 'P3 start-up to ready',
      value,
      unit: 'ms',
      digits: 0,
      baseline: base,
      baselineLabel: 'find -type f',
      goal: '<= 2x',
      pass: value <= 2 * base,
      nodeFloorMs: median(nodeFloor),
      phases: phases[starts.indexOf(value)] ?? phases[0],
      note: `bare Node floor (boot, readdir every directory, JSON.parse the map) ${fmt(median(nodeFloor), 0)} ms = ${fmt(median(nodeFloor) / base)}x find; jitd phases (median run): boot+imports ${fmt((phases[starts.indexOf(value)] ?? phases[0]).boot, 0)} ms, reconcile ${fmt((phases[starts.indexOf(value)] ?? phases[0]).reconcile, 0)} ms, watch+socket ${fmt((phases[starts.indexOf(value)] ?? phases[0]).rest, 0)} ms; runs ${starts.map((x) => fmt(x, 0)).join(', ')} ms vs find ${finds.map((x) => fmt(x, 0)).join(', ')} ms; at ready: RSS ${fmt(facts.rss, 0)} MiB, ${facts.watches} inotify watches (${facts.watcher})`,
    });
  } finally {
    await lib.cleanup();
  }
});
