#!/usr/bin/env node
/**
 * Runs every benchmark in order, each as its own child process, and writes BENCHMARKS.md.
 *
 *   npm run bench                      # builds, then the full run (under 10 minutes on 2 cores)
 *   npm run bench -- --quick           # smoke run at reduced sizes (under 1 minute)
 *   node bench/run-all.mjs [--quick] [--only p1,p4,...] [--keep-library] [--out FILE]
 *   node bench/run-all.mjs --causes-only      # rewrite only the causes of BENCHMARKS.md's misses
 *
 * Each figure script reports rows through lib.mjs report() and writes them to `--json FILE` when
 * it exits (lib.mjs finish()); soak-kill.mjs writes one row the same way. The scripts run one at
 * a time (the machine has few cores; two benchmarks at once would measure each other). P3 and P4
 * share the large library: it is built once (by P3) and removed at the end unless --keep-library.
 *
 * BENCHMARKS.md gets the machine facts, date, command, one table of every figure, and a
 * "Misses and their causes" section (bench/causes.mjs names the cause of each miss from what was
 * measured). Everything below the HAND_WRITTEN marker of an existing BENCHMARKS.md is kept.
 */
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, ROOT, WORK, fmt, machineFacts, rmrf } from './lib.mjs';
import { causeOf } from './causes.mjs';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const KEEP_LIBRARY = args.includes('--keep-library');
const optValue = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ONLY = optValue('--only')
  ?.split(',')
  .map((s) => s.trim());
const OUT = optValue('--out') ?? join(ROOT, 'BENCHMARKS.md');
/** --causes-only: rewrite only the "Misses and their causes" section of OUT from its own table. */
const CAUSES_ONLY = args.includes('--causes-only');
export const HAND_WRITTEN = '<!-- hand-written below this line: bench/run-all.mjs keeps it -->';

/** Sizes of the random-kill soak: the full run's fits the 10-minute budget with the rest. */
const SOAK = QUICK ? { installs: 12, kills: 2 } : { installs: 200, kills: 30 };

/** The benchmarks, in order: id, script, extra arguments, time limit (s). */
const SCRIPTS = [
  { id: 'p1', script: 'p1-reaction.mjs', limit: QUICK ? 60 : 180 },
  { id: 'p2', script: 'p2-install.mjs', limit: QUICK ? 60 : 180 },
  { id: 'p3', script: 'p3-startup.mjs', args: ['--keep-library'], limit: QUICK ? 60 : 240 },
  // P4's churn: 2,000 saves + installs on the 100,000-component library in the full run (each save
  // rewrites a 3 MB map; 10,000 alone take over 10 minutes here: run p4-memory.mjs by itself for that).
  { id: 'p4', script: 'p4-memory.mjs', args: ['--keep-library', ...(QUICK ? [] : ['--churn', '2000'])], limit: QUICK ? 60 : 420 },
  { id: 'p5', script: 'p5-overlap.mjs', limit: QUICK ? 60 : 120 },
  { id: 'p6', script: 'p6-one-change.mjs', limit: QUICK ? 60 : 180 },
  { id: 'p7', script: 'p7-big-map-install.mjs', limit: QUICK ? 60 : 120 },
  { id: 'p8', script: 'p8-lost-events.mjs', args: ['--keep-library'], limit: QUICK ? 90 : 240 },
  {
    id: 'soak',
    script: 'soak-kill.mjs',
    args: ['--installs', String(SOAK.installs), '--kills', String(SOAK.kills), '--added', String(Math.max(1, Math.round(SOAK.installs / 10)))],
    limit: QUICK ? 60 : 300,
    quickFlag: false, // soak-kill takes its size from --installs/--kills
  },
].filter((s) => !ONLY || ONLY.includes(s.id));

const children = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    process.exit(130);
  });
}

/** Runs one script as a child (its own process group, so a time-out can end all of it). */
function runChild(s, jsonFile) {
  const childArgs = [join(BENCH_DIR, s.script), ...(QUICK && s.quickFlag !== false ? ['--quick'] : []), ...(s.args ?? []), '--json', jsonFile];
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    children.add(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`run-all: ${s.script} exceeded ${s.limit} s; killing it`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, s.limit * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, timedOut, seconds: (performance.now() - t0) / 1000, argv: childArgs.slice(1, -2) });
    });
  });
}

const cell = (s) =>
  String(s ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
const withUnit = (x, unit, digits) => (Number.isFinite(x) ? `${fmt(x, digits ?? 2)}${unit ? ` ${unit}` : ''}` : x === undefined ? '' : String(x));

function commandLine() {
  const passed = args.join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${passed ? ` -- ${passed}` : ''}`;
  return `node bench/run-all.mjs${passed ? ` ${passed}` : ''}`;
}

/** Splits a Markdown table line into cells (`\\|` is an escaped bar inside a cell). */
function cellsOf(line) {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** Rows back from a BENCHMARKS.md table: enough for causes.mjs (figure, value, baseline, unit, note). */
function rowsFromTable(text) {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('| figure |'));
  const rows = [];
  for (let i = at + 2; at >= 0 && i < lines.length && lines[i].startsWith('|'); i++) {
    const [figure, value, baseline, ratio, goal, verdict, note] = cellsOf(lines[i]);
    const m = /^(-?[\d.]+)\s*(.*)$/.exec(value);
    const b = /^(-?[\d.]+)\s*[^(]*\((.*)\)$/.exec(baseline);
    rows.push({
      figure,
      valueText: value,
      value: m ? Number(m[1]) : value,
      unit: m ? m[2] : undefined,
      baseline: b ? Number(b[1]) : undefined,
      baselineLabel: b ? b[2] : undefined,
      ratio: ratio ? Number(ratio.replace('×', '')) : undefined,
      goal,
      pass: verdict === '' ? undefined : verdict === 'pass',
      note,
    });
  }
  return rows;
}

function missesSection(rows) {
  const L = ['## Misses and their causes', ''];
  const misses = rows.filter((r) => r.pass === false);
  if (!misses.length) L.push('Every figure met its goal in this run.');
  for (const r of misses)
    L.push(
      `- **${r.figure}** (${r.valueText ?? withUnit(r.value, r.unit, r.digits)}; goal ${r.goal}): ${causeOf(r, rows) ?? 'cause not yet investigated: profile it (bench/tools/, `node --cpu-prof`, heap snapshots) and name it in bench/causes.mjs.'}`,
    );
  L.push('');
  return L;
}

async function causesOnly() {
  const text = await fsp.readFile(OUT, 'utf8');
  const start = text.indexOf('## Misses and their causes');
  const end = text.indexOf(HAND_WRITTEN);
  if (start < 0 || end < 0) throw new Error(`${OUT} has no causes section to rewrite`);
  const rows = rowsFromTable(text);
  await fsp.writeFile(OUT, `${text.slice(0, start)}${missesSection(rows).join('\n')}\n${text.slice(end)}`);
  console.log(`run-all: rewrote the causes of ${rows.filter((r) => r.pass === false).length} misses in ${OUT}`);
}

async function main() {
  if (CAUSES_ONLY) return causesOnly();
  const started = new Date();
  const t0 = performance.now();
  const load0 = os.loadavg();
  await fsp.mkdir(WORK, { recursive: true });
  const results = [];
  console.log(`run-all: ${SCRIPTS.length} benchmarks${QUICK ? ' (quick)' : ''}`);
  for (const s of SCRIPTS) {
    const jsonFile = join(WORK, `result-${s.id}-${process.pid}.json`);
    await rmrf(jsonFile);
    console.log(`\n== ${s.script} ${QUICK ? '(quick) ' : ''}==`);
    const r = await runChild(s, jsonFile);
    let data = { rows: [] };
    try {
      data = JSON.parse(await fsp.readFile(jsonFile, 'utf8'));
    } catch {
      /* the script died before finish() */
    }
    await rmrf(jsonFile);
    const rows = data.rows ?? [];
    const failed = r.timedOut || r.code !== 0;
    if (failed && !rows.length) {
      rows.push({
        figure: s.script,
        value: undefined,
        goal: 'runs',
        pass: false,
        note: r.timedOut ? `timed out after ${s.limit} s` : `exited ${r.code ?? r.signal}: ${data.error ?? 'no rows reported'}`,
      });
    } else if (failed) {
      rows[rows.length - 1].note =
        `${rows[rows.length - 1].note ?? ''}${rows[rows.length - 1].note ? '; ' : ''}script ${r.timedOut ? 'timed out' : `exited ${r.code ?? r.signal}`}${data.error ? `: ${data.error}` : ''}`;
    }
    for (const row of rows) row.script = s.script;
    results.push({ ...s, ...r, rows, extra: data });
    console.log(`   (${s.script}: ${fmt(r.seconds, 1)} s${failed ? ', FAILED' : ''})`);
  }
  // The large library is this run's only if P3 or P4 ran (another user of bench/.work may hold one).
  const usedLarge = SCRIPTS.some((s) => s.id === 'p3' || s.id === 'p4' || s.id === 'p8');
  if (usedLarge && !KEEP_LIBRARY) for (const e of await fsp.readdir(WORK).catch(() => [])) if (e.startsWith('large-')) await rmrf(join(WORK, e));
  const totalS = (performance.now() - t0) / 1000;
  const load1 = os.loadavg();
  await writeReport({ started, totalS, load0, load1, results });
  const rows = results.flatMap((r) => r.rows);
  const misses = rows.filter((r) => r.pass === false);
  console.log(`\nrun-all: ${rows.length} figures, ${misses.length} missed their goal; ${fmt(totalS, 1)} s in all (budget ${QUICK ? 60 : 600} s); wrote ${OUT}`);
  if (totalS > (QUICK ? 60 : 600)) console.log('run-all: over the time budget');
}

async function writeReport({ started, totalS, load0, load1, results }) {
  const m = machineFacts();
  const rows = results.flatMap((r) => r.rows);
  const L = [];
  L.push('# Benchmarks');
  L.push('');
  L.push(
    `Written by \`bench/run-all.mjs\` (see README, "Benchmarks"). Every figure is compared with a baseline measured in the same run, on the same machine, because the machine is shared and noisy: the ratio is the figure to read.${QUICK ? ' **This was a `--quick` smoke run: reduced sizes (P1 20 saves, P2 200 installs, P3/P4 10,000 components, P4 300 saves of churn, P5 24 requests, P6 20 changes, P7 a 10,000-goal map, P8 100 named files and 10,000 components, a 12-install soak), not the sizes of the issue.**' : ''}`,
  );
  L.push('');
  L.push(`- date: ${started.toISOString()}`);
  L.push(`- command: \`${commandLine()}\` (${fmt(totalS, 1)} s in all; ${results.map((r) => `${r.id} ${fmt(r.seconds, 0)} s`).join(', ')})`);
  L.push(
    `- machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB RAM, ${m.kernel}, Node ${m.node}; disk ${m.disk}; fs.inotify.max_user_watches ${m.maxUserWatches}`,
  );
  L.push(`- load average (1/5/15 min) at start ${load0.map((x) => fmt(x)).join(' / ')}, at end ${load1.map((x) => fmt(x)).join(' / ')}`);
  L.push('');
  L.push('| figure | value | baseline (label) | ratio | goal | pass/miss | notes |');
  L.push('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const baseline = r.baseline === undefined ? '' : `${withUnit(r.baseline, r.unit, r.digits)} (${r.baselineLabel ?? 'baseline'})`;
    const ratio = Number.isFinite(r.ratio) ? `${fmt(r.ratio, 2)}×` : '';
    const verdict = r.pass === undefined ? '' : r.pass ? 'pass' : '**MISS**';
    L.push(
      `| ${cell(r.figure)} | ${cell(withUnit(r.value, r.unit, r.digits))} | ${cell(baseline)} | ${ratio} | ${cell(r.goal)} | ${verdict} | ${cell(r.note)} |`,
    );
  }
  L.push('');
  L.push(...missesSection(rows));
  let kept = '';
  try {
    const old = await fsp.readFile(OUT, 'utf8');
    const at = old.indexOf(HAND_WRITTEN);
    if (at >= 0) kept = old.slice(at + HAND_WRITTEN.length).replace(/^\n+/, '');
  } catch {
    /* first run */
  }
  L.push(HAND_WRITTEN);
  L.push('');
  if (kept) L.push(kept.trimEnd());
  await fsp.writeFile(OUT, `${L.join('\n').trimEnd()}\n`);
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
