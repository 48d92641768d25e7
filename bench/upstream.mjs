// Benchmark upstream: a minimal local "gateway" in its own process.
//   POST /v1/chat/completions  → a small JSON completion (~300 bytes)
//   POST /v1/stream            → SSE: first event at once, then one event every ?interval ms, ?events in total
//   GET  /v1/blob?mib=N&chunked=1 → N MiB of bytes, chunked (no length) or with a content-length
//   POST /v1/upload            → reads the body, answers its length
// Prints its port on stdout.
import http from 'node:http';

const BODY = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 0,
  model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
});

const BLOB = Buffer.alloc(64 * 1024, 'x');

const server = http.createServer((req, res) => {
  if (!req.headers.authorization?.startsWith('Bearer ')) {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"no token"}}');
    req.resume();
    return;
  }
  const url = new URL(req.url, 'http://x');
  let uploaded = 0;
  req.on('data', (d) => {
    uploaded += d.length;
  });
  req.on('end', () => {
    if (url.pathname === '/v1/blob') {
      const total = Number(url.searchParams.get('mib') ?? 1) * 1024 * 1024;
      const chunked = url.searchParams.get('chunked') === '1';
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        ...(chunked ? {} : { 'content-length': total }),
      });
      let left = total;
      const more = () => {
        while (left > 0) {
          const n = Math.min(left, BLOB.length);
          left -= n;
          if (!res.write(n === BLOB.length ? BLOB : BLOB.subarray(0, n))) return void res.once('drain', more);
        }
        res.end();
      };
      more();
      return;
    }
    if (url.pathname === '/v1/upload') {
      const n = String(uploaded);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': n.length });
      res.end(n);
      return;
    }
    if (url.pathname === '/v1/stream') {
      const events = Number(url.searchParams.get('events') ?? 3);
      const interval = Number(url.searchParams.get('interval') ?? 10);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      res.write(`data: {"n":${n++}}\n\n`);
      const t = setInterval(() => {
        if (n >= events) {
          clearInterval(t);
          res.end('data: [DONE]\n\n');
          return;
        }
        res.write(`data: {"n":${n++}}\n\n`);
      }, interval);
      res.on('close', () => clearInterval(t));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
    res.end(BODY);
  });
});
server.keepAliveTimeout = 120_000;
server.maxRequestsPerSocket = 0;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
