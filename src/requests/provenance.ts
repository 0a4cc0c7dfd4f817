/**
 * Provenance: who asked for a component and what wrote it (docs/review.md, "Provenance"). The
 * shapes here are stored in three places, each durable before anything depends on it: the staged
 * output's sidecar (staged-output.ts), a candidate's `<n>.json` (candidates.ts), and the done
 * request record's `installed` (request.ts). Who answered is the request record's `answeredBy`.
 *
 * People are identified by the kernel (SO_PEERCRED on the control socket, ipc/peer-cred.ts),
 * never by what a client says; absent where the native helper is not built.
 */
import { z } from 'zod';

/** A person on the other end of the control socket: the kernel's uid, and its user name if it has one. */
export const PeerSchema = z.object({ uid: z.int().min(0), user: z.string().optional() });
export type Peer = z.infer<typeof PeerSchema>;

/** The token usage a server reported for one call (any field may be missing). */
export const UsageSchema = z.object({
  promptTokens: z.int().min(0).optional(),
  completionTokens: z.int().min(0).optional(),
  totalTokens: z.int().min(0).optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

/** What wrote a text: the provider, and for a model call its model, server and usage. */
export const GenerationInfoSchema = z.object({
  provider: z.string(),
  model: z.string().optional(),
  /** The server's base URL, without credentials or query. */
  server: z.string().optional(),
  usage: UsageSchema.optional(),
  /** When the text was written (ISO time). */
  at: z.string(),
});
export type GenerationInfo = z.infer<typeof GenerationInfoSchema>;

/**
 * The provenance of an installed (or staged) text: what wrote it, which candidate it was (review
 * flow), and who approved or edited it. Objects, not strict: a newer jitd's extra fields never make
 * a record unreadable.
 */
export const OutputProvenanceSchema = GenerationInfoSchema.extend({
  candidate: z.int().min(1).optional(),
  /** `person`: a person's text (an edit, or their version of the file kept). Absent: the model's. */
  source: z.enum(['model', 'person', 'installed']).optional(),
  feedback: z.string().optional(),
  approvedBy: PeerSchema.optional(),
  editedBy: PeerSchema.optional(),
});
export type OutputProvenance = z.infer<typeof OutputProvenanceSchema>;

/** `T` with each field that may be undefined made optional instead. */
export type Compact<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** `info` without its undefined fields (records are JSON; an explicit undefined is noise). */
export function compact<T extends object>(info: T): Compact<T> {
  return Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as Compact<T>;
}
