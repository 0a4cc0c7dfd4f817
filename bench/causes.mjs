/**
 * The causes of the misses, for the "Misses and their causes" section of BENCHMARKS.md.
 *
 * Each entry names, for one figure, what was found when it was investigated (profiles, heap
 * snapshots, the bench/tools/ scripts) and quotes this run's own numbers where the script
 * reports them. `causeOf(row, rows)` answers the text for a missed row, or undefined when the
 * figure has not been investigated (run-all then says so).
 */
import { fmt } from './lib.mjs';

const num = (note, re) => {
  const m = re.exec(note ?? '');
  return m ? Number(m[1]) : undefined;
};

const CAUSES = [
  {
    match: /^P7 install/,
    cause: (r) =>
      `an install's fixed cost (the model call of the template provider, staging the output, the component's and the map's fsyncs, the request record, the socket round trips: about 100 ms here) does not shrink with the map, so on a small map (a --quick run's 10,000 goals: a ${fmt(r.baseline, 0)} ms floor) the ratio says little; the goal is for the 50,000-goal map of the full run, where the size-dependent part (the byte-exact scan of the map, its hash and the watcher's read of jitd's own write) is measured against the same floor.`,
  },
  {
    match: /^P3 start-up/,
    cause: (r) => {
      const floor = r.baseline; // the bare Node floor (p3-startup.mjs)
      const p = r.phases ?? {
        boot: num(r.note, /boot\+imports (\d+) ms/),
        reconcile: num(r.note, /reconcile (\d+) ms/),
        rest: num(r.note, /watch\+socket (\d+) ms/),
      };
      return [
        `jitd took ${fmt(r.value, 0)} ms = ${fmt(r.value / floor)}× the bare Node floor (a Node process that only lists every directory and \`JSON.parse\`s the map: ${fmt(floor, 0)} ms in this run${r.findMs ? `; \`find -type f\` ${fmt(r.findMs, 0)} ms` : ''}), in three phases (its own log): boot and module loading ${fmt(p.boot, 0)} ms, the start-up reconcile ${fmt(p.reconcile, 0)} ms, watchers and socket ${fmt(p.rest, 0)} ms.`,
        "Already applied: the `openai` SDK is imported only for the openai provider and `pino-pretty` only for a terminal, the depth check runs inside the map's validation walk, and the orphan pass looks names up per type directory (`ReferencedNames`).",
        'What the profile showed besides (100,000 components / 50,000 goals, `node --cpu-prof`, bench/tools/profile-startup.mjs, before those changes): garbage collection 139 ms, `parseGoalMap` 96 ms (JSON.parse of the 3 MB map plus per-entry validation), planning about 70 ms, readdir 50 ms, 1,000 `fs.watch` 30 ms, and about 55 ms of `zod` schema construction while modules load.',
      ].join(' ');
    },
  },
  {
    match: /^P4 RSS after \d+ saves/,
    cause: (r) => {
      const peak = num(r.note, /peak RSS (\d+) MiB/);
      if (/^done/.test(r.note ?? '') && r.value <= r.baseline * 1.15 + 5) {
        return `no growth: after the churn RSS came back to ${fmt(r.value, 0)} MiB against ${fmt(r.baseline, 0)} MiB for a fresh daemon on the churned library (peak ${fmt(peak, 0)} MiB during the churn, released by V8's idle-time memory reducer some 20 s after it; the curve is in the notes). It is over ${150} MiB for the reason given under "P4 RSS after start-up": V8 heap slack on top of Node's own ~50 MiB, not jitd's data.`;
      }
      return [
        `not a leak. V8 keeps the heap it grew to during the churn (peak ${fmt(peak, 0)} MiB: every save makes jitd read and parse the whole map, every group commit reads and serialises it again, so several copies of the map's object graph are alive at once) until its idle-time memory reducer runs, and that came later than this run waited (the RSS curve in the notes).`,
        'Measured separately on the 100,000-component library (1,000 saves): 243 MiB for 19 s after the churn, then 151 MiB against 146 MiB fresh; on the 10,000-component library (3,000 saves of churn) RSS stayed at 129–150 MiB for 17 s and 34 s after the churn in two runs, then fell to 70–77 MiB, below a fresh daemon on the churned library (94–103 MiB); heap snapshots (`p4-memory.mjs --heap DIR`, bench/tools/heap-summary.mjs) gave 18.6 MiB of live heap after the churn against 16.4 MiB for the fresh daemon (+1.5 MiB of it optimised code).',
        'jitd already skips the parse when the bytes hash to the last parse; a churn of saves changes the map every time, so each one is parsed whole. Capping the young generation (`--max-semi-space-size=4`, see "P4 RSS after start-up") lowers the committed slack; nothing in the data grows.',
      ].join(' ');
    },
  },
  {
    match: /^P4 RSS after start-up/,
    cause: () =>
      `not the data: a heap snapshot of jitd just after start-up on this library holds 32.9 MiB of live JS heap (11 MiB of strings for the goal and file names, 6.7 MiB of plain objects, 8.4 MiB of arrays), and a bare Node process holding one fs.watch per directory is about 50 MiB (the reference in the notes). The rest, about 60 MiB, is heap V8 grew to absorb the start-up reconcile's garbage (139 ms of GC in the profile) and keeps committed, chiefly the young generation's semi-spaces (16 MiB each by default). Measured: with \`--max-semi-space-size=2\` or \`4\` the same start-up settles at 123–126 MiB instead of 145–148 MiB, no slower to ready (530–740 ms vs 740–760 ms). Not set by jitd: a V8 flag belongs to the operator (\`Environment=NODE_OPTIONS=--max-semi-space-size=4\` in a unit drop-in).`,
  },
  {
    match: /^P1 reaction p(50|99)/,
    cause: (r, rows) => {
      const base = rows.find((x) => x.figure === r.figure)?.baseline;
      return `the baseline (a bare chokidar process, no work per event) had ${fmt(base)} ms at the same percentile in this run. jitd's path per save is: chokidar event → read and parse the map → plan → write the new request durably (temp, fsync, rename) → event on the socket; the fsync is the variable part on this shared disk. Tail latencies here track the other sessions' load on the 2 cores and the disk.`;
    },
  },
  {
    match: /^P2 installs\/s/,
    cause: (r) => {
      const files = num(r.note, /([\d.]+) file fsyncs/);
      const dirs = num(r.note, /([\d.]+) dir fsyncs/);
      const floors = r.note?.match(/floors ([\d, ]+) puts\/s/)?.[1];
      return [
        `fsyncs: per install jitd did ${fmt(files)} file fsyncs and ${fmt(dirs, 3)} directory fsyncs (counted by the wrapped fs layer), where the floor does one of each. Each model output is staged durably the moment the call returns (\`stateDir/staged/<id>.txt\`: file fsync, the directory fsync group-committed across concurrent puts); the component is published as a hard link to that staged file (no second write; its directory fsync is batched per group commit) and the request's done record is written with its file fsync (skipping it leaves a torn record after a power cut: test/install/power-loss.test.ts).`,
        floors ? `The disk was shared with other sessions' tests: the floor runs alone ranged ${floors} puts/s in this run, so the ratio is noisy too.` : '',
      ]
        .filter(Boolean)
        .join(' ');
    },
  },
  {
    match: /^P4 inotify watches after churn/,
    cause: () => 'a watch per directory is added for each new type directory; any more means a directory watch was not released on removal.',
  },
];

export function causeOf(row, rows) {
  const c = CAUSES.find((x) => x.match.test(row.figure));
  return c ? c.cause(row, rows) : undefined;
}
