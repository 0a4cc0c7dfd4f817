/**
 * A description request (contract §3): one per missing `(goal, type, filename)`, identified by a
 * deterministic id so a restart never creates a second request for the same gap.
 *
 *   waiting ──answer──▶ answered ──▶ generating ──▶ installing ──▶ done
 *      │                   ▲             │
 *      └──reject──▶ rejected └── retry ── failed (keeps its description)
 *
 * With review (`generation.review: required`, or `answer --review`), generating ends in `draft`
 * (durable, a numbered candidate under stateDir/candidates): nothing is installed until
 * `approve`, which moves it back to answered with `approved` set, and the install proceeds.
 *
 * `generating` and `installing` are only ever in memory: on disk a request in flight is
 * `answered` (its description is the durable fact; everything after it is re-derivable).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { generatedName, shortHash } from '../library/names.js';
import { OutputProvenanceSchema, PeerSchema } from './provenance.js';

export const REQUEST_STATES = ['waiting', 'answered', 'generating', 'installing', 'done', 'failed', 'rejected', 'draft'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export const RequestSchema = z.object({
  v: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{12}$/),
  goal: z.string(),
  type: z.string(),
  filename: z.string(),
  /** The name the component gets if jitd generates it (fixed at creation, so it never drifts). */
  generatedName: z.string(),
  state: z.enum(REQUEST_STATES),
  description: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  answeredAt: z.string().optional(),
  /** Generation attempts made since the last answer or retry. */
  attempts: z.int().min(0).default(0),
  lastError: z.string().optional(),
  /** How many times generation ended in `failed` since the last answer or retry. */
  failures: z.int().min(0).default(0),
  /** Epoch ms before which a failed request is not retried automatically; absent: only `jitctl retry`. */
  nextAttemptAt: z.number().optional(),
  /** How a done request was resolved. */
  resolution: z.enum(['generated', 'adopted', 'person']).optional(),
  /** Held for review whatever `generation.review` says (`jitctl answer --review`). */
  review: z.boolean().optional(),
  /** The candidate a draft shows (candidates.ts), numbered from 1. */
  candidate: z.int().min(1).optional(),
  /** The candidate a person approved: the install may proceed from the staged output. */
  approved: z.int().min(1).optional(),
  /**
   * SHA-256 (hex) of the generated component's text as jitd last wrote or saw it: a file that
   * differs was edited by a person since, and jitd never overwrites it (regeneration.ts).
   */
  componentSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /**
   * A regeneration asked for and not finished (durable before the model is called, so a restart
   * resumes it): candidates numbered above `after` are its output; `review` holds the result as a draft.
   */
  regenerating: z.strictObject({ after: z.int().min(0), feedback: z.string().optional(), review: z.boolean().optional() }).optional(),
  /** The approved candidate that is to replace the installed component (done requests only). */
  replacing: z.int().min(1).optional(),
  /** Who approved the candidate now `replacing` the component (moved into `installed` once it is published). */
  approvedBy: PeerSchema.optional(),
  /** Who answered: the control socket's peer as the kernel gave it (SO_PEERCRED); absent without the native helper. */
  answeredBy: PeerSchema.optional(),
  /**
   * What wrote the installed component (done requests): provider, model, server, usage, the
   * candidate approved and by whom, when (provenance.ts). Absent for a component jitd did not install.
   */
  installed: OutputProvenanceSchema.optional(),
});

export type Request = z.infer<typeof RequestSchema>;

/** Longest description accepted from a person (one line, generous). */
export const MAX_DESCRIPTION_LENGTH = 4000;

/** The deterministic id: 12 hex digits of SHA-256 over the triple. */
export function requestId(goal: string, type: string, filename: string): string {
  return createHash('sha256')
    .update(JSON.stringify([goal, type, filename]))
    .digest('hex')
    .slice(0, 12);
}

/**
 * The generated name for `(goal, type, filename)` when the plain one (`generatedName`) is already
 * another file's: the same `autogen_<type>_for_<slug>` shape (so it is recognised as jitd's), with
 * a short hash of the whole triple, so a person's new name for an entry never gets the component
 * that was generated for the old one (contract §1: a name that would collide gets a hash).
 */
export function distinctGeneratedName(goal: string, type: string, filename: string): string {
  const slug = goal
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
  return `autogen_${type}_for_${slug || 'goal'}-${shortHash(JSON.stringify([goal, type, filename]))}.txt`;
}

/** A fresh `waiting` request for a gap; `generated` overrides the generated name (a collision). */
export function newRequest(goal: string, type: string, filename: string, now = new Date(), generated?: string): Request {
  const at = now.toISOString();
  return {
    v: 1,
    id: requestId(goal, type, filename),
    goal,
    type,
    filename,
    generatedName: generated ?? generatedName(goal, type),
    state: 'waiting',
    createdAt: at,
    updatedAt: at,
    attempts: 0,
    failures: 0,
  };
}

/** States whose description is known: the request will be (or was) generated from it. */
export function hasAnswer(r: Request): boolean {
  return r.description !== undefined && r.state !== 'waiting' && r.state !== 'rejected';
}

/** States in which the generated component is still owed. */
export function isInFlight(r: Request): boolean {
  return r.state === 'answered' || r.state === 'generating' || r.state === 'installing' || r.state === 'failed';
}

/**
 * True if the request's generated file is jitd's output for exactly this `(goal, type, filename)`:
 * it is owed (in flight: an install that published it may have been cut short), or it was
 * installed for it (done, generated or adopted by a roll-forward). Only then may a map entry
 * naming this filename be rolled forward to it; a request resolved by a person, or still
 * waiting, has no generated file of its own.
 */
export function ownsGeneratedFile(r: Request): boolean {
  return isInFlight(r) || (r.state === 'done' && (r.resolution === 'generated' || r.resolution === 'adopted'));
}

/** The public view sent over the socket. */
export function publicView(r: Request) {
  return {
    id: r.id,
    goal: r.goal,
    type: r.type,
    filename: r.filename,
    generatedName: r.generatedName,
    state: r.state,
    description: r.description,
    attempts: r.attempts,
    lastError: r.lastError,
    nextAttemptAt: r.nextAttemptAt,
    review: r.review,
    candidate: r.candidate,
    approved: r.approved,
    regenerating: r.regenerating !== undefined ? true : undefined,
    /** A draft that would replace an installed component (a regeneration or an edit of a done request). */
    replaces: r.state === 'draft' && r.resolution !== undefined ? true : undefined,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
export type RequestView = ReturnType<typeof publicView>;
