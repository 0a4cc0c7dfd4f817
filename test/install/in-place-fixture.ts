/**
 * A library on the in-memory disk with an in-place save watch on its map (in-place-saves.ts),
 * shared by the in-place save tests. The watch's lane runs each re-apply at once, or holds it
 * until `releaseLane` (a lane busy with other work); its reports are collected.
 */
import { InPlaceSaves, type InPlaceOutcome } from '../../src/install/in-place-saves.js';
import type { FsLayer } from '../../src/fsio/fs-layer.js';
import { faultFs, libraryClassifier, type FaultPlan } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

export const MAP = '/lib/config/goal_map.json';
export const COMPONENTS = '/lib/components';
export const STATE = '/lib/.jitd';
export const G = 'autogen_persona_for_diagnose_root_cause.txt';
export const REPOINT = { goal: 'DIAGNOSE_ROOT_CAUSE', type: 'persona', from: 'sre.txt', to: G };
export const ORIGINAL = '{\r\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" },\r\n  "REVIEW": { "protocol": "review.txt" }\r\n}\r\n';
/** The person's save: their new goal, the entry jitd repoints still naming the missing file. */
export const PERSONS =
  '{\r\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" },\r\n  "NEW_GOAL": { "format": "f.txt" },\r\n  "REVIEW": { "protocol": "review.txt" }\r\n}\r\n';
/** `text` with jitd's repoint applied. */
export const repointed = (text: string) => text.replace('"sre.txt"', JSON.stringify(G));

export interface InPlaceLibOptions {
  graceMs?: number;
  pollMs?: number;
  settleMs?: number;
  /** Wraps the disk in fault-fs.ts with this plan (its steps named by the library's roles). */
  plan?: FaultPlan;
  /** Holds each re-apply until `releaseLane`. */
  holdLane?: boolean;
  /** Leaves out `onRecovered` / `onError`. */
  noRecovered?: boolean;
  noErrors?: boolean;
}

export function inPlaceLib(o: InPlaceLibOptions = {}) {
  const mem = new MemFs();
  mem.writeFile(MAP, ORIGINAL);
  mem.writeFile(`${COMPONENTS}/personas/${G}`, 'generated\n');
  mem.mkdirpSync(STATE, 0o700);
  mem.checkpoint();
  const fs: FsLayer = o.plan ? faultFs(mem, { classify: libraryClassifier({ mapFile: MAP, componentsDir: COMPONENTS, stateDir: STATE }), ...o.plan }) : mem;
  const recovered: InPlaceOutcome[] = [];
  const errors: unknown[] = [];
  const scheduled: string[] = [];
  /** Errors a re-apply threw out of the watch (the lane's, e.g. a failed fsync). */
  const laneErrors: unknown[] = [];
  const held: (() => Promise<void>)[] = [];
  let lane = Promise.resolve();
  const run = (job: () => Promise<void>) => void (lane = lane.then(job).catch((err: unknown) => void laneErrors.push(err)));
  const saves = new InPlaceSaves({
    fs,
    mapFile: MAP,
    componentsDir: COMPONENTS,
    stateDir: STATE,
    graceMs: o.graceMs ?? 2000,
    pollMs: o.pollMs ?? 10,
    settleMs: o.settleMs ?? 30,
    schedule: (what, job) => {
      scheduled.push(what);
      if (o.holdLane) held.push(job);
      else run(job);
    },
    ...(o.noRecovered ? {} : { onRecovered: (r: InPlaceOutcome) => void recovered.push(r) }),
    ...(o.noErrors ? {} : { onError: (err: unknown) => void errors.push(err) }),
  });
  return {
    mem,
    fs,
    saves,
    recovered,
    errors,
    scheduled,
    laneErrors,
    /** Runs the re-applies held so far; resolves when the lane is idle. */
    releaseLane: () => {
      for (const job of held.splice(0)) run(job);
      return lane;
    },
    /** Resolves when the re-applies scheduled so far have run. */
    idle: () => lane,
  };
}

/** A map of two entries, A and B, each with its generated file on disk, and jitd's repoints of them. */
export const TWO = '{"A":{"protocol":"a.txt"},"B":{"protocol":"b.txt"}}';
export const RA = { goal: 'A', type: 'protocol', from: 'a.txt', to: 'autogen_protocol_for_a.txt' };
export const RB = { goal: 'B', type: 'protocol', from: 'b.txt', to: 'autogen_protocol_for_b.txt' };
export function twoEntries(mem: MemFs): void {
  mem.writeFile(MAP, TWO);
  mem.writeFile(`${COMPONENTS}/protocols/${RA.to}`, 'a\n');
  mem.writeFile(`${COMPONENTS}/protocols/${RB.to}`, 'b\n');
}
