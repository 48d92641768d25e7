#!/usr/bin/env node
// gatepass benchmarks (`npm run bench`, which builds first).
// (a) `gatepass token` with a cached token vs bare `node -e 0` (bench/token.mjs);
// (b)-(d) the proxy. Everything runs on loopback:
//   upstream  bench/upstream.mjs, a minimal gateway in its own process
//   proxy     bench/proxy-child.mjs, the built gatepass proxy in its own process (static token)
//   nginx     Debian nginx as a header-injecting reverse proxy (1 worker, keep-alive upstream), when installed
//   load      this process: undici Pools with keep-alive
// Results: a table on stdout and bench/results/proxy-<timestamp>.json.
// Env knobs: BENCH_LATENCY_N (2000), BENCH_DURATION_MS (5000), BENCH_CONCURRENCY (32), BENCH_STREAMS (500),
// BENCH_TOKEN_RUNS (30), BENCH_ONLY (token | proxy | wrk: run one section; wrk.mjs has its own knobs).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { tokenBench, tokenTable } from './token.mjs';
import { wrkSection } from './wrk.mjs';
import { freePort, rssMiB, waitForPort } from './wrk-targets.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const LATENCY_N = Number(process.env.BENCH_LATENCY_N ?? 2000);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 8000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const KEY = 'gp_local_benchbenchbenchbenchbenchbenchbenchbench';
const REQUEST_BODY = JSON.stringify({
  model: 'bench',
  messages: [{ role: 'user', content: 'Say ok. '.repeat(16) }],
  max_tokens: 16,
});
const BASE_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
// Direct calls carry the gateway token; the proxies get the local key and inject the token.
const HEADERS_FOR = {
  direct: { ...BASE_HEADERS, authorization: 'Bearer bench-token' },
  proxy: { ...BASE_HEADERS, 'x-api-key': KEY },
  nginx: { ...BASE_HEADERS, 'x-api-key': KEY },
};

const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Spawn a child that prints its port as its first stdout line. */
function startChild(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(proc);
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ proc, port: Number(out.slice(0, nl)) });
    });
    proc.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

function nginxBinary() {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    const r = spawnSync(p, ['-v'], { encoding: 'utf8' });
    if (r.status === 0)
      return { bin: p, version: (r.stderr || r.stdout).trim().replace(/^nginx version: /, '') };
  }
  return undefined;
}

async function startNginx(bin, upstreamPort) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatepass-bench-nginx-'));
  const port = await freePort();
  const conf = `
master_process off;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream gateway { server 127.0.0.1:${upstreamPort}; keepalive 512; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://gateway;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer bench-token";
      proxy_set_header X-Api-Key "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const proc = spawn(
    bin,
    [
      '-p',
      dir,
      '-c',
      path.join(dir, 'nginx.conf'),
      '-e',
      path.join(dir, 'error.log'),
      '-g',
      `daemon off; pid ${dir}/nginx.pid;`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  children.push(proc);
  await waitForPort(port, 100);
  return {
    port,
    pid: proc.pid,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: round(pct(s, 50)),
    p90: round(pct(s, 90)),
    p99: round(pct(s, 99)),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

async function oneRequest(pool, headers) {
  const r = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body: REQUEST_BODY });
  await r.body.text();
  if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
}

/** Sequential requests over one keep-alive connection: per-request latency (ms). */
async function latency({ port, headers }, n) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  for (let i = 0; i < 100; i++) await oneRequest(pool, headers);
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await oneRequest(pool, headers);
    samples.push(performance.now() - t0);
  }
  await pool.close();
  return samples;
}

/** `concurrency` keep-alive connections hammering for `durationMs`: requests per second. */
/** CPU time (ms) a process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuMs(pid) {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Read and write syscalls a process has made so far (/proc/<pid>/io; Linux, same user). */
function syscalls(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/io`, 'utf8');
    return { r: Number(/syscr: (\d+)/.exec(t)[1]), w: Number(/syscw: (\d+)/.exec(t)[1]) };
  } catch {
    return undefined;
  }
}

async function throughput({ port, headers, pid }, concurrency, durationMs) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency });
  const run = async (ms) => {
    let done = 0;
    let errors = 0;
    const deadline = performance.now() + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          try {
            await oneRequest(pool, headers);
            done++;
          } catch {
            errors++;
          }
        }
      }),
    );
    return { done, errors };
  };
  await run(500); // warm-up
  const cpu0 = cpuMs(pid);
  const io0 = pid ? syscalls(pid) : undefined;
  const t0 = performance.now();
  const { done, errors } = await run(durationMs);
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = cpuMs(pid);
  const io1 = pid ? syscalls(pid) : undefined;
  await pool.close();
  return {
    rps: Math.round(done / secs),
    requests: done,
    errors,
    concurrency,
    ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuMs: cpu1 - cpu0 } : {}),
    ...(io0 && io1 ? { reads: io1.r - io0.r, writes: io1.w - io0.w } : {}),
  };
}

/** Time to the first SSE byte (ms), sequentially over one connection. */
async function ttfb({ port, headers }, n) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const once = async () => {
    const t0 = performance.now();
    const r = await pool.request({
      path: '/v1/stream?events=2&interval=1',
      method: 'POST',
      headers,
      body: REQUEST_BODY,
    });
    let first = 0;
    for await (const _chunk of r.body) if (!first) first = performance.now() - t0;
    return first;
  };
  for (let i = 0; i < 20; i++) await once();
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(await once());
  await pool.close();
  return samples;
}

/** Hold `count` SSE streams open through the proxy; report its RSS at peak and after. */
async function streamsRss(port, pid, count) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: count });
  let firstBytes = 0;
  let errors = 0;
  const started = performance.now();
  const all = Array.from({ length: count }, async () => {
    try {
      const r = await pool.request({
        path: '/v1/stream?events=16&interval=250',
        method: 'POST',
        headers: HEADERS_FOR.proxy,
        body: REQUEST_BODY,
      });
      let seen = false;
      for await (const _c of r.body) {
        if (!seen) {
          seen = true;
          firstBytes++;
        }
      }
      if (r.statusCode !== 200) errors++;
    } catch {
      errors++;
    }
  });
  while (firstBytes + errors < count && performance.now() - started < 20_000) await sleep(20);
  const openAfterMs = Math.round(performance.now() - started);
  let peak = 0;
  for (let i = 0; i < 10; i++) {
    peak = Math.max(peak, rssMiB(pid) ?? 0);
    await sleep(100);
  }
  await Promise.all(all);
  await pool.close();
  await sleep(1000);
  return { streams: count, allOpenAfterMs: openAfterMs, errors, rssPeakMiB: peak, rssAfterMiB: rssMiB(pid) };
}

function machine(nginx) {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memGiB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nginx: nginx?.version ?? 'not installed',
  };
}

async function tokenSection() {
  console.error('(a) gatepass token vs node -e 0…');
  const loadAverageAtStart = os.loadavg().map((x) => round(x, 2));
  const token = await tokenBench({ runs: Number(process.env.BENCH_TOKEN_RUNS ?? 30) });
  const result = {
    date: new Date().toISOString(),
    machine: machine(undefined),
    loadAverageAtStart,
    ...token,
  };
  mkdirSync(path.join(here, 'results'), { recursive: true });
  const file = path.join(here, 'results', `token-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`
(a) gatepass token, cached token, vs node -e 0 (target ≤ 1.3× wall; the single executable ≤ 1.1×). Load average at start ${loadAverageAtStart.join(' ')}

${tokenTable(token)}
Results: ${path.relative(process.cwd(), file)}`);
}

async function main() {
  const only = process.env.BENCH_ONLY;
  if (only !== 'proxy' && only !== 'wrk') await tokenSection();
  if (only === 'token') return;
  if (only === 'wrk') return void (await wrkOnly());
  const nginxBin = nginxBinary();
  const info = machine(nginxBin);
  console.error(`machine: ${JSON.stringify(info)}`);
  const upstream = await startChild([path.join(here, 'upstream.mjs')]);
  const proxy = await startChild([
    process.env.BENCH_PROXY_CHILD ?? path.join(here, 'proxy-child.mjs'),
    `http://127.0.0.1:${upstream.port}`,
    KEY,
  ]);
  await sleep(300);
  const rssIdleStart = rssMiB(proxy.proc.pid);
  const nginx = nginxBin ? await startNginx(nginxBin.bin, upstream.port) : undefined;
  const targets = {
    direct: { port: upstream.port, headers: HEADERS_FOR.direct, pid: upstream.proc.pid },
    proxy: { port: proxy.port, headers: HEADERS_FOR.proxy, pid: proxy.proc.pid },
    ...(nginx ? { nginx: { port: nginx.port, headers: HEADERS_FOR.nginx, pid: nginx.pid } } : {}),
  };
  const names = Object.keys(targets);

  const results = {
    date: new Date().toISOString(),
    machine: info,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
    settings: { LATENCY_N, DURATION_MS, CONCURRENCY, STREAMS, ROUNDS },
    latencyMs: {},
    throughput: {},
    ttfbMs: {},
  };
  // Targets are measured in interleaved rounds so background noise on the machine hits them alike.
  const lat = Object.fromEntries(names.map((n) => [n, []]));
  const ttf = Object.fromEntries(names.map((n) => [n, []]));
  const rps = Object.fromEntries(names.map((n) => [n, []]));
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    console.error(`round ${round_ + 1}/${ROUNDS}…`);
    for (const n of names) lat[n].push(...(await latency(targets[n], Math.ceil(LATENCY_N / ROUNDS))));
    for (const n of names)
      rps[n].push(await throughput(targets[n], CONCURRENCY, Math.ceil(DURATION_MS / ROUNDS)));
    for (const n of names) ttf[n].push(...(await ttfb(targets[n], Math.ceil(LATENCY_N / 4 / ROUNDS))));
  }
  for (const n of names) {
    results.latencyMs[n] = summary(lat[n]);
    results.ttfbMs[n] = summary(ttf[n]);
    const requests = rps[n].reduce((a, r) => a + r.requests, 0);
    const errors = rps[n].reduce((a, r) => a + r.errors, 0);
    const sorted = rps[n].map((r) => r.rps).sort((a, b) => a - b);
    results.throughput[n] = {
      rps: sorted[Math.floor(sorted.length / 2)],
      best: sorted.at(-1),
      rounds: sorted,
      requests,
      errors,
      concurrency: CONCURRENCY,
    };
    const cpu = rps[n].reduce((a, r) => (r.cpuMs === undefined ? a : a + r.cpuMs), 0);
    // CPU time the proxy process spends per request: insensitive to other load on the machine.
    if (targets[n].pid && cpu > 0) results.throughput[n].cpuUsPerRequest = round((cpu * 1000) / requests, 1);
    // Socket reads and writes (syscalls) per request: the kernel's share of that CPU, and a count
    // machine load does not move (an extra write per request showed up here first).
    if (rps[n].every((r) => r.reads !== undefined)) {
      results.throughput[n].readsPerRequest = round(rps[n].reduce((a, r) => a + r.reads, 0) / requests, 2);
      results.throughput[n].writesPerRequest = round(rps[n].reduce((a, r) => a + r.writes, 0) / requests, 2);
    }
  }
  await sleep(1000);
  const rssIdleWarm = rssMiB(proxy.proc.pid);
  console.error(`${STREAMS} concurrent streams through the proxy…`);
  const streams = await streamsRss(proxy.port, proxy.proc.pid, STREAMS);
  results.rss = { idleAtStartMiB: rssIdleStart, idleAfterLoadMiB: rssIdleWarm, ...streams };

  const L = results.latencyMs;
  const T = results.throughput;
  results.derived = {
    proxyAddedP50Ms: round(L.proxy.p50 - L.direct.p50),
    proxyAddedP99Ms: round(L.proxy.p99 - L.direct.p99),
    ...(L.nginx
      ? {
          nginxAddedP50Ms: round(L.nginx.p50 - L.direct.p50),
          nginxAddedP99Ms: round(L.nginx.p99 - L.direct.p99),
        }
      : {}),
    proxyRpsVsDirect: round(T.proxy.rps / T.direct.rps, 2),
    ...(T.nginx
      ? {
          proxyRpsVsNginx: round(T.proxy.rps / T.nginx.rps, 2),
          proxyBestRpsVsNginxBest: round(T.proxy.best / T.nginx.best, 2),
        }
      : {}),
    ttfbAddedP50Ms: round(results.ttfbMs.proxy.p50 - results.ttfbMs.direct.p50),
  };

  if (nginx) await nginx.stop();
  for (const c of children) c.kill('SIGTERM');

  mkdirSync(path.join(here, 'results'), { recursive: true });
  const file = path.join(here, 'results', `proxy-${results.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

  const rows = names.map(
    (n) =>
      `| ${n} | ${L[n].p50} | ${L[n].p99} | ${T[n].rps} | ${T[n].best} | ${T[n].cpuUsPerRequest ?? '–'} | ${T[n].readsPerRequest ?? '–'} / ${T[n].writesPerRequest ?? '–'} | ${results.ttfbMs[n].p50} | ${results.ttfbMs[n].p99} |`,
  );
  console.log(`
Machine: ${info.cpus} × ${info.cpu}, ${info.memGiB} GiB, ${info.os}, Node ${info.node}, nginx ${info.nginx}; load average at start ${results.loadAverageAtStart.join(' ')}

| target | latency p50 ms | latency p99 ms | req/s median (c=${CONCURRENCY}, ${ROUNDS} rounds) | req/s best round | CPU µs/request | reads / writes per request | first SSE byte p50 ms | first SSE byte p99 ms |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Proxy added latency: p50 ${results.derived.proxyAddedP50Ms} ms, p99 ${results.derived.proxyAddedP99Ms} ms (target ≤ 1 ms p50)${L.nginx ? `; nginx adds p50 ${results.derived.nginxAddedP50Ms} ms, p99 ${results.derived.nginxAddedP99Ms} ms` : ''}
Proxy req/s: ${results.derived.proxyRpsVsDirect}× direct${T.nginx ? `, ${results.derived.proxyRpsVsNginx}× nginx (median rounds; best rounds ${results.derived.proxyBestRpsVsNginxBest}×; target ≥ 0.8×)` : ''}
First SSE byte added (p50): ${results.derived.ttfbAddedP50Ms} ms
Proxy RSS: idle ${rssIdleStart} MiB at start, ${rssIdleWarm} MiB after load; ${STREAMS} concurrent streams: peak ${streams.rssPeakMiB} MiB (all open after ${streams.allOpenAfterMs} ms, ${streams.errors} errors), ${streams.rssAfterMiB} MiB after they closed
Results: ${path.relative(process.cwd(), file)}`);
  if (!only) await wrkOnly();
}

/** (e): gatepass, nginx, haproxy and the raw Node pipe under wrk (bench/wrk.mjs). */
async function wrkOnly() {
  const r = await wrkSection();
  if (!r) return;
  const date = new Date().toISOString();
  mkdirSync(path.join(here, 'results'), { recursive: true });
  const file = path.join(here, 'results', `wrk-${date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ date, machine: machine(nginxBinary()), ...r }, null, 2)}\n`);
  console.log(`Results: ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
