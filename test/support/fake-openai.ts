/**
 * A fake OpenAI-compatible server for tests: real `node:http` on 127.0.0.1, port 0, with a
 * scriptable queue of responses (status, headers, JSON or raw body, delay before the headers,
 * a body that stalls half-way, a reset socket, no answer at all) and a record of every request.
 * Only the OpenAI service is faked; the SDK and HTTP stack under test are the real ones.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One scripted response. Defaults: 200, `application/json`, immediate. */
export interface FakeResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Serialised as the body (content-type application/json unless headers say otherwise). */
  json?: unknown;
  /** Sent as-is instead of `json`. */
  body?: string | Buffer;
  /** Wait this long before sending the headers. */
  delayMs?: number;
  /** Never answer (not even headers); the socket stays open until the client gives up. */
  hang?: boolean;
  /** Send the headers and this many bytes of the body, then stall forever. */
  stallAfterBytes?: number;
  /** Destroy the socket instead of answering (a connection reset). */
  reset?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: any;
}

export interface FakeOpenAI {
  /** `http://127.0.0.1:PORT/v1`, to use as the SDK's baseURL. */
  baseURL: string;
  requests: RecordedRequest[];
  /** Appends responses to the queue; an empty queue answers 500 "no scripted response". */
  enqueue(...responses: FakeResponse[]): void;
  stop(): Promise<void>;
}

/**
 * A chat.completion body whose first choice carries `content`, with `model` (default
 * `fake-model`) and `usage` token counts (default 1 + 1 = 2) as a server reports them.
 */
export function completion(
  content: string | null,
  extra: { finish_reason?: string; refusal?: string; model?: string; usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } } = {},
): unknown {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: extra.model ?? 'fake-model',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: extra.refusal ?? null },
        finish_reason: extra.finish_reason ?? 'stop',
      },
    ],
    usage: extra.usage ?? { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

/** An OpenAI-style error body. */
export function apiError(message: string, type = 'invalid_request_error', code: string | null = null): unknown {
  return { error: { message, type, param: null, code } };
}

/**
 * A chat.completion body with only what a minimal local server sends: `choices` (no `id`,
 * `object`, `created`, `model` or `usage`).
 */
export function bareCompletion(content: string): unknown {
  return { choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] };
}

/**
 * The error bodies OpenAI-compatible servers send, each carrying `message` as the server's own
 * words: OpenAI / llama.cpp / newer vLLM (`{"error":{"message"}}`), Ollama (`{"error":"…"}`), a
 * plain-text body (a proxy, some servers), and older vLLM (`{"object":"error","message"}`).
 */
export const ERROR_SHAPES: Record<'object' | 'string' | 'plain-text' | 'top-level-message', (status: number, message: string) => FakeResponse> = {
  object: (status, message) => ({ status, json: apiError(message) }),
  string: (status, message) => ({ status, json: { error: message } }),
  'plain-text': (status, message) => ({ status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: message }),
  'top-level-message': (status, message) => ({ status, json: { object: 'error', message, type: 'BadRequestError', param: null, code: status } }),
};

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const queue: FakeResponse[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const respond = (res: ServerResponse, r: FakeResponse) => {
    if (r.reset) {
      res.socket?.destroy();
      return;
    }
    if (r.hang) return;
    const body = r.body !== undefined ? Buffer.from(r.body) : r.json !== undefined ? Buffer.from(JSON.stringify(r.json)) : Buffer.alloc(0);
    const headers: Record<string, string> = { 'content-type': 'application/json', ...r.headers };
    if (r.stallAfterBytes !== undefined) {
      res.writeHead(r.status ?? 200, headers); // no content-length: chunked, so the client waits for more
      res.write(body.subarray(0, r.stallAfterBytes));
      return;
    }
    res.writeHead(r.status ?? 200, { ...headers, 'content-length': String(body.length) });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawBody, body });
      const r = queue.shift() ?? { status: 500, json: apiError('no scripted response', 'server_error') };
      if (r.delayMs) later(r.delayMs, () => respond(res, r));
      else respond(res, r);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...rs) => void queue.push(...rs),
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
