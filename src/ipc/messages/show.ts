/**
 * Message `show {id}`: one request whole (contract §6): its record, the text it stands for (a
 * draft's candidate, or the installed component of a done request) and every candidate's
 * provenance. Reads only.
 */
import { z } from 'zod';
import type { CandidateProvenance } from '../../requests/candidates.js';
import type { OutputProvenance, Peer } from '../../requests/provenance.js';
import type { RequestView } from '../../requests/request.js';
import { RequestIdParam } from './request-id.js';

export const ShowParams = z.strictObject({ id: RequestIdParam });
export type ShowParams = z.input<typeof ShowParams>;

/** One candidate on disk: its number and where it came from (absent: its provenance file is unreadable). */
export interface ShowCandidate {
  candidate: number;
  provenance?: Omit<CandidateProvenance, 'request' | 'candidate'>;
}

export interface ShowResult {
  request: RequestView & { resolution?: string };
  /** The draft's candidate text, or the installed component's; absent when the request has none. */
  text?: { source: 'candidate' | 'installed'; candidate?: number; path?: string; content: string };
  /** Why there is no text although there should be one (a file gone), if so. */
  textError?: string;
  candidates: ShowCandidate[];
  /**
   * Who answered (the control socket's peer, SO_PEERCRED) and what wrote the installed component
   * (provider, model, server, usage, candidate, who approved, when); each absent when unknown.
   */
  provenance: { answeredBy?: Peer; installed?: OutputProvenance };
}
