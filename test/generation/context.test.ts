/**
 * The library context of a generation on a real library on disk: siblings in map order, the
 * same-type examples and their ranking, the budget (cut whole, reported), what is never an
 * example (scaffolds, the request's own files, FIFOs, links out), and the library's own
 * instruction files.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nameWords, rankCandidates } from '../../src/generation/context.js';
import { BUILTIN_COMMON, builtinTypeInstructions, InstructionsError } from '../../src/generation/instructions.js';
import { buildMessages } from '../../src/generation/messages.js';
import { SCAFFOLD_MARKER } from '../../src/generation/template.js';
import { contextFor } from '../support/library-context.js';
import { makeLibrary, type TempLibrary } from '../support/library-fixture.js';

const GOAL = 'DIAGNOSE_ROOT_CAUSE';
const MISSING = 'root_cause_analysis_drilldown.txt';

const MAP = {
  [GOAL]: { persona: 'sre.txt', protocol: MISSING, format: 'findings.txt' },
  REVIEW_CODE_CHANGE: { protocol: 'code_review_checklist.txt' },
  TRIAGE_ROOT_CAUSE_ALERTS: { protocol: 'alert_triage.txt' },
  SUMMARIZE_INCIDENT: { protocol: 'incident_timeline.txt' },
  ROOT_CAUSE_DRAFT: { protocol: 'root_cause_draft.txt' },
};

const TEXT = {
  persona: 'You are a calm SRE who reasons from evidence.\n',
  format: 'Answer with a table of findings.\n',
  alert: 'Triage the alert:\n1. Read it.\n2. Silence duplicates.\n',
  review: 'Review the change:\n1. Intent.\n2. Correctness.\n',
  incident: 'Summarise the incident:\n1. Detection.\n2. Impact.\n',
  unused: 'An old protocol nobody uses.\n',
};

const COMPONENTS = {
  'personas/sre.txt': TEXT.persona,
  'formats/findings.txt': TEXT.format,
  'protocols/alert_triage.txt': TEXT.alert,
  'protocols/code_review_checklist.txt': TEXT.review,
  'protocols/incident_timeline.txt': TEXT.incident,
  'protocols/unused_old.txt': TEXT.unused,
  // The best name match of all, but a template scaffold: never an example.
  'protocols/root_cause_draft.txt': `${SCAFFOLD_MARKER}\n# goal: ROOT_CAUSE_DRAFT · type: protocol · file: root_cause_draft.txt\n\n1. <step>\n`,
};

let lib: TempLibrary | undefined;
let outside: string | undefined;
afterEach(async () => {
  await lib?.cleanup();
  if (outside) await rm(outside, { recursive: true, force: true });
  lib = undefined;
  outside = undefined;
});

async function library(components: Record<string, string> = COMPONENTS, map: Record<string, Record<string, string>> = MAP) {
  lib = await makeLibrary({ map, components });
  // Recency decides between equally relevant files: make it deterministic.
  const at = (rel: string, s: number) => utimes(join(lib!.componentsDir, rel), s, s).catch(() => undefined);
  await at('protocols/code_review_checklist.txt', 1_000_000);
  await at('protocols/incident_timeline.txt', 2_000_000);
  return lib;
}

const strip = (t: string) => t.replace(/\n+$/, '');

describe('siblings', () => {
  it("carries the goal's other components whole, in map order, with the missing one marked as the target", async () => {
    const ctx = await contextFor(await library(), GOAL, 'protocol', MISSING);
    expect(ctx.goalParts).toEqual([
      { type: 'persona', filename: 'sre.txt', status: 'included' },
      { type: 'protocol', filename: MISSING, status: 'target' },
      { type: 'format', filename: 'findings.txt', status: 'included' },
    ]);
    expect(ctx.siblings.map((s) => [s.type, s.text])).toEqual([
      ['persona', strip(TEXT.persona)],
      ['format', strip(TEXT.format)],
    ]);
  });

  it('reports a sibling that is not written yet, and keeps the others', async () => {
    const { 'formats/findings.txt': _gone, ...rest } = COMPONENTS;
    const ctx = await contextFor(await library(rest), GOAL, 'protocol', MISSING);
    expect(ctx.goalParts.find((p) => p.type === 'format')?.status).toBe('missing');
    expect(ctx.omitted).toContainEqual({ kind: 'sibling', type: 'format', filename: 'findings.txt', reason: 'missing' });
    expect(ctx.siblings.map((s) => s.type)).toEqual(['persona']);
  });
});

describe('examples', () => {
  it('ranks same-type files by words shared with the goal and file name, then used before unused, then newest first; at most three', async () => {
    const ctx = await contextFor(await library(), GOAL, 'protocol', MISSING);
    expect(ctx.examples.map((x) => x.filename)).toEqual(['alert_triage.txt', 'incident_timeline.txt', 'code_review_checklist.txt']);
    expect(ctx.examples[0]!.overlap.sort()).toEqual(['cause', 'root']);
    expect(ctx.examples[0]!.goals).toEqual(['TRIAGE_ROOT_CAUSE_ALERTS']);
    expect(ctx.examples[0]!.text).toBe(strip(TEXT.alert));
    expect(ctx.examples.map((x) => x.filename)).not.toContain('unused_old.txt');
  });

  it('never uses a template scaffold as an example, and says so', async () => {
    const ctx = await contextFor(await library(), GOAL, 'protocol', MISSING);
    expect(ctx.examples.map((x) => x.filename)).not.toContain('root_cause_draft.txt');
    expect(ctx.omitted).toContainEqual({ kind: 'example', type: 'protocol', filename: 'root_cause_draft.txt', reason: 'scaffold' });
    const user = buildMessages({ goal: GOAL, type: 'protocol', filename: MISSING, description: 'x', context: ctx })[1]!.content;
    expect(user).not.toContain(SCAFFOLD_MARKER);
  });

  it("never uses the request's own files (the missing name, its generated name) as examples", async () => {
    const ctx = await contextFor(
      await library({ ...COMPONENTS, 'protocols/autogen_protocol_for_diagnose_root_cause.txt': 'Our own earlier output.\n' }),
      GOAL,
      'protocol',
      MISSING,
    );
    const names = [...ctx.examples.map((x) => x.filename), ...ctx.omitted.map((o) => o.filename)];
    expect(names).not.toContain('autogen_protocol_for_diagnose_root_cause.txt');
    expect(names).not.toContain(MISSING);
  });

  it('refuses a FIFO sibling and a symlink that points outside the components tree without blocking, and takes the next candidates', async () => {
    const { 'formats/findings.txt': _fifo, ...rest } = COMPONENTS;
    const l = await library(rest);
    await mkdir(join(l.componentsDir, 'formats'), { recursive: true });
    execFileSync('mkfifo', [join(l.componentsDir, 'formats', 'findings.txt')]);
    outside = await mkdtemp(join(tmpdir(), 'jitd-outside-'));
    await writeFile(join(outside, 'secret.txt'), 'SECRET OUTSIDE TEXT\n');
    await symlink(join(outside, 'secret.txt'), join(l.componentsDir, 'protocols', 'root_cause_link.txt'));
    // A FIFO in the type directory is not even listed as a component (library/component-index.ts).
    execFileSync('mkfifo', [join(l.componentsDir, 'protocols', 'root_cause_fifo.txt')]);
    const ctx = await contextFor(l, GOAL, 'protocol', MISSING);
    expect(ctx.omitted).toContainEqual({ kind: 'sibling', type: 'format', filename: 'findings.txt', reason: 'refused' });
    expect(ctx.goalParts.find((p) => p.type === 'format')?.status).toBe('refused');
    expect(ctx.omitted).toContainEqual({ kind: 'example', type: 'protocol', filename: 'root_cause_link.txt', reason: 'refused' });
    expect(ctx.examples.map((x) => x.filename)).toEqual(['alert_triage.txt', 'incident_timeline.txt', 'code_review_checklist.txt']);
    expect(JSON.stringify(ctx)).not.toContain('SECRET OUTSIDE TEXT');
  });
});

describe('the budget (generation.contextBytes)', () => {
  it('leaves out whole what does not fit, reports it with its size, and still fits smaller ones after it', async () => {
    const big = `${'You are an SRE. '.repeat(300)}\n`; // 4 800 bytes
    const l = await library({ ...COMPONENTS, 'personas/sre.txt': big });
    // The format (32 bytes) and the first example (51) fit; the next two (48, 45) do not; the
    // unused one (28) still does.
    const budget = 120;
    const ctx = await contextFor(l, GOAL, 'protocol', MISSING, { contextBytes: budget });
    expect(ctx.budgetBytes).toBe(budget);
    expect(ctx.omitted).toContainEqual({ kind: 'sibling', type: 'persona', filename: 'sre.txt', reason: 'budget', bytes: Buffer.byteLength(strip(big)) });
    expect(ctx.siblings.map((s) => s.filename)).toEqual(['findings.txt']);
    expect(ctx.examples.map((x) => x.filename)).toEqual(['alert_triage.txt', 'unused_old.txt']);
    expect(ctx.omitted).toContainEqual({ kind: 'example', type: 'protocol', filename: 'incident_timeline.txt', reason: 'budget', bytes: 48 });
    expect(ctx.omitted).toContainEqual({ kind: 'example', type: 'protocol', filename: 'code_review_checklist.txt', reason: 'budget', bytes: 45 });
    const included = [...ctx.siblings, ...ctx.examples];
    expect(ctx.usedBytes).toBe(included.reduce((n, c) => n + Buffer.byteLength(c.text), 0));
    expect(ctx.usedBytes).toBeLessThanOrEqual(budget);
    // Whole or nothing: every included text is its file's text, none cut mid-way.
    for (const c of ctx.examples) expect(`${c.text}\n`).toBe(COMPONENTS[`protocols/${c.filename}` as keyof typeof COMPONENTS]);

    const user = buildMessages({ goal: GOAL, type: 'protocol', filename: MISSING, description: 'x', context: ctx })[1]!.content;
    expect(user).not.toContain('You are an SRE.');
    expect(user).toContain(`1. persona sre.txt (left out: over the context budget, ${Buffer.byteLength(strip(big))} bytes)`);
  });

  it('with a budget of 0 sends no library text at all', async () => {
    const ctx = await contextFor(await library(), GOAL, 'protocol', MISSING, { contextBytes: 0 });
    expect(ctx.siblings).toEqual([]);
    expect(ctx.examples).toEqual([]);
    expect(ctx.usedBytes).toBe(0);
    expect(ctx.omitted.filter((o) => o.reason === 'budget').map((o) => o.filename)).toEqual(
      expect.arrayContaining(['sre.txt', 'findings.txt', 'alert_triage.txt']),
    );
  });
});

describe("the library's own instructions (generation.promptsDir)", () => {
  it('uses the built-in instructions when the directory does not exist', async () => {
    const ctx = await contextFor(await library(), GOAL, 'protocol', MISSING);
    expect(ctx.instructions.common).toEqual({ text: BUILTIN_COMMON, source: 'built-in' });
    expect(ctx.instructions.type).toEqual({ text: builtinTypeInstructions('protocol'), source: 'built-in' });
  });

  it('system.md replaces the common instructions and <type>.md those of its type, as written (no templating)', async () => {
    const l = await library();
    const dir = join(dirname(l.configFile), 'prompts');
    await mkdir(dir);
    await writeFile(join(dir, 'system.md'), '\uFEFFHouse rules for {{goal}}: be terse.\n\n');
    await writeFile(join(dir, 'protocol.md'), 'Protocols here are five numbered steps.\n');
    const protocol = await contextFor(l, GOAL, 'protocol', MISSING);
    expect(protocol.instructions.common).toEqual({ text: 'House rules for {{goal}}: be terse.', source: join(dir, 'system.md') });
    expect(protocol.instructions.type).toEqual({ text: 'Protocols here are five numbered steps.', source: join(dir, 'protocol.md') });
    const system = buildMessages({ goal: GOAL, type: 'protocol', filename: MISSING, description: 'x', context: protocol })[0]!;
    expect(system).toEqual({ role: 'system', content: 'House rules for {{goal}}: be terse.\n\nProtocols here are five numbered steps.' });
    // A type without its own file keeps the built-in type instructions.
    const persona = await contextFor(l, 'NEW_GOAL', 'persona', 'x.txt');
    expect(persona.instructions.type.source).toBe('built-in');
    expect(persona.instructions.common.source).toBe(join(dir, 'system.md'));
  });

  it('refuses an instruction file that is not a regular file, naming it, instead of silently using the built-ins', async () => {
    const l = await library();
    const dir = join(dirname(l.configFile), 'prompts');
    await mkdir(join(dir, 'system.md'), { recursive: true });
    const err = await contextFor(l, GOAL, 'protocol', MISSING).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstructionsError);
    expect((err as Error).message).toContain(join(dir, 'system.md'));
    expect((err as Error).message).toMatch(/not a regular file/);
  });
});

describe('name words and ranking', () => {
  it('splits goals and file names into stems, dropping extensions, stop words and the type itself', () => {
    expect([...nameWords('TRIAGE_ROOT_CAUSE_ALERTS')]).toEqual(['triag', 'root', 'cause', 'alert']);
    expect([...nameWords('codeReviewChecklist.txt')]).toEqual(['code', 'revie', 'check']);
    expect([...nameWords('autogen_protocol_for_the_x.md')]).toEqual(['proto']);
    const ranked = rankCandidates(
      { goal: 'REVIEW_PROTOCOL', type: 'protocol', filename: 'reviewer_protocol.txt' },
      ['a_protocol.txt', 'b_reviews.txt', 'c.txt'],
      new Map([['c.txt', ['OTHER']]]),
    );
    // `protocol` is shared by a_protocol.txt but is the type: it does not count.
    expect(ranked.map((c) => [c.filename, c.overlap])).toEqual([
      ['b_reviews.txt', ['revie']],
      ['c.txt', []],
      ['a_protocol.txt', []],
    ]);
  });
});
