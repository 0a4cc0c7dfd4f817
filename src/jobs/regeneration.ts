/**
 * Regenerating, editing and replacing (docs/review.md): a person asks for a new candidate of a
 * draft or of an installed generated component (with feedback), or saves their own text as one;
 * an approved candidate of a done request replaces its installed file (the map unchanged).
 * Every change runs on the serial lane and is a transition of requests/transitions.ts.
 *
 * Crash safety (contract §4, invariants 3 and 5):
 * - the regeneration intent (`regenerating`) is durable before the model is called, and its
 *   output is a durable candidate before the record moves on: a restart resumes the intent and
 *   reuses a candidate already written ({@link Candidates.newestModelAfter}), so a candidate is
 *   never paid for twice and a draft is never lost;
 * - a replacement is recorded (`replacing`, durable) before the file is touched and is
 *   idempotent (the file already holding the text is done), so a restart finishes it;
 * - nothing is installed that nobody approved: only `auto` review without `--review` replaces at
 *   once, as a first install would; a draft waits for `approve`;
 * - a generated file a person edited since jitd wrote it is never overwritten
 *   (install/replace-component.ts): the new text becomes a draft and the person's version is kept
 *   as a candidate.
 */
import type { Logger } from 'pino';
import { readFileOrNull, type FsLayer } from '../fsio/fs-layer.js';
import { FsyncFailedError } from '../fsio/errors.js';
import type { Config } from '../library/config.js';
import { componentPath } from '../library/paths.js';
import { replaceComponent, sha256 } from '../install/replace-component.js';
import { publicView, type Request } from '../requests/request.js';
import { installProvenance, type CandidateProvenance, type Candidates } from '../requests/candidates.js';
import { compact, type GenerationInfo, type Peer } from '../requests/provenance.js';
import type { RequestStore } from '../requests/request-store.js';
import type { StagedOutputs } from '../requests/staged-output.js';
import {
  draftCandidate,
  isDraftOfDone,
  isInstalledGenerated,
  regenerationFailed,
  replaced,
  replaceWith,
  RequestError,
  startRegeneration,
} from '../requests/transitions.js';
import type { EngineEvent } from './events.js';
import type { GenerationPool } from './generation-pool.js';
import type { Lane } from './lane.js';

export interface RegenerationDeps {
  fs: FsLayer;
  config: Config;
  store: RequestStore;
  staged: StagedOutputs;
  candidates: Candidates;
  pool: GenerationPool;
  lane: Lane;
  log: Logger;
  providerName: string;
  emit(e: EngineEvent): void;
  /** Resolves an id or unique prefix (throws RequestError). */
  find(idOrPrefix: string): Request;
}

/** The text a person would edit, or a regeneration improves: the draft's candidate, or the installed file. */
export interface EditableText {
  request: Request;
  text: string;
  source: 'candidate' | 'installed';
  candidate?: number;
}

export class Regenerations {
  constructor(private readonly d: RegenerationDeps) {}

  private path(r: Request): string {
    return componentPath(this.d.config.componentsDir, r.type, r.generatedName);
  }

  /**
   * A new candidate's provenance: `generation` (what the model call reported) for a model's
   * text, `editedBy` (the socket's peer) for a person's edit.
   */
  private prov(
    r: Request,
    source: NonNullable<CandidateProvenance['source']>,
    opts: { feedback?: string | undefined; generation?: GenerationInfo; editedBy?: Peer | undefined } = {},
  ): Omit<CandidateProvenance, 'candidate' | 'request'> {
    const { provider, model, server, usage, at } = opts.generation ?? {
      provider: source === 'model' ? this.d.providerName : source,
      at: new Date().toISOString(),
    };
    return compact({
      description: r.description ?? '',
      provider,
      model,
      server,
      usage,
      at,
      source,
      feedback: opts.feedback || undefined,
      answeredBy: r.answeredBy,
      editedBy: opts.editedBy,
    });
  }

  /** The text of a draft (its candidate) or of a done generated component (the installed file). */
  async textOf(r: Request): Promise<EditableText> {
    if (r.state === 'draft' && r.candidate !== undefined) {
      const text = await this.d.candidates.read(r.id, r.candidate);
      if (text === undefined) throw new RequestError('ENOCANDIDATE', `request ${r.id} has no candidate ${r.candidate}`);
      return { request: r, text, source: 'candidate', candidate: r.candidate };
    }
    if (isInstalledGenerated(r)) {
      const text = await readFileOrNull(this.d.fs, this.path(r));
      if (text === undefined) throw new RequestError('ENOFILE', `request ${r.id}'s component ${r.type}s/${r.generatedName} is missing`);
      return { request: r, text: text.toString('utf8'), source: 'installed' };
    }
    throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only a draft or a generated component has a text to edit`);
  }

  /** `jitctl edit` reads: the current text, on the lane. */
  current(idOrPrefix: string): Promise<EditableText> {
    return this.d.lane.run(async () => this.textOf(this.d.find(idOrPrefix)));
  }

  /**
   * Records a regeneration durably, then asks the model for a new candidate with the previous
   * one and `feedback`; resolves once the intent is on disk (the draft follows).
   */
  regenerate(idOrPrefix: string, opts: { feedback?: string; review?: boolean } = {}): Promise<Request> {
    return this.d.lane.run(async () => {
      const r = this.d.find(idOrPrefix);
      await this.textOf(r); // a draft without its text, or a component gone, is refused now
      const after = (await this.d.candidates.list(r.id)).at(-1) ?? 0;
      const rec = startRegeneration(r, after, opts);
      await this.d.store.save(rec, { durable: true });
      this.d.log.info({ request: r.id, from: r.state, feedback: rec.regenerating?.feedback }, 'regenerating');
      this.d.emit({ type: 'request.regenerating', request: publicView(rec), ...(rec.regenerating?.feedback ? { feedback: rec.regenerating.feedback } : {}) });
      this.d.lane.background('regenerating', () => this.resumeRegeneration(rec.id));
      return rec;
    });
  }

  /** A person's text (`by`: who, from the socket's peer) becomes the newest candidate and the draft (of a draft, or of a done component). */
  edit(idOrPrefix: string, text: string, by?: Peer): Promise<{ request: Request; candidate: number }> {
    return this.d.lane.run(async () => {
      const r = this.d.find(idOrPrefix);
      await this.textOf(r);
      if (!text.trim()) throw new RequestError('EEMPTY', 'the edited text is empty');
      this.d.pool.cancel(r.id);
      const n = await this.d.candidates.add(r.id, text, this.prov(r, 'person', { editedBy: by }));
      const drafted = draftCandidate(r, n);
      await this.d.store.save(drafted, { durable: true });
      this.d.log.info({ request: r.id, candidate: n }, 'edited: a new draft');
      this.d.emit({ type: 'request.draft', request: publicView(drafted), candidate: n });
      return { request: drafted, candidate: n };
    });
  }

  /**
   * Approves a draft of a done request: recorded durably (with `by`, who approved), then its
   * candidate replaces the installed file.
   */
  approve(idOrPrefix: string, candidate?: number, by?: Peer): Promise<Request> {
    return this.d.lane.run(async () => {
      const r = this.d.find(idOrPrefix);
      const n = candidate ?? r.candidate;
      if (!isDraftOfDone(r) || n === undefined) throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only a draft can be approved`);
      if ((await this.d.candidates.read(r.id, n)) === undefined) throw new RequestError('ENOCANDIDATE', `request ${r.id} has no candidate ${n}`);
      const approved = replaceWith(r, n, by);
      await this.d.store.save(approved, { durable: true });
      this.d.log.info({ request: r.id, candidate: n }, 'approved: replacing the installed component');
      this.d.emit({ type: 'request.approved', request: publicView(approved), candidate: n });
      this.d.lane.background('replacing a component', () => this.replace(r.id));
      return approved;
    });
  }

  /** At start-up: every regeneration and replacement a crash cut short is resumed. */
  resumeAll(): void {
    for (const r of this.d.store.all()) {
      if (r.replacing !== undefined && r.state === 'done') this.d.lane.background('replacing a component', () => this.replace(r.id));
      else if (r.regenerating && (r.state === 'draft' || r.state === 'done')) this.d.lane.background('regenerating', () => this.resumeRegeneration(r.id));
    }
  }

  /** On the lane: reuse a candidate the intent already produced, else call the model. */
  private async resumeRegeneration(id: string): Promise<void> {
    const r = this.d.store.get(id);
    if (!r?.regenerating) return;
    const done = await this.d.candidates.newestModelAfter(id, r.regenerating.after, this.prov(r, 'model', { feedback: r.regenerating.feedback }));
    if (done !== undefined) return this.settle(id, done);
    let previous: string;
    try {
      previous = (await this.textOf(r)).text;
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      return this.fail(id, err.message);
    }
    const feedback = r.regenerating.feedback;
    const outcome = this.d.pool.enqueue(r, { previous, ...(feedback ? { feedback } : {}) });
    if (!outcome) return;
    this.d.lane.track(
      outcome.then((o) => {
        if (o.kind === 'output') this.d.lane.background('drafting a regeneration', () => this.output(id, o.content, o.generation));
        else if (o.kind === 'failure') this.d.lane.background('recording a failed regeneration', () => this.fail(id, o.error));
      }),
    );
  }

  private async fail(id: string, error: string): Promise<void> {
    const r = this.d.store.get(id);
    if (!r?.regenerating) return;
    const failed = regenerationFailed(r, error);
    await this.d.store.save(failed, { durable: true });
    this.d.log.warn({ request: id, error }, 'regeneration failed; the request keeps its text');
    this.d.emit({ type: 'request.failed', request: publicView(failed), error });
  }

  /** The model answered: its text (with what wrote it) is a durable candidate before anything else moves. */
  private async output(id: string, content: string, generation: GenerationInfo): Promise<void> {
    const r = this.d.store.get(id);
    // Rejected, edited or approved meanwhile: the output is not wanted.
    if (!r?.regenerating) return;
    const n = await this.d.candidates.add(id, content, this.prov(r, 'model', { feedback: r.regenerating.feedback, generation }));
    await this.settle(id, n);
  }

  /** Candidate `n` is the regeneration's output: a draft, or (done, no review) the replacement. */
  private async settle(id: string, n: number): Promise<void> {
    const r = this.d.store.get(id);
    if (!r?.regenerating) return;
    const review = r.regenerating.review === true || r.review === true || this.d.config.generation.review === 'required';
    if (r.state === 'done' && !review) {
      await this.d.store.save(replaceWith(r, n), { durable: true });
      return this.replace(id);
    }
    const drafted = draftCandidate(r, n);
    await this.d.store.save(drafted, { durable: true });
    this.d.log.info({ request: id, candidate: n }, 'regenerated: a new draft waits for review');
    this.d.emit({ type: 'request.draft', request: publicView(drafted), candidate: n });
  }

  /** On the lane: publishes the `replacing` candidate over the installed file, unless a person edited it. */
  private async replace(id: string): Promise<void> {
    const r = this.d.store.get(id);
    const n = r?.replacing;
    if (!r || n === undefined || r.state !== 'done') return;
    const content = await this.d.candidates.read(id, n);
    if (content === undefined) {
      const { replacing: _p, ...rest } = r;
      await this.d.store.save({ ...rest, lastError: `candidate ${n} is missing; nothing replaced` }, { durable: true });
      return;
    }
    let outcome;
    try {
      outcome = await replaceComponent(this.d.fs, this.d.config.componentsDir, r.type, r.generatedName, content, r.componentSha256);
    } catch (err) {
      if (err instanceof FsyncFailedError) throw err;
      // A full disk, an unsafe path: the approval stays recorded; the next start tries again.
      await this.d.store.save({ ...r, lastError: (err as Error).message }, { durable: false });
      throw err;
    }
    if (outcome.result === 'edited') {
      // The person's version wins: kept as a candidate, the new text waits as a draft beside it.
      const mine = outcome.current !== undefined ? await this.d.candidates.add(id, outcome.current, this.prov(r, 'person')) : undefined;
      const drafted = draftCandidate(r, n, outcome.current !== undefined ? sha256(outcome.current) : undefined);
      await this.d.store.save(drafted, { durable: true });
      this.d.log.warn(
        { request: id, path: outcome.path, candidate: n, personsVersion: mine },
        'a person edited the component: not overwritten; the new text is a draft',
      );
      this.d.emit({ type: 'request.draft', request: publicView(drafted), candidate: n });
      return;
    }
    // The kept output follows the installed text (a restore from it then gives the approved one),
    // and so does its provenance.
    const installed = installProvenance(await this.d.candidates.provenance(id, n), n, r.approvedBy);
    await this.d.staged.put(id, content, installed);
    const done = replaced(r, n, sha256(content), installed);
    await this.d.store.save(done, { durable: true });
    this.d.log.info({ request: id, path: outcome.path, candidate: n }, 'component replaced');
    this.d.emit({ type: 'request.replaced', request: publicView(done), candidate: n, path: outcome.path });
  }
}
