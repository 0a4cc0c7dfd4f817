/**
 * The `openai` provider: one chat-completions call per attempt through the official SDK, to
 * OpenAI or any OpenAI-compatible server (`provider.baseURL`: llama.cpp, vLLM, Ollama...).
 * Chat completions, not the Responses API, because local servers 404 on the latter.
 *
 * It sends exactly the messages of `messages.ts` (what `jitctl preview` shows) and only `model`
 * and `messages`: no parameter a local server could reject. A reply needs only `choices`
 * (`usage`, `id`, `created` may be absent). It answers the text with the provenance the reply
 * gives: the server's `model` (else the configured one), the server (`baseURL` without
 * credentials or query) and `usage`'s token counts.
 *
 * Owns: the whole-call deadline (`timeoutMs` covers the body too, not only the headers as the
 * SDK's `timeout` does), and the mapping of every failure to a GenerationError that tells the
 * person what to fix, with the server's own message in whatever error shape it sent — or to an
 * AbortError when the caller's signal fired. The SDK's own retries are off; `generateWithRetry`
 * retries. The API key never enters a message.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { ConfigError, type ProviderConfig } from '../library/config.js';
import { abortErrorFor } from './abort.js';
import { cleanOutput, UnusableOutputError } from './clean-output.js';
import { buildMessages } from './messages.js';
import type { Usage } from '../requests/provenance.js';
import { GenerationError, type GenerationInput, type GenerationResult, type Provider } from './provider.js';

/** OpenAI's endpoint, used when `provider.baseURL` is not set. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
/** Sent as the key to a `baseURL` server when no key is configured; local servers ignore it. */
export const PLACEHOLDER_API_KEY = 'sk-no-key-required';

/** The openai provider, with what it talks to (for status and logs; never the key). */
export interface OpenAIProvider extends Provider {
  readonly name: 'openai';
  readonly model: string;
  readonly baseURL: string;
  generate(input: GenerationInput): Promise<GenerationResult>;
}

/** Where the body of a failed call is kept for its error message (one slot per call). */
interface ErrorBodySlot {
  text?: string | undefined;
}
const errorBodies = new AsyncLocalStorage<ErrorBodySlot>();
/** Error bodies are read up to this size: enough for any server's message. */
const MAX_ERROR_BODY_CHARS = 16_384;

/**
 * The SDK's fetch, keeping the body of an error response for {@link serverMessage}: the SDK's
 * APIError keeps `error.message` or `error` (a string) of a JSON body and the text of a plain
 * one, but drops any other JSON shape (vLLM's older `{"object":"error","message":…}`, FastAPI's
 * `{"detail":…}`), whose message the person then never sees.
 */
const fetchKeepingErrorBody = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const res = await fetch(input, init);
  const slot = errorBodies.getStore();
  if (!res.ok && slot) {
    slot.text = await res
      .clone()
      .text()
      .then((t) => t.slice(0, MAX_ERROR_BODY_CHARS))
      .catch(() => undefined);
  }
  return res;
};

const stripHtml = (text: string) => (/^\s*</.test(text) ? text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ') : text);

/**
 * The server's own words for a failed call, from the error body in any of the shapes servers
 * send: `{"error":{"message":…}}` (OpenAI, llama.cpp, newer vLLM), `{"error":"…"}` (Ollama),
 * `{"message":…}` (older vLLM), `{"detail":…}` (FastAPI), or a plain-text / HTML body (a proxy).
 * Falls back to what the SDK's APIError kept when the body was not captured. Empty when the
 * server said nothing.
 */
function serverMessage(body: string | undefined, err?: APIError): string {
  const pick = (j: unknown): string | undefined => {
    if (typeof j === 'string') return j;
    if (typeof j !== 'object' || j === null) return undefined;
    const o = j as Record<string, unknown>;
    if (typeof o.error === 'string') return o.error;
    const inner = o.error as { message?: unknown } | undefined;
    if (typeof inner?.message === 'string') return inner.message;
    if (typeof o.message === 'string') return o.message;
    if (typeof o.detail === 'string') return o.detail;
    if (Array.isArray(o.detail)) {
      const msgs = o.detail.map((d) => (typeof d === 'string' ? d : (d as { msg?: unknown })?.msg)).filter((m) => typeof m === 'string');
      if (msgs.length) return msgs.join('; ');
    }
    return undefined;
  };
  if (body !== undefined && body.trim() !== '') {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return stripHtml(body).trim();
    }
    return pick(json) ?? body.trim();
  }
  if (!err) return '';
  const kept = pick({ error: err.error });
  if (kept) return kept;
  // A plain-text body the SDK kept as its message, after the status: "502 Bad gateway".
  const m = /^\d{3} (.*)$/s.exec(err.message);
  return m && m[1] !== 'status code (no body)' ? m[1]! : '';
}

/** `baseURL` as provenance may keep it: no user, password, query or fragment (a key can hide in any). */
export function serverOf(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return '(unparsable baseURL)';
  }
}

/** The server's `usage` (OpenAI's snake_case counts) in provenance's shape; undefined if it sent none. */
function usageOf(completion: unknown): Usage | undefined {
  const u = (completion as { usage?: unknown }).usage;
  if (typeof u !== 'object' || u === null) return undefined;
  const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
  const o = u as Record<string, unknown>;
  const usage: Usage = {};
  const prompt = count(o.prompt_tokens);
  const completionTokens = count(o.completion_tokens);
  const total = count(o.total_tokens);
  if (prompt !== undefined) usage.promptTokens = prompt;
  if (completionTokens !== undefined) usage.completionTokens = completionTokens;
  if (total !== undefined) usage.totalTokens = total;
  return Object.keys(usage).length ? usage : undefined;
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
  const server = serverOf(baseURL);
  const client = new OpenAI({
    apiKey: key ?? PLACEHOLDER_API_KEY,
    baseURL, // explicit, so OPENAI_BASE_URL in the environment cannot silently redirect calls
    timeout: cfg.timeoutMs,
    maxRetries: 0,
    logLevel: 'off', // stdout carries pino's JSON lines only
    fetch: fetchKeepingErrorBody,
  });

  /** Replaces the key wherever it might appear (a server echoing it, say). */
  const redact = (text: string): string => (key && key.length >= 4 ? text.split(key).join('[redacted]') : text);
  const fail = (message: string, retryable: boolean, extra?: { cause?: unknown; retryAfterMs?: number | undefined; status?: number }) =>
    new GenerationError(redact(message), retryable, extra);

  const serverDetail = (err: APIError, body: string | undefined): string => {
    const oneLine = redact(serverMessage(body, err)).replace(/\s+/g, ' ').trim();
    return oneLine ? ` (server said: ${oneLine.length > 240 ? `${oneLine.slice(0, 240)}…` : oneLine})` : '';
  };

  const mapStatus = (err: APIError & { status: number }, body: string | undefined): GenerationError => {
    const s = err.status;
    const detail = serverDetail(err, body);
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

  const mapError = (err: unknown, caller: AbortSignal, deadline: AbortSignal, body: string | undefined): Error => {
    if (caller.aborted) return abortErrorFor(caller);
    if (err instanceof GenerationError) return err;
    if (deadline.aborted || err instanceof APIConnectionTimeoutError) return timedOut();
    if (err instanceof APIError && typeof err.status === 'number') return mapStatus(err as APIError & { status: number }, body);
    if (err instanceof APIConnectionError) {
      const cause = err.cause as { message?: string; cause?: { code?: string; message?: string } } | undefined;
      const inner = cause?.cause;
      const why = inner?.code && inner.message ? `${inner.code}: ${inner.message}` : (inner?.code ?? inner?.message ?? cause?.message ?? err.message);
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
    async generate(input: GenerationInput): Promise<GenerationResult> {
      const caller = input.signal;
      if (caller.aborted) throw abortErrorFor(caller);
      // openai's `timeout` stops at the response headers; this deadline also covers the body.
      const deadline = AbortSignal.timeout(cfg.timeoutMs);
      const signal = AbortSignal.any([caller, deadline]);
      // Exactly what `jitctl preview` shows: plain system and user messages, string content.
      const messages = buildMessages(input);
      let completion: unknown;
      const slot: ErrorBodySlot = {};
      try {
        completion = await errorBodies.run(slot, () => client.chat.completions.create({ model: cfg.model, messages }, { signal, maxRetries: 0 }));
      } catch (err) {
        throw mapError(err, caller, deadline, slot.text);
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
        throw fail("the provider's content filter blocked the answer: rephrase the description", false);
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
      const text = cleanOutput(content ?? '', cfg.maxOutputBytes);
      const served = (completion as { model?: unknown }).model;
      const usage = usageOf(completion);
      // The model the server says answered (an alias resolves to a version), else the configured one.
      return { text, model: typeof served === 'string' && served.trim() ? served : cfg.model, server, ...(usage ? { usage } : {}) };
    },
  };
}
