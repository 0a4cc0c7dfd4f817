/**
 * Fault injection for the file-system seam (tests only; inert unless asked for). A library
 * module: the production daemon never imports it. A real process reaches it only through the
 * test entry point test/support/jitd-under-test.mjs (which hands `faultFsFromEnv` to runDaemon
 * as `wrapFs`) and the kill-matrix child test/support/crash-child.mjs; `jitd` itself ignores
 * every JITD_TEST_* variable.
 *
 * `faultFs(inner, plan)` wraps every operation of an {@link FsLayer} and names each one as a
 * *step* `<op>:<role>#<n>`: `op` is the operation (`open` = exclusive create of a temp, `write`,
 * `chmod`, `fsync`, `close`, `rename` (a plain or guarded replace), `link`, `unlink`, `mkdir`,
 * `fsyncdir`, `read`, `readdir`, `lstat`, `realpath`, and on a replaced version kept open,
 * `fstat` and `pread`), `role` what the path is to the library (`map`, `component`, `request`, ...,
 * decided by a classifier; a `.jitd-tmp.*` temp takes the role of the file it stands in for, a
 * directory the role of what it contains), and `n` counts occurrences of `<op>:<role>` from 1.
 *
 * At a step the plan can
 *  - crash:  `before:<step>` or `after:<step>` calls `onCrash` (in a child process:
 *            SIGKILL itself); if `onCrash` returns, the layer is dead from then on and every
 *            operation throws {@link SimulatedCrash};
 *  - fault:  fail the operation with an errno (`ENOSPC`, `EIO`...), or make a write short
 *            (`short:<bytes>`) or make no progress at all (`zero`);
 *  - hook:   run a callback before or after the step (a person saving the map meanwhile);
 *  - trace:  report every step name (to enumerate all crash points first).
 *
 * `faultFsFromEnv(inner, env)` builds the plan from `JITD_TEST_CRASH_AT`, `JITD_TEST_FAULT`
 * and `JITD_TEST_TRACE`; with none of them set it answers `inner` untouched.
 */
import { appendFileSync } from 'node:fs';
import { basename, dirname, join, relative, isAbsolute } from 'node:path';
import type { FsLayer, KeptFile, WritableFile } from '../../src/fsio/fs-layer.js';
import { TEMP_PREFIX } from '../../src/fsio/temp-files.js';

export type StepOp =
  | 'open'
  | 'write'
  | 'chmod'
  | 'fsync'
  | 'close'
  | 'rename'
  | 'link'
  | 'unlink'
  | 'mkdir'
  | 'fsyncdir'
  | 'read'
  | 'readdir'
  | 'lstat'
  | 'realpath'
  | 'fstat'
  | 'pread';

/** Operations that change what is (or will be) on disk: the interesting crash points. */
export const MUTATING_OPS: ReadonlySet<StepOp> = new Set(['open', 'write', 'chmod', 'fsync', 'rename', 'link', 'unlink', 'mkdir', 'fsyncdir']);

/** Classifies a path (file or directory) into a role name. */
export type Classifier = (path: string) => string;

/** A fault injected at a step. */
export type FaultKind =
  | { error: string } // fail with this errno code, nothing done
  | { short: number } // a write writes at most this many bytes
  | { zero: true }; // a write makes no progress (returns 0)

export interface FaultRule {
  /** `op:role` (every occurrence) or `op:role#n` (the n-th only). */
  at: string;
  fault: FaultKind;
}

export interface FaultPlan {
  classify?: Classifier;
  /** Crash points: `before:op:role#n` / `after:op:role#n`. */
  crashAt?: string | readonly string[];
  /** Called at a crash point. Default: throw (the layer is dead afterwards either way). */
  onCrash?: (point: string) => void;
  faults?: readonly FaultRule[];
  /** Callbacks at `before:op:role#n` / `after:op:role#n` (may be async; awaited). */
  hooks?: Readonly<Record<string, () => unknown>>;
  /** Receives every step `op:role#n` as it starts. */
  trace?: (step: string, path: string) => void;
}

/** Thrown by every operation of a fault layer once it has crashed. */
export class SimulatedCrash extends Error {
  readonly code = 'ESIMCRASH';
  constructor(readonly point: string) {
    super(`simulated crash at ${point}`);
    this.name = 'SimulatedCrash';
  }
}

export interface FaultFs extends FsLayer {
  /** Every step started so far, in order (`op:role#n`). */
  readonly steps: readonly string[];
  /** True once a crash point was reached. */
  readonly crashed: boolean;
}

/** The target a jitd temp stands in for (its name carries up to 40 characters of the target's). */
function tempTarget(path: string): string | undefined {
  const name = basename(path);
  if (!name.startsWith(TEMP_PREFIX)) return undefined;
  const rest = name.slice(TEMP_PREFIX.length);
  const dot = rest.lastIndexOf('.');
  return join(dirname(path), dot > 0 ? rest.slice(0, dot) : rest);
}

const inside = (root: string, p: string): boolean => {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/**
 * The classifier for a library: `map` (the map file, its temps and its directory), `seed-temp`
 * (the seed's `goal_map.json.tmp`), `request` (records and their directory), `quarantine`,
 * `staged` (staged outputs and their directory), `staged-provenance` (a staged output's
 * provenance sidecar, `staged/<id>.json`), `candidate`, `state` (anything else under stateDir),
 * `components-root`, `component` (a `<type>s` directory and its files), `other`.
 */
export function libraryClassifier(paths: { mapFile: string; componentsDir: string; stateDir: string }): Classifier {
  const mapDir = dirname(paths.mapFile);
  const requestsDir = join(paths.stateDir, 'requests');
  const quarantineDir = join(paths.stateDir, 'quarantine');
  const stagedDir = join(paths.stateDir, 'staged');
  const candidatesDir = join(paths.stateDir, 'candidates');
  const classify = (path: string): string => {
    const target = tempTarget(path);
    if (target !== undefined) return classify(target);
    if (path === paths.mapFile || path === mapDir) return 'map';
    if (path === `${paths.mapFile}.tmp`) return 'seed-temp';
    if (inside(quarantineDir, path)) return 'quarantine';
    if (inside(requestsDir, path)) return 'request';
    if (inside(stagedDir, path)) return path.endsWith('.json') ? 'staged-provenance' : 'staged';
    if (inside(candidatesDir, path)) return 'candidate';
    if (inside(paths.stateDir, path)) return 'state';
    if (path === paths.componentsDir) return 'components-root';
    if (inside(paths.componentsDir, path)) return 'component';
    return 'other';
  };
  return classify;
}

/** A classifier that knows nothing of the library: temps by target, else the base name. */
const byBaseName: Classifier = (path) => basename(tempTarget(path) ?? path);

function parseFaultKind(spec: string): FaultKind {
  if (spec === 'zero') return { zero: true };
  const short = /^short:(\d+)$/.exec(spec);
  if (short) return { short: Number(short[1]) };
  if (/^E[A-Z0-9]+$/.test(spec)) return { error: spec };
  throw new Error(`JITD_TEST_FAULT: unknown fault ${JSON.stringify(spec)} (use an errno such as ENOSPC, short:<bytes> or zero)`);
}

/** Parses `write:map#1=ENOSPC,fsync:component=EIO,write:request#2=short:10`. */
export function parseFaultRules(text: string): FaultRule[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const eq = s.lastIndexOf('=');
      if (eq <= 0) throw new Error(`JITD_TEST_FAULT: expected <op>:<role>[#n]=<fault>, got ${JSON.stringify(s)}`);
      return { at: s.slice(0, eq), fault: parseFaultKind(s.slice(eq + 1)) };
    });
}

function errnoError(code: string, op: string, path: string): Error {
  return Object.assign(new Error(`${code}: injected fault, ${op} '${path}'`), { code, syscall: op, path });
}

export function faultFs(inner: FsLayer, plan: FaultPlan = {}): FaultFs {
  const classify = plan.classify ?? byBaseName;
  const crashAt = new Set(typeof plan.crashAt === 'string' ? [plan.crashAt] : (plan.crashAt ?? []));
  const counts = new Map<string, number>();
  const steps: string[] = [];
  let crashed: string | undefined;

  const crash = (point: string): never => {
    crashed = point;
    plan.onCrash?.(point);
    throw new SimulatedCrash(point);
  };

  const faultFor = (key: string, step: string): FaultKind | undefined => plan.faults?.find((r) => r.at === key || r.at === step)?.fault;

  /** Runs `fn` as step `op:role#n` with crash points, hooks and faults around it. */
  async function step<T>(op: StepOp, path: string, fn: (fault: FaultKind | undefined) => Promise<T>): Promise<T> {
    if (crashed !== undefined) throw new SimulatedCrash(crashed);
    const key = `${op}:${classify(path)}`;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    const name = `${key}#${n}`;
    steps.push(name);
    plan.trace?.(name, path);
    const before = `before:${name}`;
    if (crashAt.has(before)) crash(before);
    await plan.hooks?.[before]?.();
    if (crashed !== undefined) throw new SimulatedCrash(crashed);
    const fault = faultFor(key, name);
    let result: T;
    try {
      if (fault && 'error' in fault) throw errnoError(fault.error, op, path);
      result = await fn(fault);
    } finally {
      const after = `after:${name}`;
      if (crashAt.has(after)) crash(after);
    }
    await plan.hooks?.[`after:${name}`]?.();
    return result;
  }

  /** A kept version's operations are steps too, named after the path it was replaced at. */
  const wrapKept = (kept: KeptFile, path: string): KeptFile => ({
    identity: () => step('fstat', path, () => kept.identity()),
    read: () => step('pread', path, () => kept.read()),
    // Closing a descriptor is never refused: a dead layer must not leak it.
    close: () => kept.close(),
  });

  const layer: FaultFs = {
    get steps() {
      return steps;
    },
    get crashed() {
      return crashed !== undefined;
    },
    async createExclusive(path, mode) {
      const file = await step('open', path, () => inner.createExclusive(path, mode));
      const wrapped: WritableFile = {
        write: (data, offset, length) =>
          step('write', path, (fault) => {
            if (fault && 'zero' in fault) return Promise.resolve(0);
            const len = fault && 'short' in fault ? Math.min(length, fault.short) : length;
            return file.write(data, offset, len);
          }),
        chmod: (mode) => step('chmod', path, () => file.chmod(mode)),
        sync: () => step('fsync', path, () => file.sync()),
        close: () => step('close', path, () => file.close()),
      };
      return wrapped;
    },
    readFile: (path) => step('read', path, () => inner.readFile(path)),
    readRegularFile: (path) => step('read', path, () => inner.readRegularFile(path)),
    rename: (from, to) => step('rename', to, () => inner.rename(from, to)),
    // The same step as a rename (the guard is part of it), so crash points and faults keep their names.
    renameIfUnchanged: async (from, to, identity) => {
      const r = await step('rename', to, () => inner.renameIfUnchanged(from, to, identity));
      return { published: r.published, kept: r.kept && wrapKept(r.kept, to) };
    },
    link: (from, to) => step('link', to, () => inner.link(from, to)),
    unlink: (path) => step('unlink', path, () => inner.unlink(path)),
    mkdirp: (path, mode) => step('mkdir', path, () => inner.mkdirp(path, mode)),
    readdir: (path) => step('readdir', path, () => inner.readdir(path)),
    lstat: (path) => step('lstat', path, () => inner.lstat(path)),
    realpath: (path) => step('realpath', path, () => inner.realpath(path)),
    syncDir: (path) => step('fsyncdir', path, () => inner.syncDir(path)),
  };
  return layer;
}

export interface FaultEnv {
  JITD_TEST_CRASH_AT?: string | undefined;
  JITD_TEST_FAULT?: string | undefined;
  JITD_TEST_TRACE?: string | undefined;
}

/**
 * The plan from the environment, for a real process:
 *  - `JITD_TEST_CRASH_AT=before:fsync:map#1[,after:...]`: SIGKILL this process at that point;
 *  - `JITD_TEST_FAULT=write:map#1=ENOSPC[,...]`: inject faults;
 *  - `JITD_TEST_TRACE=/path`: append every step name (`op:role#n`, one a line) to the file,
 *    synchronously, so the file is complete even when the process is killed a moment later.
 * Answers `inner` itself when none is set.
 */
export function faultFsFromEnv(inner: FsLayer, env: FaultEnv = process.env, opts: { classify?: Classifier } = {}): FsLayer {
  const crashAt =
    env.JITD_TEST_CRASH_AT?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? [];
  const faults = env.JITD_TEST_FAULT ? parseFaultRules(env.JITD_TEST_FAULT) : [];
  const tracePath = env.JITD_TEST_TRACE;
  if (!crashAt.length && !faults.length && !tracePath) return inner;
  for (const p of crashAt) {
    if (!/^(before|after):[a-z]+:[^#]+#\d+$/.test(p)) throw new Error(`JITD_TEST_CRASH_AT: expected before|after:<op>:<role>#<n>, got ${JSON.stringify(p)}`);
  }
  const plan: FaultPlan = {
    crashAt,
    faults,
    onCrash: () => {
      process.kill(process.pid, 'SIGKILL');
    },
  };
  if (opts.classify) plan.classify = opts.classify;
  if (tracePath) plan.trace = (name) => appendFileSync(tracePath, `${name}\n`);
  return faultFs(inner, plan);
}
