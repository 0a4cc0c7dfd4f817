/**
 * The provider interface: what the job pipeline calls to have a component written (the seed's
 * `call_llm_api`). A provider makes one attempt per call; retries, back-off and the request's
 * `failed` state belong to the pipeline, which reads {@link GenerationError.retryable}.
 */
import { JitdError } from '../fsio/errors.js';
import { compact, type GenerationInfo, type Usage } from '../requests/provenance.js';
import type { GenerationContext } from './context.js';

export interface GenerationInput {
  goal: string;
  /** Component type, e.g. `protocol`, `persona`, `format`. */
  type: string;
  /** The missing file the map names (context for the model). */
  filename: string;
  /** The person's one-line description. */
  description: string;
  /** Aborted on shutdown, cancellation or the job's deadline. */
  signal: AbortSignal;
  /**
   * What the model sees of the library (context.ts): siblings, examples, the library's own
   * instructions. Without it the messages carry the request alone, with the built-in instructions.
   */
  context?: GenerationContext;
  /** For a regeneration (contract §8): the previous candidate and the person's feedback on it. */
  regeneration?: { previous: string; feedback?: string };
}

/** A provider's answer with what produced it, for the output's provenance (requests/provenance.ts). */
export interface GenerationResult {
  /** The cleaned component text (UTF-8, ends in a newline). */
  text: string;
  /** The model that answered (the server's word for it, else the configured one). */
  model?: string;
  /** The server's base URL, without credentials or query. */
  server?: string;
  /** The token usage the server reported. */
  usage?: Usage;
}

export interface Provider {
  /** `template` or `openai`, for status and logs. */
  readonly name: string;
  /**
   * Answers the cleaned component text (UTF-8, ends in a newline), alone or with its model,
   * server and usage, or throws GenerationError. The plain string is the whole answer of a
   * provider that has nothing more to tell ({@link normaliseResult}).
   */
  generate(input: GenerationInput): Promise<string | GenerationResult>;
}

/** A provider's answer in one shape: the text and what wrote it (the one place the plain-string form is read). */
export function normaliseResult(provider: string, answer: string | GenerationResult, at = new Date()): { text: string; info: GenerationInfo } {
  if (typeof answer === 'string') return { text: answer, info: { provider, at: at.toISOString() } };
  const { text, model, server, usage } = answer;
  const counts = usage ? compact(usage) : undefined;
  return {
    text,
    info: compact({ provider, model, server, usage: counts && Object.keys(counts).length ? counts : undefined, at: at.toISOString() }),
  };
}

/** A failed attempt. `retryable` decides between back-off and `failed` at once. */
export class GenerationError extends JitdError {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; retryAfterMs?: number | undefined; status?: number | undefined },
  ) {
    super(retryable ? 'EGEN_RETRY' : 'EGEN', message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.status = options?.status;
  }
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
}
