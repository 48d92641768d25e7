// Section (a) of `npm run bench`: `gatepass token` with a cached token against bare `node -e 0`.
// Runs are interleaved (node -e 0, then each store, then again) so background load hits all alike.
// Wall time: spawn to exit, measured here. CPU time: user+sys of each child, from this process'
// cutime/cstime in /proc/self/stat (children are reaped before 'exit' fires), Linux only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadAverage, target } from './report.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const CLI = path.join(here, '..', 'dist', 'cli.cjs');
// The single executable (npm run build:sea), when built: measured as one more row.
const SEA = path.join(here, '..', 'dist', 'sea', `gatepass-${process.platform}-${process.arch}`);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const GATEWAY = 'https://llm.example.com';
const ISSUER = 'https://sso.example.com';
const TOKEN = 'bench-cached-token.abcdefghijklmnopqrstuvwxyz';

function childCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the ")" field 3 is index 0: cutime is field 16, cstime 17.
    return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function run(args, env, file = process.execPath) {
  return new Promise((resolve, reject) => {
    const cpu0 = childCpuMs();
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpu1 = childCpuMs();
      child.on('close', () =>
        resolve({ code, out, err, wallMs, cpuMs: cpu0 === undefined ? undefined : cpu1 - cpu0 }),
      );
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r2 = (x) => Math.round(x * 100) / 100;
const r1 = (x) => Math.round(x * 10) / 10;

/** The provider's secret key, as the CLI computed it (from the config snapshot next to the YAML). */
function secretKeyOf(home) {
  const snap = JSON.parse(
    readFileSync(path.join(home, '.config', 'gatepass', '.config.yaml.snapshot.json'), 'utf8'),
  );
  return snap.secret_keys.default;
}

function baseEnv(home) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(XDG_|GATEPASS_|DBUS_SESSION_BUS_ADDRESS$)/.test(k)) env[k] = v;
  }
  return Object.assign(env, { HOME: home, GATEPASS_INTERACTIVE: '0' });
}

function configure(home, issuer) {
  const env = baseEnv(home);
  const set = spawnSync(
    process.execPath,
    [CLI, 'config', 'set', '--gateway-url', GATEWAY, '--issuer', issuer, '--client-id', 'gatepass'],
    { env: { ...env, GATEPASS_SECRET_STORE: 'file' }, encoding: 'utf8' },
  );
  if (set.status !== 0) throw new Error(`gatepass config set failed: ${set.stderr}`);
  return { env, key: secretKeyOf(home) };
}

function writePrivate(dir, name, text) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, name), text, { mode: 0o600 });
}

/**
 * A real Secret Service, as the tests start it (test/helpers/keyring.ts): gnome-keyring-daemon in
 * its own dbus-run-session with a temporary, unlocked login keyring. Undefined when not installed.
 */
async function startKeyring(log) {
  if (!existsSync('/usr/bin/gnome-keyring-daemon') || !existsSync('/usr/bin/dbus-run-session')) {
    log('token: gnome-keyring-daemon / dbus-run-session not installed: no keychain rows');
    return undefined;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatepass-bench-keyring-'));
  mkdirSync(path.join(dir, 'run'), { mode: 0o700 });
  const env = {
    ...process.env,
    HOME: dir,
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
    KEYRING_PW: 'gatepass-bench-keyring',
  };
  const child = spawn(
    'dbus-run-session',
    [
      '--',
      'sh',
      '-c',
      'echo "ADDR=$DBUS_SESSION_BUS_ADDRESS"; printf %s "$KEYRING_PW" | exec gnome-keyring-daemon --unlock --components=secrets --foreground',
    ],
    { env, stdio: ['ignore', 'pipe', 'ignore'], detached: true },
  );
  const close = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const address = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('dbus-run-session did not start')), 10_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /ADDR=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  }).catch((err) => {
    close();
    throw err;
  });
  const addon = path.join(here, '..', 'node_modules', '@napi-rs', 'keyring');
  const write = (key, value) =>
    spawnSync(
      process.execPath,
      [
        '-e',
        `new (require(${JSON.stringify(addon)}).Entry)('gatepass', process.argv[1], { linux: { store: 'secret-service' } }).setPassword(process.argv[2])`,
        key,
        value,
      ],
      { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }, encoding: 'utf8', timeout: 10_000 },
    );
  const started = Date.now();
  for (;;) {
    const r = write('GATEPASS_BENCH_PROBE', 'probe');
    if (r.status === 0) break;
    if (Date.now() - started > 10_000) {
      close();
      throw new Error(`Secret Service not ready: ${r.stderr}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return { address, write, close };
}

/**
 * Temp HOMEs with an OIDC provider configured and an access token cached: in the file store, the
 * env store, and the default store's cache file — with no keychain at all, and with gnome-keyring
 * (which then holds the refresh token). For comparison, the explicit keychain store with the access
 * token in the keychain (what the default store did before the cache file).
 */
async function makeHomes(log) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'gatepass-bench-token-'));
  const cleanup = [() => rmSync(home, { recursive: true, force: true })];
  const { env, key } = configure(home, ISSUER);
  const record = JSON.stringify({ access_token: TOKEN, expires_at: Math.floor(Date.now() / 1000) + 86_400 });
  const state = path.join(home, '.local', 'share', 'gatepass', 'secrets');
  writePrivate(state, `${key}_AT`, record);
  writePrivate(path.join(home, '.cache', 'gatepass', 'access-tokens'), `${key}_AT`, record);
  // The fallback notice was given once already (as on any machine without a keychain after day one).
  writePrivate(state, '.keychain-fallback-noticed', '');
  const targets = {
    'gatepass token (file store)': { ...env, GATEPASS_SECRET_STORE: 'file' },
    'gatepass token (env store)': {
      ...env,
      GATEPASS_SECRET_STORE: 'env',
      [`GATEPASS_SECRET_${key.toUpperCase()}_AT`]: record,
    },
    'gatepass token (default store, no keychain)': {
      ...env,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(home, 'no-bus')}`,
    },
  };
  const keyring = await startKeyring(log);
  if (keyring) {
    cleanup.push(keyring.close);
    const w1 = keyring.write(key, 'bench-refresh-token');
    const w2 = keyring.write(`${key}_AT`, record);
    if (w1.status !== 0 || w2.status !== 0) throw new Error(`keyring write failed: ${w1.stderr}${w2.stderr}`);
    const bus = { ...env, DBUS_SESSION_BUS_ADDRESS: keyring.address };
    targets['gatepass token (default store, gnome-keyring)'] = bus;
    targets['gatepass token (keychain store: token in gnome-keyring)'] = {
      ...bus,
      GATEPASS_SECRET_STORE: 'keychain',
    };
  }
  const cleanupAll = () => {
    for (const f of cleanup.reverse()) f();
  };
  return { home, targets, cleanup: cleanupAll };
}

/**
 * A local IdP for the refresh row: discovery and a token endpoint answering refresh_token grants
 * (no rotation, no ID token), every response after a fixed delay; counts requests so the IdP's own
 * time (requests × delay) is subtracted from each run's wall time.
 */
async function startIdp(delayMs) {
  let port = 0;
  let requests = 0;
  let issued = 0;
  const server = http.createServer((req, res) => {
    requests++;
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () =>
      setTimeout(() => {
        const issuer = `http://127.0.0.1:${port}`;
        if (req.url === '/.well-known/openid-configuration') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` }));
        } else if (req.url === '/token' && /grant_type=refresh_token/.test(body)) {
          issued++;
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(
            JSON.stringify({ access_token: `${REFRESHED}${issued}`, token_type: 'Bearer', expires_in: 3600 }),
          );
        } else {
          res.writeHead(404).end();
        }
      }, delayMs),
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
  return {
    issuer: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const REFRESHED = 'bench-refreshed-token-';

/** Measure; returns the results object (also used for the JSON file and the table). */
export async function tokenBench({ runs = 30, warmup = 3, log = console.error, idpDelayMs = 50 } = {}) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  const { targets, cleanup } = await makeHomes(log);
  const idp = await startIdp(idpDelayMs);
  const refreshHome = mkdtempSync(path.join(os.tmpdir(), 'gatepass-bench-refresh-'));
  try {
    const cases = { 'node -e 0': { args: ['-e', '0'], env: process.env } };
    for (const [name, env] of Object.entries(targets)) cases[name] = { args: [CLI, 'token'], env };
    if (existsSync(SEA)) {
      cases['single executable: token (file store)'] = {
        file: SEA,
        args: ['token'],
        env: targets['gatepass token (file store)'],
      };
      const kr = targets['gatepass token (default store, gnome-keyring)'];
      if (kr)
        cases['single executable: token (default store, gnome-keyring)'] = {
          file: SEA,
          args: ['token'],
          env: kr,
        };
    } else {
      log(`token: ${SEA} is missing (npm run build:sea): no single-executable rows`);
    }
    // The refresh row: file store, refresh token stored, access token removed before every run.
    const { env: rEnv, key: rKey } = configure(refreshHome, idp.issuer);
    const rSecrets = path.join(refreshHome, '.local', 'share', 'gatepass', 'secrets');
    writePrivate(rSecrets, rKey, 'bench-refresh-token');
    const REFRESH = 'gatepass token (refresh, file store; IdP time subtracted)';
    cases[REFRESH] = {
      args: [CLI, 'token'],
      env: { ...rEnv, GATEPASS_SECRET_STORE: 'file' },
      before: () => rmSync(path.join(rSecrets, `${rKey}_AT`), { force: true }),
      expect: (out) => out.startsWith(REFRESHED),
    };
    const ok = (c, r) => r.code === 0 && (c.expect ? c.expect(r.out) : r.out === `${TOKEN}\n`);
    const measure = async (c) => {
      c.before?.();
      const req0 = idp.requests();
      const r = await run(c.args, c.env, c.file);
      r.idpRequests = idp.requests() - req0;
      r.wallMs -= r.idpRequests * idpDelayMs;
      return r;
    };
    // Correctness first: each variant prints exactly the token (and a fresh config snapshot exists).
    for (const [name, c] of Object.entries(cases)) {
      if (name === 'node -e 0') continue;
      const r = await measure(c);
      if (!ok(c, r))
        throw new Error(`${name}: exit ${r.code}, stdout ${JSON.stringify(r.out)}, stderr ${r.err}`);
    }
    const samples = Object.fromEntries(Object.keys(cases).map((n) => [n, []]));
    for (let i = 0; i < warmup + runs; i++) {
      for (const [name, c] of Object.entries(cases)) {
        const r = await measure(c);
        if (name !== 'node -e 0' && !ok(c, r)) throw new Error(`${name} failed: ${r.err}`);
        if (i >= warmup) samples[name].push(r);
      }
    }
    const stats = {};
    for (const [name, s] of Object.entries(samples)) {
      const cpu = s.every((x) => x.cpuMs !== undefined)
        ? s.reduce((a, x) => a + x.cpuMs, 0) / s.length
        : undefined;
      stats[name] = {
        runs: s.length,
        wallMedianMs: r1(median(s.map((x) => x.wallMs))),
        wallMinMs: r1(Math.min(...s.map((x) => x.wallMs))),
        ...(cpu === undefined ? {} : { cpuMeanMs: r1(cpu) }),
        idpRequestsPerRun: r2(s.reduce((a, x) => a + x.idpRequests, 0) / s.length),
      };
    }
    const base = stats['node -e 0'];
    for (const [name, st] of Object.entries(stats)) {
      if (name === 'node -e 0') continue;
      st.wallMedianRatio = r2(st.wallMedianMs / base.wallMedianMs);
      st.wallMinRatio = r2(st.wallMinMs / base.wallMinMs);
      if (st.cpuMeanMs !== undefined && base.cpuMeanMs) st.cpuRatio = r2(st.cpuMeanMs / base.cpuMeanMs);
    }
    log(`token: ${runs} interleaved runs each done`);
    return { runs, warmup, idpDelayMs, stats, targets: tokenTargets(stats) };
  } finally {
    await idp.close();
    rmSync(refreshHome, { recursive: true, force: true });
    cleanup();
  }
}

/** The targets of issue 19 (and the earlier ones), judged on the CPU ratio: load inflates wall time. */
function tokenTargets(stats) {
  const limits = [
    ['gatepass token (file store)', 1.3],
    ['gatepass token (default store, no keychain)', 1.2],
    ['gatepass token (default store, gnome-keyring)', 1.2],
    ['single executable: token (file store)', 1.1],
    ['gatepass token (refresh, file store; IdP time subtracted)', 2.5],
  ];
  return limits
    .filter(([name]) => stats[name])
    .map(([name, limit]) => {
      const s = stats[name];
      return target({
        name,
        figure: 'CPU',
        ratio: s.cpuRatio,
        limit,
        also: `wall median ${s.wallMedianRatio}×, wall min ${s.wallMinRatio}×`,
      });
    });
}

export function tokenTable(result) {
  const rows = Object.entries(result.stats).map(
    ([name, s]) =>
      `| ${name} | ${s.wallMedianMs} | ${s.wallMinMs} | ${s.cpuMeanMs ?? '–'} | ${s.wallMedianRatio ?? '1'} | ${s.wallMinRatio ?? '1'} | ${s.cpuRatio ?? '1'} |`,
  );
  return `| command (${result.runs} interleaved runs) | wall median ms | wall min ms | CPU mean ms | × node (median) | × node (min) | × node (CPU) |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Targets (× node -e 0 in the same run; the refresh row's wall time has the IdP's ${result.idpDelayMs} ms per request subtracted):
${(result.targets ?? []).map((t) => `- ${t.line}`).join('\n')}`;
}

// `node bench/token.mjs`: this section alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const load = loadAverage();
  const result = await tokenBench({ runs: Number(process.env.BENCH_TOKEN_RUNS ?? 30) });
  console.log(`Load average at start ${load.join(' ')}, at end ${loadAverage().join(' ')}\n`);
  console.log(tokenTable(result));
}
