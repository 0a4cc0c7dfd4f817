/**
 * P6 cost of one change: CPU time the daemon spends on one component file added to a type
 * directory that holds 20,000 components (all named by a map of 20,000 goals). K files are added,
 * one every GAP ms; the process's CPU time (/proc/PID/stat, user + system) over that window,
 * minus its CPU over an idle window of the same length, divided by K.
 * Baseline: a bare chokidar process watching the same tree (depth 1), measured the same way;
 * reference: bare non-recursive fs.watch on the same directories.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { QUICK, cpuMs, fmt, makeLibrary, report, rmrf, runScript, sleep, startBaseline, startDaemon, workDir } from './lib.mjs';

const FILES = 20_000;
const K = QUICK ? 20 : 100;
const SETTLE_MS = QUICK ? 400 : 1000; // before the idle window: the watcher's start-up work is done
const GAP_MS = 50;

/** CPU ms per change of process `pid`, adding files `prefix<i>.txt` to `dir`. */
async function costPerChange(pid, dir, prefix) {
  await sleep(SETTLE_MS);
  const i0 = await cpuMs(pid);
  await sleep(K * GAP_MS);
  const idle = (await cpuMs(pid)) - i0;
  const c0 = await cpuMs(pid);
  for (let i = 0; i < K; i++) {
    await fsp.writeFile(join(dir, `${prefix}${i}.txt`), `added ${i}\n`);
    await sleep(GAP_MS);
  }
  await sleep(300); // let the last event be handled
  const busy = (await cpuMs(pid)) - c0;
  const idleScaled = (idle * (K * GAP_MS + 300)) / (K * GAP_MS);
  return { perChange: Math.max(0, busy - idleScaled) / K, idleMsPerSec: idle / ((K * GAP_MS) / 1000), busy };
}

runScript(`P6 cost of one change: one component added to a directory of ${FILES} components`, async () => {
  const root = await workDir('p6');
  try {
    const files = Array.from({ length: FILES }, (_, i) => `protocols/c${String(i).padStart(5, '0')}.txt`);
    const map = {};
    for (let i = 0; i < FILES; i++) map[`GOAL_${String(i).padStart(5, '0')}`] = { protocol: `c${String(i).padStart(5, '0')}.txt` };
    const lib = await makeLibrary(root, { map, files });
    const dir = join(lib.componentsDir, 'protocols');

    const base = startBaseline('chokidar-watch.mjs', ['--tree', lib.componentsDir]);
    await base.ready;
    const b = await costPerChange(base.pid, dir, 'chokidar_');
    await base.stop();

    // The bare fs.watch reference is skipped in --quick (it is a reference, not the baseline).
    let r = { perChange: NaN };
    if (!QUICK) {
      const ref = startBaseline('fswatch-dirs.mjs', [lib.componentsDir]);
      await ref.ready;
      r = await costPerChange(ref.pid, dir, 'fswatch_');
      await ref.stop();
    }

    const d = startDaemon(lib.configFile);
    await d.ready;
    const j = await costPerChange(d.pid, dir, 'jitd_');
    const seen = d.lines.filter((l) => l.msg === 'reconciled').length;
    await d.stop();

    report({
      figure: 'P6 CPU per component added (dir of 20,000)',
      value: j.perChange,
      unit: 'ms',
      baseline: b.perChange,
      baselineLabel: 'bare chokidar',
      goal: '<= 5 ms',
      pass: j.perChange <= 5,
      note: `${K} files, one per ${GAP_MS} ms; ${QUICK ? '' : `bare fs.watch ${fmt(r.perChange)} ms; `}idle jitd ${fmt(j.idleMsPerSec)} ms CPU/s; ${seen} reconciles`,
    });
  } finally {
    await rmrf(root);
  }
});
