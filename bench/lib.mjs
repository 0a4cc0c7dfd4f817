/**
 * Shared helpers for the benchmarks: work directories, library generation, spawning the built
 * daemon and bare baselines, the control socket, /proc probes (RSS, inotify watches, CPU),
 * statistics and result reporting. Plain Node, no dependencies beyond the project's own.
 */
import { spawn, execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(BENCH_DIR, '..');
export const DIST = join(ROOT, 'dist');
export const JITD_BIN = join(DIST, 'bin', 'jitd.js');
export const WORK = join(BENCH_DIR, '.work');

export const argv = process.argv.slice(2);
export const QUICK = argv.includes('--quick');
const jsonAt = argv.indexOf('--json');
export const JSON_OUT = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

/** A fresh directory under bench/.work (removed by the caller's cleanup()). */
export async function workDir(name) {
  await fsp.mkdir(WORK, { recursive: true });
  return fsp.mkdtemp(join(WORK, `${name}-`));
}

export async function rmrf(path) {
  await fsp.rm(path, { recursive: true, force: true, maxRetries: 3 });
}

// ---------------------------------------------------------------------------------------------
// statistics

export function percentile(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}
export const median = (v) => percentile(v, 50);
export const fmt = (x, digits = 2) => (Number.isFinite(x) ? Number(x).toFixed(digits) : String(x));

// ---------------------------------------------------------------------------------------------
// results: every script reports rows { figure, value, unit, baseline, baselineLabel, ratio, goal, pass, note }

const rows = [];
export function report(row) {
  const r = { ...row };
  if (r.ratio === undefined && Number.isFinite(r.value) && Number.isFinite(r.baseline) && r.baseline > 0) r.ratio = r.value / r.baseline;
  rows.push(r);
  const parts = [
    `${r.figure}: ${fmt(r.value, r.digits ?? 2)} ${r.unit ?? ''}`.trim(),
    r.baseline !== undefined ? `baseline (${r.baselineLabel ?? 'baseline'}) ${fmt(r.baseline, r.digits ?? 2)} ${r.unit ?? ''}`.trim() : undefined,
    r.ratio !== undefined ? `ratio ${fmt(r.ratio, 2)}` : undefined,
    r.goal ? `goal ${r.goal}` : undefined,
    r.pass === undefined ? undefined : r.pass ? 'PASS' : 'MISS',
    r.note,
  ].filter(Boolean);
  console.log(`  ${parts.join(' | ')}`);
}

/** Writes the rows to --json FILE (for run-all) and returns them. */
export async function finish(extra = {}) {
  if (JSON_OUT) await fsp.writeFile(JSON_OUT, JSON.stringify({ rows, ...extra }, null, 2));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// machine facts

export function machineFacts() {
  const cpus = os.cpus();
  let disk = 'unknown';
  try {
    const out = execFileSync('df', ['-T', '-h', BENCH_DIR], { encoding: 'utf8' }).trim().split('\n')[1]?.split(/\s+/) ?? [];
    disk = `${out[0]} (${out[1]}, ${out[2]})`;
    const dev = out[0]?.replace('/dev/', '').replace(/\d+$/, '');
    try {
      const rot = execFileSync('cat', [`/sys/block/${dev}/queue/rotational`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      disk += rot === '0' ? ', non-rotational' : rot === '1' ? ', rotational' : '';
    } catch {
      /* not a block device we can inspect */
    }
  } catch {
    /* df missing */
  }
  let maxWatches = 'unknown';
  try {
    maxWatches = execFileSync('cat', ['/proc/sys/fs/inotify/max_user_watches'], { encoding: 'utf8' }).trim();
  } catch {
    /* not Linux */
  }
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    disk,
    maxUserWatches: maxWatches,
  };
}

// ---------------------------------------------------------------------------------------------
// /proc probes

/** Resident set size in MiB (VmRSS). */
export async function rssMiB(pid) {
  const s = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(s);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** inotify watches held by the process: `inotify wd:` lines in /proc/PID/fdinfo/*. */
export async function inotifyWatches(pid) {
  let n = 0;
  let fds = [];
  try {
    fds = await fsp.readdir(`/proc/${pid}/fdinfo`);
  } catch {
    return NaN;
  }
  for (const fd of fds) {
    try {
      const text = await fsp.readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      for (const line of text.split('\n')) if (line.startsWith('inotify')) n++;
    } catch {
      /* fd closed meanwhile */
    }
  }
  return n;
}

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* default */
}

/** CPU time (user + system) consumed by the process so far, in ms (/proc/PID/stat, tick resolution). */
export async function cpuMs(pid) {
  const s = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clkTck;
}

// ---------------------------------------------------------------------------------------------
// libraries

/** Writes `<componentsDir>/<dir>/<name>` for each name, `parallel` files at a time. */
export async function writeFiles(paths, text = 'x\n', parallel = 64) {
  let i = 0;
  const worker = async () => {
    for (;;) {
      const p = paths[i++];
      if (p === undefined) return;
      await fsp.writeFile(p, text);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/**
 * Creates a library under `root`: config/jitd.json, config/goal_map.json (from `map` or
 * `mapText`), components/ with the given files, and a short socket path.
 */
export async function makeLibrary(root, { map, mapText, files = [], config = {} } = {}) {
  const configDir = join(root, 'config');
  const componentsDir = join(root, 'components');
  await fsp.mkdir(configDir, { recursive: true });
  await fsp.mkdir(componentsDir, { recursive: true });
  const dirs = new Set(files.map((f) => dirname(join(componentsDir, f))));
  for (const d of dirs) await fsp.mkdir(d, { recursive: true });
  await writeFiles(files.map((f) => join(componentsDir, f)));
  const mapFile = join(configDir, 'goal_map.json');
  await fsp.writeFile(mapFile, mapText ?? `${JSON.stringify(map ?? {}, null, 2)}\n`);
  const socketPath = join(root, 's.sock');
  const cfg = {
    mapFile: 'goal_map.json',
    componentsDir: '../components',
    stateDir: '../.jitd',
    socketPath,
    provider: { kind: 'template' },
    log: { level: 'info' },
    ...config,
  };
  const configFile = join(configDir, 'jitd.json');
  await fsp.writeFile(configFile, JSON.stringify(cfg, null, 2));
  return { root, configDir, componentsDir, mapFile, configFile, socketPath, stateDir: join(root, '.jitd') };
}

/**
 * The large library of P3/P4: `files` component files spread over `dirs` type directories
 * (`t000s` ... ), and `goals` goals whose entries reference every file (files / goals entries
 * per goal), so the start-up reconcile finds nothing missing and creates no requests.
 * Answers the map as text (built by string concatenation: fast) and the list of entries.
 */
export async function makeLargeLibrary(root, { files, dirs, goals, config = {}, filesForMap }) {
  const mapFiles = filesForMap ?? files;
  const perDir = Math.ceil(mapFiles / dirs);
  const typeName = (d) => `t${String(d).padStart(4, '0')}`;
  const fileName = (i) => `c${String(i).padStart(6, '0')}.txt`;
  const paths = [];
  for (let i = 0; i < files; i++) paths.push(`${typeName(Math.floor(i / perDir))}s/${fileName(i)}`);
  // Each goal takes `files / goals` consecutive files; consecutive files of one goal sit in
  // distinct directories when possible (a goal's types differ).
  const perGoal = Math.max(1, Math.floor(mapFiles / goals));
  const parts = ['{\n'];
  for (let g = 0; g < goals; g++) {
    const fields = [];
    for (let k = 0; k < perGoal; k++) {
      const i = k * goals + g; // spread: entry k of goal g
      if (i >= mapFiles) break;
      fields.push(`"${typeName(Math.floor(i / perDir))}": "${fileName(i)}"`);
    }
    parts.push(`  "G${String(g).padStart(6, '0')}": {${fields.join(', ')}}${g === goals - 1 ? '' : ','}\n`);
  }
  parts.push('}\n');
  const mapText = parts.join('');
  const lib = await makeLibrary(root, { mapText, files: paths, config });
  return { ...lib, mapText, typeName, fileName, perDir };
}

// ---------------------------------------------------------------------------------------------
// the daemon

/**
 * Spawns the built daemon and resolves once its 'jitd ready' log line arrives. Answers
 * { proc, pid, readyMs (since spawn), lines, stop() }.
 */
export function startDaemon(configFile, { nodeArgs = [], env = {}, timeoutMs = 120_000 } = {}) {
  const t0 = now();
  const proc = spawn(process.execPath, [...nodeArgs, JITD_BIN, '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines = [];
  let stderr = '';
  const listeners = new Set();
  let buf = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        obj = { msg: line };
      }
      if (lines.length < 10_000) lines.push(obj);
      for (const l of listeners) l(obj);
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  const ready = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`jitd not ready within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    const l = (obj) => {
      if (obj.msg === 'jitd ready') {
        clearTimeout(timer);
        listeners.delete(l);
        res(now() - t0);
      }
    };
    listeners.add(l);
    exited.then(({ code }) => {
      clearTimeout(timer);
      rej(new Error(`jitd exited (${code}) before ready: ${stderr}`));
    });
  });
  return {
    proc,
    pid: proc.pid,
    lines,
    ready,
    exited,
    onLine: (fn) => listeners.add(fn),
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/**
 * Spawns a bare baseline process (bench/baseline/*.mjs). It prints 'ready <ms>' and then one line
 * per event; answers { proc, pid, ready (ms since spawn), onLine(fn), stop() }.
 */
export function startBaseline(script, args = [], { timeoutMs = 300_000 } = {}) {
  const t0 = now();
  const proc = spawn(process.execPath, [join(BENCH_DIR, 'baseline', script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const listeners = new Set();
  let buf = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      for (const l of listeners) l(line);
    }
  });
  const exited = new Promise((res) => proc.on('exit', (code) => res(code)));
  const ready = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${script} not ready within ${timeoutMs} ms`)), timeoutMs);
    const l = (line) => {
      if (line.startsWith('ready')) {
        clearTimeout(timer);
        listeners.delete(l);
        res(now() - t0);
      }
    };
    listeners.add(l);
    exited.then((code) => rej(new Error(`${script} exited (${code}) before ready`)));
  });
  return {
    proc,
    pid: proc.pid,
    ready,
    onLine: (fn) => listeners.add(fn),
    offLine: (fn) => listeners.delete(fn),
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the control socket: newline-delimited JSON

/** Connects to the socket; answers { request(method, params), onEvent(fn), close() }. */
export function socketClient(socketPath) {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(socketPath);
    const pending = new Map();
    const eventListeners = new Set();
    let nextId = 1;
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const t = now();
        let msg;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg.event) {
          for (const l of eventListeners) l(msg.event, t);
        } else if (pending.has(msg.id)) {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          if (msg.error) p.rej(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
          else p.res(msg.result);
        }
      }
    });
    socket.on('error', (err) => {
      for (const p of pending.values()) p.rej(err);
      pending.clear();
    });
    // The daemon may close a connection without an error (a dropped client): fail what is
    // pending rather than leave it hanging, and let the caller see it.
    socket.on('close', () => {
      const err = Object.assign(new Error('control connection closed'), { code: 'ECLOSED' });
      for (const p of pending.values()) p.rej(err);
      pending.clear();
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      resolvePromise({
        socket,
        request(method, params = {}) {
          const id = nextId++;
          return new Promise((res, rej) => {
            pending.set(id, { res, rej });
            socket.write(`${JSON.stringify({ id, method, params })}\n`);
          });
        },
        onEvent: (fn) => eventListeners.add(fn),
        offEvent: (fn) => eventListeners.delete(fn),
        close: () => socket.destroy(),
      });
    });
  });
}

/** Connects and subscribes (all event types). */
export async function subscribe(socketPath, types) {
  const c = await socketClient(socketPath);
  await c.request('subscribe', types ? { types } : {});
  return c;
}

/** Saves `text` at `file` editor-style: write a temp beside it, then rename over it. */
export async function saveByRename(file, text, tempName = `${file}.bench-save`) {
  await fsp.writeFile(tempName, text);
  const t = now();
  await fsp.rename(tempName, file);
  return t;
}

/** A durable put outside jitd, as the P2 floor: write temp, fsync, rename, fsync the directory. */
export async function barePut(target, data) {
  const temp = join(dirname(target), `.bench-tmp.${process.pid}.${Math.random().toString(36).slice(2)}`);
  const fh = await fsp.open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
  try {
    await fh.write(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(temp, target);
  const dh = await fsp.open(dirname(target), constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Runs `main` as a benchmark script: banner, errors to exit code 1. */
export function runScript(title, main) {
  console.log(`${title}${QUICK ? ' (quick)' : ''}`);
  main()
    .then(async (extra) => {
      await finish(extra ?? {});
      process.exit(0);
    })
    .catch(async (err) => {
      console.error(err?.stack ?? err);
      await finish({ error: String(err?.message ?? err) });
      process.exit(1);
    });
}

// ---------------------------------------------------------------------------------------------
// the large library of P3/P4, built once per run and shared (run-all passes --keep-library)

export const LARGE = QUICK ? { files: 10_000, dirs: 100, goals: 5_000 } : { files: 100_000, dirs: 1_000, goals: 50_000 };
export const KEEP_LIBRARY = argv.includes('--keep-library');

/**
 * The large library, built under bench/.work/large-<files>/ unless already there. The state
 * directory is removed and the map restored, so every user starts from the same library.
 */
export async function largeLibrary() {
  const root = join(WORK, `large-${LARGE.files}`);
  const marker = join(root, '.complete');
  let built = false;
  let exists = false;
  try {
    await fsp.access(marker);
    exists = true;
  } catch {
    /* build it */
  }
  const t0 = now();
  if (!exists) {
    await rmrf(root);
    await fsp.mkdir(root, { recursive: true });
  }
  // makeLargeLibrary is deterministic; when the tree exists only the map and config are rewritten.
  const lib = exists ? await describeLargeLibrary(root) : await makeLargeLibrary(root, LARGE);
  if (!exists) {
    await fsp.writeFile(marker, '');
    built = true;
  }
  await rmrf(lib.stateDir);
  await fsp.writeFile(lib.mapFile, lib.mapText);
  return {
    ...lib,
    built,
    buildMs: now() - t0,
    async cleanup() {
      if (!KEEP_LIBRARY) await rmrf(root);
    },
  };
}

async function describeLargeLibrary(root) {
  // Rebuild the descriptor (and the map text) without touching the component tree.
  const tmp = await fsp.mkdtemp(join(WORK, 'desc-'));
  try {
    const d = await makeLargeLibrary(tmp, { ...LARGE, files: 0, filesForMap: LARGE.files });
    const lib = await makeLibrary(root, { mapText: d.mapText });
    return { ...lib, mapText: d.mapText, typeName: d.typeName, fileName: d.fileName, perDir: d.perDir };
  } finally {
    await rmrf(tmp);
  }
}

/** Spawns `cmd args`, answers its wall time in ms (spawn to exit) and its stdout line count. */
export function timeCommand(cmd, args) {
  return new Promise((res, rej) => {
    const t0 = now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let lines = 0;
    p.stdout.on('data', (c) => {
      for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
    });
    p.on('error', rej);
    p.on('close', (code) => (code === 0 ? res({ ms: now() - t0, lines }) : rej(new Error(`${cmd} exited ${code}`))));
  });
}
