#!/usr/bin/env node
/**
 * The kill-matrix child: runs jitd's engine (the built `dist/` modules) on a real library,
 * through `faultFsFromEnv`, so `JITD_TEST_CRASH_AT=before:fsync:map#1` SIGKILLs it at that
 * step and `JITD_TEST_TRACE=FILE` lists every step it takes.
 *
 *   node crash-child.mjs '<json spec>'
 *
 * spec: { configFile, goal, type, answer, callsFile, askedFile, traceMarks?, inPlace?, review?, regenerate? }
 * With `inPlace` (the text of a person's save), the map is opened before the answer, as an
 * editor holds it, and once the install is through that text is written through the
 * descriptor (ftruncate, write: an in-place save into the version jitd replaced); the run then
 * waits for jitd to re-apply it (src/install/in-place-saves.ts).
 * With `review`, the answer is held for review (a draft) and every draft is then approved (the
 * person approving, in the first run or again after a crash).
 * With `regenerate: { feedback, review?, personEdit? }`, once the first install is done the
 * person asks for a regeneration with `feedback` (engine.regenerate, as the daemon's handler
 * does) unless the library shows one was asked already (its intent, a draft, a replacement or a
 * candidate with that feedback: what `jitctl show` tells them); with `review` every draft is then
 * approved. With `personEdit` (a text), the person first saves that text over the installed
 * file (in place, not through jitd) while it still holds jitd's text.
 * The flow is the daemon's: load requests + start-up reconcile (which creates the request),
 * answer the request if one is waiting for (goal, type) — counted in askedFile —, generate
 * through a fake provider — each call counted in callsFile —, install, done. The same script is
 * the "recover" run: started again on what a crash left, it reconciles and finishes the job.
 */
import { appendFileSync, closeSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { faultFsFromEnv, libraryClassifier } from '../../dist-test/test/support/fault-fs.js';
import { nodeFs } from '../../dist/fsio/node-fs.js';
import { Engine } from '../../dist/jobs/engine.js';
import { resolveConfig } from '../../dist/library/config.js';

const spec = JSON.parse(process.argv[2] ?? '{}');
const config = resolveConfig(JSON.parse(readFileSync(spec.configFile, 'utf8')), spec.configFile, {});
const fs = faultFsFromEnv(nodeFs, process.env, { classify: libraryClassifier(config) });
const trace = process.env.JITD_TEST_TRACE;
const mark = (what) => {
  if (trace) appendFileSync(trace, `#${what}\n`);
};

const contentFor = (goal, type, description) => `You are ${goal} ${type}.\nDescription: ${description}\n`;
/** A regeneration's text names its feedback, so a check can tell which text is installed. */
const regeneratedFor = (goal, type, feedback) => `You are ${goal} ${type}, regenerated.\nFeedback: ${feedback}\n`;

const provider = {
  name: 'fake',
  async generate(input) {
    appendFileSync(spec.callsFile, input.regeneration ? `${input.goal} regenerate\n` : `${input.goal}\n`);
    mark('provider-called');
    if (input.regeneration) return regeneratedFor(input.goal, input.type, input.regeneration.feedback);
    return contentFor(input.goal, input.type, input.description);
  },
};

let fatal;
const engine = new Engine({
  fs,
  config,
  provider,
  log: pino({ level: 'silent' }),
  onFatal: (err) => {
    fatal = err;
  },
});

await engine.start();
mark('reconciled');
const editorFd = spec.inPlace ? openSync(config.mapFile, 'r+') : undefined;
for (const r of engine.store.all()) {
  if (r.state === 'waiting' && r.goal === spec.goal && r.type === spec.type) {
    appendFileSync(spec.askedFile, `${r.id}\n`);
    mark('asked');
    await engine.answer(r.id, spec.answer, spec.review ? { review: true } : {});
    mark('answer-acknowledged');
  }
}
await engine.idle();
if (editorFd !== undefined) {
  mark('in-place-save');
  ftruncateSync(editorFd, 0);
  writeSync(editorFd, spec.inPlace, 0);
  closeSync(editorFd);
  // Re-applied on the lane once the kept version has settled (a stop re-applies it too).
  for (const end = Date.now() + 10_000; engine.inPlaceSaves.stats().reapplied + engine.inPlaceSaves.stats().keptAside < 1 && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await engine.idle();
}
if (spec.review) {
  mark('drafted');
  for (const r of engine.store.all()) {
    if (r.state === 'draft') {
      await engine.approve(r.id);
      mark('approve-acknowledged');
    }
  }
  await engine.idle();
}
if (spec.regenerate) {
  const { feedback, review, personEdit } = spec.regenerate;
  const r = engine.store.all().find((x) => x.goal === spec.goal && x.type === spec.type);
  const asked = async () => {
    if (r.state === 'draft' || r.regenerating || r.replacing !== undefined) return true;
    for (const n of await engine.candidates.list(r.id)) if ((await engine.candidates.provenance(r.id, n))?.feedback === feedback) return true;
    return false;
  };
  if (r?.state === 'done' && !(await asked())) {
    const file = join(config.componentsDir, `${r.type}s`, r.generatedName);
    if (personEdit !== undefined && readFileSync(file, 'utf8') === contentFor(r.goal, r.type, r.description)) {
      writeFileSync(file, personEdit);
      mark('person-edited');
    }
    mark('regenerate-asked');
    await engine.regenerate(r.id, { feedback, ...(review ? { review: true } : {}) });
    mark('regenerate-acknowledged');
  }
  await engine.idle();
  if (review) {
    for (const x of engine.store.all()) {
      if (x.state === 'draft') {
        await engine.approve(x.id);
        mark('approve-acknowledged');
      }
    }
    await engine.idle();
  }
}
await engine.stop();
if (fatal) {
  console.error(String(fatal?.stack ?? fatal));
  process.exit(70);
}
const states = engine.store.all().map((r) => ({ id: r.id, goal: r.goal, type: r.type, state: r.state }));
process.stdout.write(`${JSON.stringify({ ok: true, states })}\n`);
