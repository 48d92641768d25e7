/**
 * A fake LLM gateway on loopback: speaks enough OpenAI (/v1/chat/completions, /v1/responses,
 * /v1/models; streaming SSE) and Anthropic (/v1/messages; streaming SSE) for the official SDKs and
 * the real CLIs, verifies the bearer JWT (against a JWKS URL with jose, or a custom verifier) and
 * answers 401 otherwise, and records every request. Tests can take over any request with
 * `gateway.override`.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** Path without the query. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** `sub` of the verified token (or the raw token when no verification is configured). */
  subject: string | undefined;
  body: string;
  /** The body bytes exactly as received. */
  rawBody: Buffer;
}

export interface FakeGatewayOptions {
  /** Verify bearer JWTs against this JWKS. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Custom verification: return the subject or throw. */
  verify?: (token: string) => Promise<string> | string;
  /** Serve HTTPS with this certificate (PEM) instead of plain HTTP. */
  tls?: { cert: string; key: string };
}

/** Return true when the override answered the request itself. */
export type Override = (
  req: IncomingMessage,
  res: ServerResponse,
  record: RecordedRequest,
) => boolean | Promise<boolean>;

export interface FakeGateway {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** SSE streams the gateway saw closed by the peer before finishing. */
  abortedStreams: number;
  openStreams: number;
  override: Override | undefined;
  close(): Promise<void>;
}

const sse = (res: ServerResponse) =>
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-gateway': 'fake',
  });

const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'x-gateway': 'fake', ...extra });
  res.end(text);
};

function lastUserText(body: Record<string, unknown>): string {
  const msgs = (body['messages'] as Array<{ role: string; content: unknown }> | undefined) ?? [];
  const input = body['input'];
  if (typeof input === 'string') return input;
  const list = msgs.length
    ? msgs
    : Array.isArray(input)
      ? (input as Array<{ role: string; content: unknown }>)
      : [];
  const last = [...list].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content)) {
    return last.content
      .map((c: { text?: string }) => c.text ?? '')
      .filter(Boolean)
      .join(' ');
  }
  return '';
}

export async function startFakeGateway(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
  const jwks = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
  const verify = async (token: string): Promise<string> => {
    if (options.verify) return options.verify(token);
    if (jwks) {
      const { payload } = await jwtVerify(token, jwks, {
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
      });
      return String(payload.sub);
    }
    return token;
  };

  const gw: FakeGateway = {
    url: '',
    port: 0,
    requests: [],
    abortedStreams: 0,
    openStreams: 0,
    override: undefined,
    close: async () => {},
  };

  const trackStream = (res: ServerResponse) => {
    gw.openStreams++;
    res.once('close', () => {
      gw.openStreams--;
      if (!res.writableFinished) gw.abortedStreams++;
    });
  };

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks);
    const bodyText = rawBody.toString('utf8');
    const auth = req.headers['authorization'];
    const m = typeof auth === 'string' ? /^Bearer (.+)$/.exec(auth) : null;
    let subject: string | undefined;
    let authError: string | undefined;
    if (!m) authError = 'missing bearer token';
    else {
      try {
        subject = await verify(m[1]!);
      } catch (err) {
        authError = `invalid token: ${(err as Error).message}`;
      }
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      path: (req.url ?? '/').split('?')[0]!,
      headers: req.headers,
      subject,
      body: bodyText,
      rawBody,
    };
    gw.requests.push(record);
    if (gw.override && (await gw.override(req, res, record))) return;
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/(openai|anthropic|gateway)(?=\/)/, '');
    const anthropic = path.startsWith('/v1/messages');
    if (authError) {
      if (anthropic) {
        json(res, 401, { type: 'error', error: { type: 'authentication_error', message: authError } });
      } else {
        json(res, 401, {
          error: { message: authError, type: 'invalid_request_error', code: 'invalid_api_key' },
        });
      }
      return;
    }
    let body: Record<string, unknown> = {};
    try {
      body = bodyText ? (JSON.parse(bodyText) as Record<string, unknown>) : {};
    } catch {
      json(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error' } });
      return;
    }
    const model = typeof body['model'] === 'string' ? body['model'] : 'test-model';
    const reply = `echo: ${lastUserText(body)}`;
    const words = reply.split(/(?<= )/);
    const created = Math.floor(Date.now() / 1000);

    if (req.method === 'HEAD' || path === '/api/hello') {
      res.writeHead(200);
      res.end();
      return;
    }
    if (path === '/v1/models' && req.method === 'GET') {
      json(res, 200, {
        object: 'list',
        data: [{ id: 'test-model', object: 'model', created, owned_by: 'gatepass-test' }],
      });
      return;
    }
    if (path === '/v1/chat/completions' && req.method === 'POST') {
      if (body['stream']) {
        sse(res);
        trackStream(res);
        const base = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created, model };
        const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
        send({
          ...base,
          choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
        });
        for (const w of words)
          send({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] });
        send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
        res.end('data: [DONE]\n\n');
        return;
      }
      json(res, 200, {
        id: 'chatcmpl-test',
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: reply, refusal: null },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: words.length, total_tokens: 5 + words.length },
      });
      return;
    }
    if (path === '/v1/responses' && req.method === 'POST') {
      const item = {
        type: 'message',
        id: 'msg_test',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: reply, annotations: [] }],
      };
      const usage = {
        input_tokens: 5,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: words.length,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 5 + words.length,
      };
      const response = (status: string, output: unknown[]) => ({
        id: 'resp_test',
        object: 'response',
        created_at: created,
        status,
        model,
        output,
        parallel_tool_calls: true,
        tool_choice: 'auto',
        tools: [],
        usage: status === 'completed' ? usage : null,
      });
      if (body['stream']) {
        sse(res);
        trackStream(res);
        let seq = 0;
        const send = (type: string, o: Record<string, unknown>) =>
          res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...o })}\n\n`);
        send('response.created', { response: response('in_progress', []) });
        send('response.in_progress', { response: response('in_progress', []) });
        send('response.output_item.added', {
          output_index: 0,
          item: { ...item, status: 'in_progress', content: [] },
        });
        send('response.content_part.added', {
          item_id: 'msg_test',
          output_index: 0,
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [] },
        });
        for (const w of words) {
          send('response.output_text.delta', {
            item_id: 'msg_test',
            output_index: 0,
            content_index: 0,
            delta: w,
          });
        }
        send('response.output_text.done', {
          item_id: 'msg_test',
          output_index: 0,
          content_index: 0,
          text: reply,
        });
        send('response.content_part.done', {
          item_id: 'msg_test',
          output_index: 0,
          content_index: 0,
          part: { type: 'output_text', text: reply, annotations: [] },
        });
        send('response.output_item.done', { output_index: 0, item });
        send('response.completed', { response: response('completed', [item]) });
        res.end();
        return;
      }
      json(res, 200, response('completed', [item]));
      return;
    }
    if (path === '/v1/messages' && req.method === 'POST') {
      const usage = { input_tokens: 5, output_tokens: words.length };
      const message = {
        id: 'msg_test',
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: reply }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage,
      };
      if (body['stream']) {
        sse(res);
        trackStream(res);
        const send = (type: string, o: Record<string, unknown>) =>
          res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`);
        send('message_start', {
          message: {
            ...message,
            content: [],
            stop_reason: null,
            usage: { input_tokens: 5, output_tokens: 0 },
          },
        });
        send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
        send('ping', {});
        for (const w of words)
          send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: w } });
        send('content_block_stop', { index: 0 });
        send('message_delta', {
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: words.length },
        });
        send('message_stop', {});
        res.end();
        return;
      }
      json(res, 200, message);
      return;
    }
    // Gemini: /v1beta/models/<model>:generateContent | :streamGenerateContent?alt=sse | :countTokens
    const gemini = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(\w+)$/.exec(path);
    if (gemini && req.method === 'POST') {
      const method = gemini[2]!;
      const contents = (body['contents'] as Array<{ role?: string; parts?: Array<{ text?: string }> }>) ?? [];
      const lastUser = [...contents].reverse().find((c) => (c.role ?? 'user') === 'user');
      const text = `echo: ${(lastUser?.parts ?? []).map((p) => p.text ?? '').join(' ')}`;
      const usageMetadata = { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 };
      const candidate = (t: string, done: boolean) => ({
        content: { role: 'model', parts: [{ text: t }] },
        index: 0,
        ...(done ? { finishReason: 'STOP' } : {}),
      });
      if (method === 'countTokens') {
        json(res, 200, { totalTokens: 5 });
        return;
      }
      if (method === 'streamGenerateContent') {
        sse(res);
        trackStream(res);
        const parts = text.split(/(?<= )/);
        parts.forEach((t, i) => {
          const done = i === parts.length - 1;
          res.write(
            `data: ${JSON.stringify({ candidates: [candidate(t, done)], ...(done ? { usageMetadata } : {}), modelVersion: gemini[1] })}\r\n\r\n`,
          );
        });
        res.end();
        return;
      }
      if (method === 'generateContent') {
        json(res, 200, { candidates: [candidate(text, true)], usageMetadata, modelVersion: gemini[1] });
        return;
      }
    }
    if (path === '/v1/messages/count_tokens' && req.method === 'POST') {
      json(res, 200, { input_tokens: 5 });
      return;
    }
    json(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'not_found' } });
  };
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  gw.port = port;
  gw.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  gw.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return gw;
}

/** Write SSE events every `intervalMs` until the peer goes away (for abort tests). */
export function endlessStream(gw: FakeGateway, res: ServerResponse, intervalMs = 20): void {
  sse(res);
  gw.openStreams++;
  let n = 0;
  const t = setInterval(() => res.write(`data: {"n":${n++}}\n\n`), intervalMs);
  res.once('close', () => {
    clearInterval(t);
    gw.openStreams--;
    if (!res.writableFinished) gw.abortedStreams++;
  });
}
