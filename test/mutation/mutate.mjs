#!/usr/bin/env node
/**
 * `npm run mutate`: mutation testing of the crash-safety core (docs/mutation-testing.md).
 *
 * Runs Stryker once per source file of test/mutation/targets.mjs, against that file's tests,
 * then prints one table of the figures (per file, per group, in all) and every survivor with
 * the comment that says why it is equivalent. It exits 1 when a Stryker run fails, a survivor
 * has no stated reason, or the core scores below --break (90 %).
 *
 *   node test/mutation/mutate.mjs [--fresh] [--only <part of a path>] [--concurrency N]
 *                                 [--break 90] [--summary-only]
 *
 * Each file keeps an incremental file (reports/inc/), so a second run tests only mutants whose
 * code or tests changed. `--fresh` deletes them first: a static mutant (a module-level constant)
 * was once seen keeping an earlier "survived" after a new test killed it, so figures to publish
 * come from a fresh run. Reports: reports/mutation/files/*.json, logs beside them, and
 * reports/mutation/summary.md.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addCounts, emptyCounts, formatScore, score, summarize, tableRow } from './summary.mjs';
import { targets } from './targets.mjs';

const { values: opts } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    concurrency: { type: 'string', default: String(Math.max(1, availableParallelism())) },
    break: { type: 'string', default: '90' },
    'summary-only': { type: 'boolean', default: false },
  },
});
const reports = 'reports/mutation';
const filesDir = join(reports, 'files');
const slug = (file) =>
  file
    .replace(/^src\//, '')
    .replace(/\.ts$/, '')
    .replaceAll('/', '-');
const chosen = targets.filter((t) => !opts.only || opts.only.some((o) => t.file.includes(o)));
if (!chosen.length) fail(`no target matches --only ${opts.only?.join(', ')}`);

/** @param {string} msg */
function fail(msg) {
  console.error(`mutate: ${msg}`);
  process.exit(2);
}

/** One Stryker run of one file; its JSON report lands in reports/mutation/files/. */
async function runOne(t) {
  const name = slug(t.file);
  const inc = join('reports/inc', `${name}.json`);
  if (opts.fresh) await rm(inc, { force: true });
  await rm(join(reports, 'mutation.json'), { force: true });
  const log = join(filesDir, `${name}.log`);
  const args = ['run', '--mutate', t.file, '--concurrency', opts.concurrency, '--incremental', '--incrementalFile', inc, '--reporters', 'json,clear-text'];
  const started = performance.now();
  const code = await new Promise((resolve, reject) => {
    const child = spawn(join('node_modules', '.bin', 'stryker'), args, {
      env: { ...process.env, STRYKER_TESTS: t.tests.join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => out.push(b));
    child.on('error', reject);
    child.on('close', (c) => void writeFile(log, Buffer.concat(out)).then(() => resolve(c), reject));
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) return { name, ok: false, seconds, log };
  await rename(join(reports, 'mutation.json'), join(filesDir, `${name}.json`));
  // Kept beside the report, so a later table (--only, --summary-only) still shows it.
  await writeFile(join(filesDir, `${name}.time.json`), `${JSON.stringify({ seconds, at: new Date().toISOString() })}\n`);
  return { name, ok: true, seconds, log };
}

const minSec = (s) => `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
const started = performance.now();
await mkdir(filesDir, { recursive: true });
await mkdir('reports/inc', { recursive: true });
const times = new Map();
let failed = 0;
if (!opts['summary-only']) {
  for (const t of chosen) {
    const r = await runOne(t);
    times.set(t.file, r.seconds);
    if (!r.ok) failed++;
    console.log(`${r.ok ? 'ran   ' : 'FAILED'} ${t.file} in ${minSec(r.seconds)}${r.ok ? '' : ` (see ${r.log})`}`);
  }
}

// The table: every target whose report is on disk (this run's, or an earlier one's).
const onDisk = new Set(await readdir(filesDir));
const groups = new Map();
const survivors = [];
const lines = ['| file | killed | timed out | survived | no coverage | ignored | score | run time | tests run |', '|---|---|---|---|---|---|---|---|---|'];
for (const t of targets) {
  if (!onDisk.has(`${slug(t.file)}.json`)) continue;
  const report = JSON.parse(await readFile(join(filesDir, `${slug(t.file)}.json`), 'utf8'));
  const entry = summarize(report).get(t.file);
  if (!entry) continue;
  const timeFile = join(filesDir, `${slug(t.file)}.time.json`);
  const seconds = times.get(t.file) ?? (onDisk.has(`${slug(t.file)}.time.json`) ? JSON.parse(await readFile(timeFile, 'utf8')).seconds : undefined);
  const time = seconds === undefined ? '' : minSec(seconds);
  lines.push(tableRow(`\`${t.file.replace(/^src\//, '')}\``, entry.counts, ` ${time} | ${t.tests.map((g) => `\`${g.replace(/^test\//, '')}\``).join(', ')} |`));
  if (entry.counts.errors) console.log(`note: ${t.file} has ${entry.counts.errors} mutants in error (CompileError/RuntimeError)`);
  addCounts(groups.get(t.group) ?? groups.set(t.group, emptyCounts()).get(t.group), entry.counts);
  survivors.push(...entry.survivors);
}
const all = emptyCounts();
for (const [g, c] of groups) {
  lines.push(tableRow(`**${g}**`, c, ' | |'));
  addCounts(all, c);
}
lines.push(tableRow('**all**', all, ' | |'));

const unexplained = survivors.filter((s) => !s.reason);
const text = [
  ...lines,
  '',
  `Survivors: ${survivors.length}, ${survivors.length - unexplained.length} with a stated reason, ${unexplained.length} without.`,
  ...survivors.map(
    (s) =>
      `- ${s.reason ? '' : '**no reason** '}${s.file}:${s.line} ${s.mutator}${s.status === 'NoCoverage' ? ' (no coverage)' : ''} → \`${s.replacement.replace(/\s+/g, ' ').slice(0, 60)}\`${s.reason ? ` — line ${s.reason.line}: ${s.reason.text.slice(0, 100)}` : ''}`,
  ),
  '',
].join('\n');
await writeFile(join(reports, 'summary.md'), text);
console.log(`\n${text}`);
if (!opts['summary-only']) console.log(`whole run: ${minSec((performance.now() - started) / 1000)}; summary in ${join(reports, 'summary.md')}`);

const core = groups.get('core');
const coreScore = core ? score(core) : undefined;
const problems = [];
if (failed) problems.push(`${failed} Stryker run(s) failed`);
if (unexplained.length) problems.push(`${unexplained.length} survivor(s) without a stated reason`);
if (coreScore !== undefined && coreScore < Number(opts.break)) problems.push(`the core scores ${formatScore(coreScore)}, below ${opts.break} %`);
if (problems.length) {
  console.error(`mutate: ${problems.join('; ')}`);
  process.exit(1);
}
