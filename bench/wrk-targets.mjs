// The targets of the wrk benchmark (bench/wrk.mjs): the bench gateway, gatepass (the real
// `gatepass proxy start`; and the library without the same-user check), a raw Node `net` pipe, the
// least HTTP work a Node proxy can do (min-http-proxy.cjs), nginx and haproxy, each in its own
// process; and the /proc readings (CPU time, RSS) the benchmark takes of them.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const here = path.dirname(new URL(import.meta.url).pathname);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
export const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

/** CPU time (ms, user + system) a process has used so far. */
export function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/** Read and write syscalls a process has made so far (/proc/<pid>/io). */
export function syscalls(pid) {
  const t = readFileSync(`/proc/${pid}/io`, 'utf8');
  return { r: Number(/syscr: (\d+)/.exec(t)[1]), w: Number(/syscw: (\d+)/.exec(t)[1]) };
}

/** Sockets listed in the kernel's TCP tables (what the same-user check reads), or 0 without /proc. */
export function tcpTableLines() {
  let n = 0;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      // Every line but the header names its socket `N:`.
      n += readFileSync(f, 'latin1')
        .split('\n')
        .filter((l) => /^\s*\d+:/.test(l)).length;
    } catch {
      // no such table
    }
  }
  return n;
}

export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 1) : undefined;
}

export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Wait until something accepts connections on `port` (`tries` × 50 ms at most). */
export async function waitForPort(port, tries = 200) {
  for (let i = 0; i < tries; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Spawn a long-running process; `stop()` ends it. */
export function run(children, bin, args, options = {}) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'inherit'], ...options });
  children.push(proc);
  return proc;
}

/** nginx as a header-injecting reverse proxy: 1 worker, keep-alive upstream, no buffering. */
export function nginxConf(dir, port, up) {
  return `master_process off; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off; client_max_body_size 0;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream gateway { server 127.0.0.1:${up}; keepalive 512; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://gateway; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_set_header Authorization "Bearer bench-token";
      proxy_set_header X-Api-Key ""; proxy_buffering off; proxy_request_buffering off;
    }
  }
}
`;
}

/** haproxy in HTTP mode, one thread, the same header injection, keep-alive both sides. */
export function haproxyConf(port, up) {
  return `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 10s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend f
  bind 127.0.0.1:${port}
  http-request del-header x-api-key
  http-request set-header Authorization "Bearer bench-token"
  default_backend b
backend b
  server s1 127.0.0.1:${up}
`;
}

/** The raw Node pipe: each client connection piped to its own upstream connection, bytes untouched. */
const PIPE_SRC = `
const net = require('node:net');
const up = Number(process.argv[1]);
const s = net.createServer((c) => {
  const u = net.connect(up, '127.0.0.1');
  c.setNoDelay(true); u.setNoDelay(true);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
  c.on('close', () => u.destroy()); u.on('close', () => c.destroy());
});
s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));
`;

export function firstLine(proc) {
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(Number(out.slice(0, nl)));
    });
    proc.once('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

/**
 * The real `gatepass proxy start` as users run it (the npm bin, dist/cli.cjs, which serves it from
 * the lean entry dist/proxy.cjs): a command provider reading the token from the environment and the
 * env secret store holding the local key, in a HOME of its own. Resolves once it accepts connections.
 */
export async function startRealProxy(children, dir, key, up, name = 'real') {
  const home = path.join(dir, `home-${name}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const cfg = path.join(home, 'gatepass.yaml');
  writeFileSync(
    cfg,
    `version: 1\ndefault_provider: default\nproviders:\n  default:\n    type: command\n    gateway_url: http://127.0.0.1:${up}\n    auth:\n      env_var: BENCH_GW_TOKEN\n`,
  );
  const port = await freePort();
  const p = run(
    children,
    process.execPath,
    [path.join(here, '..', 'dist', 'cli.cjs'), '--config', cfg, 'proxy', 'start', '--port', String(port)],
    {
      env: {
        ...process.env,
        HOME: home,
        GATEPASS_SECRET_STORE: 'env',
        GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: key,
        BENCH_GW_TOKEN: 'bench-token',
      },
    },
  );
  await waitForPort(port);
  return { port, pid: p.pid, auth: 'key', proc: p };
}

export async function startTargets(children, dir, key) {
  const upProc = spawn(process.execPath, [path.join(here, 'upstream.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(upProc);
  const up = await firstLine(upProc);
  const targets = {};
  const gp = async (name, env, script = path.join(here, 'proxy-child.mjs')) => {
    const p = spawn(process.execPath, [script, `http://127.0.0.1:${up}`, key], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    children.push(p);
    targets[name] = { port: await firstLine(p), pid: p.pid, auth: 'key' };
  };
  // gatepass as users run it. The same-user check cannot be turned off there (no such option), so
  // the run without it is the library (`startProxy`) in a process of its own (proxy-child.mjs).
  const real = await startRealProxy(children, dir, key, up, 'targets');
  targets.gatepass = { port: real.port, pid: real.pid, auth: 'key' };
  await gp('gatepass-no-peer-check', { BENCH_PEER_CHECK: '0' });
  // Another build side by side (its bench/proxy-child.mjs), interleaved with this one.
  if (process.env.BENCH_WRK_COMPARE)
    await gp('gatepass-compare', {}, path.resolve(process.env.BENCH_WRK_COMPARE));
  const pipeProc = spawn(process.execPath, ['-e', PIPE_SRC, String(up)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(pipeProc);
  targets['node-pipe'] = { port: await firstLine(pipeProc), pid: pipeProc.pid, auth: 'bearer' };
  const minProc = spawn(process.execPath, [path.join(here, 'min-http-proxy.cjs'), String(up)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(minProc);
  targets['node-min-http'] = { port: await firstLine(minProc), pid: minProc.pid, auth: 'key' };
  if (existsBin('/usr/sbin/nginx')) {
    const port = await freePort();
    writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(dir, port, up));
    const p = run(children, '/usr/sbin/nginx', [
      '-p',
      dir,
      '-c',
      path.join(dir, 'nginx.conf'),
      '-e',
      path.join(dir, 'error.log'),
    ]);
    await waitForPort(port);
    targets.nginx = { port, pid: p.pid, auth: 'key' };
  }
  if (has('haproxy')) {
    const port = await freePort();
    writeFileSync(path.join(dir, 'haproxy.cfg'), haproxyConf(port, up));
    const p = run(children, 'haproxy', ['-f', path.join(dir, 'haproxy.cfg'), '-db']);
    await waitForPort(port);
    targets.haproxy = { port, pid: p.pid, auth: 'key' };
  }
  return { up, upPid: upProc.pid, targets };
}

export function existsBin(p) {
  return spawnSync(p, ['-v']).status === 0;
}
