/**
 * The one place that routes an answered request to its component: from its staged output
 * straight to the install queue, or through the generation pool, whose outcome comes back here
 * (output → staged and installed; failure → recorded as `failed`; stopped → nothing, the answer
 * is kept). The pool and the install queue know nothing of each other or of request commands,
 * so `jobs/` has no run-time cycle: commands → pipeline → {pool, installs} → record-failure.
 *
 * Review: a request that needs approval (transitions.ts `needsApproval`) never reaches the
 * install queue. Its output (staged first, so a crash never pays the model again) becomes a
 * numbered candidate and the request a durable `draft`; a restart finds the staged output and
 * drafts it again (the same text is the same candidate), never installs it.
 */
import type { Logger } from 'pino';
import { compact, type GenerationInfo } from '../requests/provenance.js';
import { publicView, type Request } from '../requests/request.js';
import type { Candidates } from '../requests/candidates.js';
import type { RequestStore } from '../requests/request-store.js';
import type { StagedOutputs } from '../requests/staged-output.js';
import { draft, needsApproval } from '../requests/transitions.js';
import type { EngineEvent } from './events.js';
import type { GenerationOutcome, GenerationPool } from './generation-pool.js';
import type { InstallQueue } from './install-queue.js';
import type { Lane } from './lane.js';
import { recordFailure, type FailureDeps } from './record-failure.js';

export interface PipelineDeps {
  pool: GenerationPool;
  installs: InstallQueue;
  lane: Lane;
  log: Logger;
  failures: FailureDeps;
  store: RequestStore;
  staged: StagedOutputs;
  candidates: Candidates;
  /** `generation.review`. */
  review: 'auto' | 'required';
  /** The provider's name, for a candidate's provenance. */
  providerName: string;
  emit(e: EngineEvent): void;
}

export class Pipeline {
  constructor(private readonly d: PipelineDeps) {}

  /** An answered request needs its component: installed from its staged output if there is one, else generated. */
  generate(r: Request): void {
    if (needsApproval(r, this.d.review)) {
      this.generateDraft(r);
      return;
    }
    const staged = this.d.installs.installStaged(r);
    if (staged === 'none') {
      this.startModel(r);
      return;
    }
    if (staged === 'queued') return;
    this.d.lane.track(staged.then((queued) => (queued ? undefined : this.startModel(r))));
  }

  /** A request held for review: its staged output (if any) is drafted, else the model is asked. */
  private generateDraft(r: Request): void {
    if (!this.d.staged.has(r.id)) {
      this.startModel(r);
      return;
    }
    this.d.lane.track(
      this.d.staged.read(r.id).then(
        (content) =>
          content === undefined
            ? this.startModel(r)
            : this.d.lane.background('drafting', async () => this.makeDraft(r.id, content, await this.d.staged.provenance(r.id, content))),
        () => this.startModel(r),
      ),
    );
  }

  /**
   * Records `content` as the next candidate and the request as a durable draft; on the lane.
   * `generation`: what wrote it (from the model's answer, or the staged sidecar after a restart).
   */
  private async makeDraft(id: string, content: string, generation: GenerationInfo | undefined): Promise<void> {
    const cur = this.d.store.get(id);
    // Rejected, approved or drafted meanwhile: nothing to do.
    if (!cur || (cur.state !== 'answered' && cur.state !== 'generating') || !needsApproval(cur, this.d.review)) return;
    const { model, server, usage, provider, at } = generation ?? { provider: this.d.providerName, at: new Date().toISOString() };
    const n = await this.d.candidates.add(
      id,
      content,
      compact({ description: cur.description ?? '', provider, model, server, usage, at, answeredBy: cur.answeredBy }),
    );
    const drafted = draft(cur, n);
    await this.d.store.save(drafted, { durable: true });
    this.d.log.info({ request: id, candidate: n }, 'draft waits for review');
    this.d.emit({ type: 'request.draft', request: publicView(drafted), candidate: n });
  }

  private startModel(r: Request): void {
    const outcome = this.d.pool.enqueue(r);
    // Tracked, so `idle()` also waits for the outcome's routing, not only for the model call.
    if (outcome) this.d.lane.track(outcome.then((o) => this.route(o)));
  }

  /** Where a finished model call goes. */
  private route(o: GenerationOutcome): void {
    switch (o.kind) {
      case 'output': {
        const cur = this.d.store.get(o.request.id) ?? o.request;
        if (!needsApproval(cur, this.d.review)) {
          this.d.installs.stageThenInstall(o.request, o.content, o.generation);
          return;
        }
        // Staged (with its provenance) before the draft record: a crash between the two drafts it again at the next start.
        this.d.lane.track(
          this.d.staged
            .put(o.request.id, o.content, o.generation)
            .then(() => this.d.lane.background('drafting', () => this.makeDraft(o.request.id, o.content, o.generation))),
        );
        return;
      }
      case 'failure':
        this.d.lane.background('recording a failure', () => recordFailure(this.d.failures, o.request.id, o.error, o.retryable));
        return;
      case 'stopped':
        return;
    }
  }

  /** Aborts one request's model call (queued or running). */
  cancel(id: string): void {
    this.d.pool.cancel(id);
  }
}
