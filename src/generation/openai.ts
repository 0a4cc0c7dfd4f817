/**
 * The `openai` provider: one chat-completions call per attempt through the official SDK, to
 * OpenAI or any OpenAI-compatible server (`provider.baseURL`: llama.cpp, vLLM, Ollama...).
 * Chat completions, not the Responses API, because local servers 404 on the latter.
 *
 * Owns: the prompts, the whole-call deadline (`timeoutMs` covers the body too, not only the
 * headers as the SDK's `timeout` does), and the mapping of every failure to a GenerationError
 * that tells the person what to fix — or to an AbortError when the caller's signal fired. The
 * SDK's own retries are off; `generateWithRetry` retries. The API key never enters a message.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ConfigError, type ProviderConfig } from '../library/config.js';
import { abortErrorFor } from './abort.js';
import { cleanOutput, UnusableOutputError } from './clean-output.js';
import { GenerationError, type GenerationInput, type Provider } from './provider.js';

/** OpenAI's endpoint, used when `provider.baseURL` is not set. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
/** Sent as the key to a `baseURL` server when no key is configured; local servers ignore it. */
export const PLACEHOLDER_API_KEY = 'sk-no-key-required';

/** The openai provider, with what it talks to (for status and logs; never the key). */
export interface OpenAIProvider extends Provider {
  readonly name: 'openai';
  readonly model: string;
  readonly baseURL: string;
}

const COMMON_SYSTEM = [
  'You write prompt components for a library of reusable prompt parts. Components are plain text;',
  'several are concatenated, in order, into the prompt another language model receives.',
  'Reply with ONE reusable component and nothing else: no preamble, no explanation, no closing',
  'remarks, no Markdown code fences around it. Address the model that will receive the prompt',
  'directly, keep the component self-contained, and keep it general enough to reuse for its goal.',
].join(' ');

const TYPE_SYSTEM: Record<string, string> = {
  protocol:
    'This component is a PROTOCOL: a procedure. Write a one-line title, then numbered steps the model ' +
    'follows in order, each an imperative sentence or two, including when to stop, verify or escalate.',
  persona:
    'This component is a PERSONA: who the model is. Begin with "You are ...", then its expertise, ' +
    'priorities, tone and boundaries, in a few short lines or bullets.',
  format:
    'This component is a FORMAT: the exact shape of the answer. Give an output skeleton (headings, ' +
    'fields or JSON keys with <placeholders>) and short rules for filling it in.',
};

/** The system prompt for a component type. */
export function systemPromptFor(type: string): string {
  const specific =
    TYPE_SYSTEM[type.toLowerCase()] ??
    `This component is of type "${type}": write the plain-text instructions that part of a prompt needs, clear and concise.`;
  return `${COMMON_SYSTEM}\n\n${specific}`;
}

/** The user message: the description with the goal, type and missing file name as context. */
export function userPromptFor(input: Pick<GenerationInput, 'goal' | 'type' | 'filename' | 'description'>): string {
  return [
    `Goal: ${input.goal}`,
    `Component type: ${input.type}`,
    `File name the library expects: ${input.filename}`,
    'Description from the person who asked for this component:',
    input.description.trim(),
    '',
    `Write the ${input.type} component now.`,
  ].join('\n');
}

/** Milliseconds from `retry-after-ms` (ms) or `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(headers: Pick<Headers, 'get'> | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms')?.trim();
  if (ms) {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = headers?.get('retry-after')?.trim();
  if (ra) {
    const s = Number(ra);
    if (Number.isFinite(s) && s >= 0) return s * 1000;
    const date = Date.parse(ra);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return undefined;
}

/**
 * Creates the provider. Without a key and without a `baseURL` (i.e. real OpenAI) this throws a
 * ConfigError at once; with a `baseURL` and no key a placeholder key is sent.
 */
export function createOpenAIProvider(cfg: ProviderConfig, apiKey: string | undefined): OpenAIProvider {
  const key = apiKey?.trim() || undefined;
  if (!key && !cfg.baseURL) {
    throw new ConfigError(
      'provider.kind is "openai" but no API key: set OPENAI_API_KEY or LoadCredential=openai-api-key ' +
        '(or set provider.baseURL for a local OpenAI-compatible server)',
    );
  }
  const baseURL = cfg.baseURL ?? OPENAI_DEFAULT_BASE_URL;
  const client = new OpenAI({
    apiKey: key ?? PLACEHOLDER_API_KEY,
    baseURL, // explicit, so OPENAI_BASE_URL in the environment cannot silently redirect calls
    timeout: cfg.timeoutMs,
    maxRetries: 0,
    logLevel: 'off', // stdout carries pino's JSON lines only
  });

  /** Replaces the key wherever it might appear (a server echoing it, say). */
  const redact = (text: string): string => (key && key.length >= 4 ? text.split(key).join('[redacted]') : text);
  const fail = (message: string, retryable: boolean, extra?: { cause?: unknown; retryAfterMs?: number | undefined; status?: number }) =>
    new GenerationError(redact(message), retryable, extra);

  const serverDetail = (err: APIError): string => {
    const body = err.error as { message?: unknown } | undefined;
    const raw = typeof body?.message === 'string' ? body.message : '';
    const oneLine = redact(raw).replace(/\s+/g, ' ').trim();
    return oneLine ? ` (server said: ${oneLine.length > 240 ? `${oneLine.slice(0, 240)}…` : oneLine})` : '';
  };

  const mapStatus = (err: APIError & { status: number }): GenerationError => {
    const s = err.status;
    const detail = serverDetail(err);
    const retryAfterMs = parseRetryAfter(err.headers);
    const opts = { status: s, retryAfterMs };
    if (s === 401) {
      return fail(`${baseURL} refused the API key (401)${detail}: check OPENAI_API_KEY or the openai-api-key credential`, false, opts);
    }
    if (s === 403) {
      return fail(`${baseURL} denied access to model "${cfg.model}" (403)${detail}: check the API key's permissions and project`, false, opts);
    }
    if (s === 404) {
      return fail(
        `model "${cfg.model}" not found at ${baseURL} (404)${detail}: check provider.model and provider.baseURL (an OpenAI-compatible baseURL usually ends in /v1)`,
        false,
        opts,
      );
    }
    if (s === 429 && err.code === 'insufficient_quota') {
      return fail(`${baseURL} says the account's quota is exhausted (429)${detail}: check the plan and billing`, false, opts);
    }
    if (s === 429) return fail(`${baseURL} is rate-limiting requests (429)${detail}`, true, opts);
    if (s === 408 || s === 409) return fail(`${baseURL} asked to try again (${s})${detail}`, true, opts);
    if (s === 503) return fail(`${baseURL} is unavailable (503; a local server may still be loading its model)${detail}`, true, opts);
    if (s >= 500) return fail(`${baseURL} failed with a server error (${s})${detail}`, true, opts);
    if (s === 400) {
      return fail(`${baseURL} rejected the request (400)${detail}: check provider.model and the server's settings`, false, opts);
    }
    if (s === 422) {
      return fail(`${baseURL} could not process the request (422)${detail}: check provider.model and the server's settings`, false, opts);
    }
    return fail(`${baseURL} answered ${s}${detail}: check provider.baseURL and provider.model`, s < 400, opts);
  };

  const timedOut = () =>
    fail(
      `no complete answer from ${baseURL} within ${cfg.timeoutMs} ms: the server may be overloaded or the model slow (raise provider.timeoutMs if this keeps happening)`,
      true,
    );

  const unreadable = (why: string, cause?: unknown) =>
    fail(`the server returned an unreadable answer (${why}); check that ${baseURL} is an OpenAI-compatible API`, true, { cause });

  const mapError = (err: unknown, caller: AbortSignal, deadline: AbortSignal): Error => {
    if (caller.aborted) return abortErrorFor(caller);
    if (err instanceof GenerationError) return err;
    if (deadline.aborted || err instanceof APIConnectionTimeoutError) return timedOut();
    if (err instanceof APIError && typeof err.status === 'number') return mapStatus(err as APIError & { status: number });
    if (err instanceof APIConnectionError) {
      const cause = err.cause as { message?: string; cause?: { code?: string; message?: string } } | undefined;
      const inner = cause?.cause;
      const why =
        inner?.code && inner.message ? `${inner.code}: ${inner.message}` : (inner?.code ?? inner?.message ?? cause?.message ?? err.message);
      return fail(`cannot reach ${baseURL} (${why}): check provider.baseURL and that the server is running`, true, { cause: err.cause });
    }
    if (err instanceof SyntaxError) return unreadable('invalid JSON', err);
    const e = err as { name?: string; message?: string; cause?: { code?: string } } | undefined;
    if (e?.name === 'TypeError' || e?.name === 'AbortError' || e?.cause?.code) {
      return fail(`the connection to ${baseURL} broke while reading the answer (${e?.cause?.code ?? e?.message ?? 'unknown'})`, true, {
        cause: err,
      });
    }
    return fail(`unexpected failure talking to ${baseURL}: ${e?.message ?? String(err)}`, true, { cause: err });
  };

  return {
    name: 'openai',
    model: cfg.model,
    baseURL,
    async generate(input: GenerationInput): Promise<string> {
      const caller = input.signal;
      if (caller.aborted) throw abortErrorFor(caller);
      // openai's `timeout` stops at the response headers; this deadline also covers the body.
      const deadline = AbortSignal.timeout(cfg.timeoutMs);
      const signal = AbortSignal.any([caller, deadline]);
      const messages: ChatCompletionMessageParam[] = [
        { role: 'system', content: systemPromptFor(input.type) },
        { role: 'user', content: userPromptFor(input) },
      ];
      let completion: unknown;
      try {
        completion = await client.chat.completions.create({ model: cfg.model, messages }, { signal, maxRetries: 0 });
      } catch (err) {
        throw mapError(err, caller, deadline);
      }
      if (caller.aborted) throw abortErrorFor(caller);

      const choice = (completion as { choices?: unknown } | null | undefined)?.choices;
      if (!Array.isArray(choice) || choice.length === 0) {
        throw unreadable(typeof completion === 'object' && completion !== null ? 'no choices' : 'not JSON');
      }
      const first = choice[0] as { message?: { content?: unknown; refusal?: unknown }; finish_reason?: unknown } | undefined;
      const message = first?.message;
      if (typeof message?.refusal === 'string' && message.refusal.trim()) {
        throw new UnusableOutputError(
          'refusal',
          redact(`the model refused to write the component ("${message.refusal.trim().slice(0, 160)}"); if this persists, rephrase the description`),
        );
      }
      if (first?.finish_reason === 'content_filter') {
        throw fail('the provider\'s content filter blocked the answer: rephrase the description', false);
      }
      if (first?.finish_reason === 'length') {
        throw fail(
          `the answer was cut off at the model's output limit (finish_reason "length"): raise the server's token limit for ${cfg.model} or describe a smaller component`,
          false,
        );
      }
      const content = message?.content;
      if (content !== null && content !== undefined && typeof content !== 'string') {
        throw unreadable('message content is not text');
      }
      return cleanOutput(content ?? '', cfg.maxOutputBytes);
    },
  };
}
