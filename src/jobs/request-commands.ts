/**
 * What a person (through jitctl) does to a request, each on the serial lane: answer, reject,
 * retry. The state changes themselves are requests/transitions.ts; this module resolves the id,
 * saves the new record durably, emits the event and hands answered requests to the pipeline.
 * Invariant 3 lives here: an answer resolves only after its record is durable.
 */
import type { Logger } from 'pino';
import { publicView, type Request } from '../requests/request.js';
import type { RequestStore } from '../requests/request-store.js';
import type { StagedOutputs } from '../requests/staged-output.js';
import { installProvenance, type Candidates } from '../requests/candidates.js';
import type { Peer } from '../requests/provenance.js';
import { answer, approve, normaliseDescription as answerCheck, reject, retry, RequestError } from '../requests/transitions.js';
import type { EngineEvent } from './events.js';
import type { Lane } from './lane.js';
import type { Pipeline } from './pipeline.js';

export { RequestError } from '../requests/transitions.js';

export interface RequestCommandsDeps {
  store: RequestStore;
  staged: StagedOutputs;
  pipeline: Pipeline;
  candidates: Candidates;
  lane: Lane;
  log: Logger;
  emit(e: EngineEvent): void;
}

export class RequestCommands {
  constructor(private readonly d: RequestCommandsDeps) {}

  private find(idOrPrefix: string): Request {
    const r = this.d.store.resolve(idOrPrefix);
    if (r === 'ambiguous') throw new RequestError('EAMBIGUOUS', `request id prefix ${idOrPrefix} matches more than one request`);
    if (!r) throw new RequestError('ENOREQUEST', `no request ${idOrPrefix}`);
    return r;
  }

  /** `opts.by`: who answered, as the control socket's peer credentials say (kept in the record). */
  answer(idOrPrefix: string, text: string, opts: { review?: boolean; by?: Peer } = {}): Promise<Request> {
    return this.d.lane.run(async () => {
      // The text is checked before the id, as before: an empty answer is EEMPTY whatever the id.
      answerCheck(text);
      const r = this.find(idOrPrefix);
      const answered = answer(r, text, new Date(), opts);
      // An output staged for an earlier answer (the entry was reopened since) is not this one's.
      await this.d.staged.remove(r.id);
      await this.d.store.save(answered, { durable: true });
      this.d.log.info({ request: r.id, goal: r.goal, type: r.type }, 'answered');
      this.d.emit({ type: 'request.answered', request: publicView(answered) });
      this.d.pipeline.generate(answered);
      return answered;
    });
  }

  reject(idOrPrefix: string): Promise<Request> {
    return this.d.lane.run(async () => {
      const r = this.find(idOrPrefix);
      const rejected = reject(r);
      this.d.pipeline.cancel(r.id);
      await this.d.store.save(rejected, { durable: true });
      this.d.emit({ type: 'request.rejected', request: publicView(rejected) });
      return rejected;
    });
  }

  /**
   * Approves a draft's candidate (its current one, or `candidate`: an earlier one is a rollback).
   * The text is staged, then the record says approved (both durable), then the install runs: a
   * crash after the record installs it at the next start; before it, it is still a draft. The
   * staged sidecar carries the candidate's provenance, its number and `by` (who approved) to the
   * install.
   */
  approve(idOrPrefix: string, candidate?: number, by?: Peer): Promise<Request> {
    return this.d.lane.run(async () => {
      const r = this.find(idOrPrefix);
      const n = candidate ?? r.candidate;
      if (r.state !== 'draft' || n === undefined) throw new RequestError('ESTATE', `request ${r.id} is ${r.state}; only a draft can be approved`);
      const content = await this.d.candidates.read(r.id, n);
      if (content === undefined) throw new RequestError('ENOCANDIDATE', `request ${r.id} has no candidate ${n}`);
      await this.d.staged.put(r.id, content, installProvenance(await this.d.candidates.provenance(r.id, n), n, by));
      const approved = approve(r, n);
      await this.d.store.save(approved, { durable: true });
      this.d.log.info({ request: r.id, candidate: n }, 'approved');
      this.d.emit({ type: 'request.approved', request: publicView(approved), candidate: n });
      this.d.pipeline.generate(approved);
      return approved;
    });
  }

  retry(idOrPrefix: string): Promise<Request> {
    return this.d.lane.run(async () => {
      const again = retry(this.find(idOrPrefix));
      await this.d.store.save(again, { durable: true });
      this.d.pipeline.generate(again);
      return again;
    });
  }
}
