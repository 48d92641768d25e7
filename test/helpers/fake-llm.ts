/**
 * A minimal fake LLM gateway on loopback: Anthropic `POST /v1/messages` and OpenAI
 * `POST /v1/responses` (and chat completions), streaming SSE like the real APIs, recording every
 * request's method, path and auth headers so tests can assert what a tool sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  apiKey: string | undefined;
  body: string;
  /** The anthropic-beta header, when sent. */
  beta?: string | undefined;
}

export interface FakeLlm {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export const FAKE_REPLY = 'Hello from the fake gateway.';

function sse(res: ServerResponse, events: Array<[string, unknown]>): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  for (const [event, data] of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  res.end();
}

function anthropic(res: ServerResponse, body: Record<string, unknown>): void {
  const model = typeof body['model'] === 'string' ? body['model'] : 'claude-fake';
  const usage = { input_tokens: 5, output_tokens: 7 };
  const message = {
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model,
    content: [] as unknown[],
    stop_reason: null,
    stop_sequence: null,
    usage,
  };
  if (!body['stream']) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ ...message, content: [{ type: 'text', text: FAKE_REPLY }], stop_reason: 'end_turn' }),
    );
    return;
  }
  sse(res, [
    ['message_start', { type: 'message_start', message }],
    [
      'content_block_start',
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ],
    ['ping', { type: 'ping' }],
    [
      'content_block_delta',
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: FAKE_REPLY } },
    ],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    [
      'message_delta',
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: 7 },
      },
    ],
    ['message_stop', { type: 'message_stop' }],
  ]);
}

function responses(res: ServerResponse, body: Record<string, unknown>): void {
  const model = typeof body['model'] === 'string' ? body['model'] : 'gpt-fake';
  const item = {
    id: 'msg_fake',
    type: 'message',
    status: 'completed',
    role: 'assistant',
    content: [{ type: 'output_text', text: FAKE_REPLY, annotations: [] }],
  };
  const base = {
    id: 'resp_fake',
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    model,
    output: [] as unknown[],
    usage: null as unknown,
  };
  const usage = {
    input_tokens: 5,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 7,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 12,
  };
  if (!body['stream']) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...base, status: 'completed', output: [item], usage }));
    return;
  }
  sse(res, [
    [
      'response.created',
      { type: 'response.created', sequence_number: 0, response: { ...base, status: 'in_progress' } },
    ],
    [
      'response.output_item.added',
      {
        type: 'response.output_item.added',
        sequence_number: 1,
        output_index: 0,
        item: { ...item, status: 'in_progress', content: [] },
      },
    ],
    [
      'response.content_part.added',
      {
        type: 'response.content_part.added',
        sequence_number: 2,
        item_id: item.id,
        output_index: 0,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [] },
      },
    ],
    [
      'response.output_text.delta',
      {
        type: 'response.output_text.delta',
        sequence_number: 3,
        item_id: item.id,
        output_index: 0,
        content_index: 0,
        delta: FAKE_REPLY,
      },
    ],
    [
      'response.output_text.done',
      {
        type: 'response.output_text.done',
        sequence_number: 4,
        item_id: item.id,
        output_index: 0,
        content_index: 0,
        text: FAKE_REPLY,
      },
    ],
    [
      'response.content_part.done',
      {
        type: 'response.content_part.done',
        sequence_number: 5,
        item_id: item.id,
        output_index: 0,
        content_index: 0,
        part: item.content[0],
      },
    ],
    [
      'response.output_item.done',
      { type: 'response.output_item.done', sequence_number: 6, output_index: 0, item },
    ],
    [
      'response.completed',
      {
        type: 'response.completed',
        sequence_number: 7,
        response: { ...base, status: 'completed', output: [item], usage },
      },
    ],
  ]);
}

function chat(res: ServerResponse, body: Record<string, unknown>): void {
  const model = typeof body['model'] === 'string' ? body['model'] : 'gpt-fake';
  const created = Math.floor(Date.now() / 1000);
  if (!body['stream']) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'chatcmpl_fake',
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: FAKE_REPLY }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (delta: unknown, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl_fake', object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.write(chunk({ role: 'assistant', content: FAKE_REPLY }, null));
  res.write(chunk({}, 'stop'));
  res.end('data: [DONE]\n\n');
}

/** Gemini API: `POST /v1beta/models/<model>:generateContent` and `:streamGenerateContent?alt=sse`. */
function gemini(res: ServerResponse, stream: boolean): void {
  const body = {
    candidates: [
      { content: { role: 'model', parts: [{ text: FAKE_REPLY }] }, finishReason: 'STOP', index: 0 },
    ],
    usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 7, totalTokenCount: 12 },
    modelVersion: 'gemini-fake',
  };
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end(`data: ${JSON.stringify(body)}\r\n\r\n`);
}

export async function startFakeLlm(
  options: { layout?: 'plain' | 'prefixed'; tls?: { cert: string; key: string } } = {},
): Promise<FakeLlm> {
  const prefixed = options.layout === 'prefixed';
  const requests: RecordedRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      raw += d;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        authorization: header('authorization'),
        apiKey: header('x-api-key') ?? header('x-goog-api-key'),
        body: raw,
        beta: header('anthropic-beta'),
      });
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        // not JSON
      }
      if (/^\/(anthropic|openai)\//.test(url.pathname) !== prefixed && url.pathname !== '/api/hello') {
        // Plain layout (default): the APIs at the root, so gatepass setup's probe finds no prefix;
        // prefixed: only under /anthropic and /openai.
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not found"}');
        return;
      }
      if (req.method === 'POST' && url.pathname.endsWith('/v1/messages')) return anthropic(res, body);
      if (req.method === 'POST' && url.pathname.endsWith('/responses')) return responses(res, body);
      if (req.method === 'POST' && url.pathname.endsWith('/chat/completions')) return chat(res, body);
      if (req.method === 'POST' && url.pathname.endsWith(':streamGenerateContent')) return gemini(res, true);
      if (req.method === 'POST' && url.pathname.endsWith(':generateContent')) return gemini(res, false);
      if (req.method === 'POST' && url.pathname.endsWith(':countTokens')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ totalTokens: 5 }));
        return;
      }
      if (url.pathname.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [], models: [] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  };
  // HTTPS with a test CA's certificate, for the TLS options.
  const server = (options.tls ? createHttpsServer(options.tls, handler) : createServer(handler)) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
