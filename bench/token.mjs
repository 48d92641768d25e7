// Section (a) of `npm run bench`: `gatepass token` with a cached token against bare `node -e 0`.
// Runs are interleaved (node -e 0, then each store, then again) so background load hits all alike.
// Wall time: spawn to exit, measured here. CPU time: user+sys of each child, from this process'
// cutime/cstime in /proc/self/stat (children are reaped before 'exit' fires), Linux only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const CLI = path.join(here, '..', 'dist', 'cli.js');
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

function oidcSecretKey() {
  return `LLM_OAUTH_${
    spawnSync(
      process.execPath,
      [
        '-e',
        `process.stdout.write(require('node:crypto').createHash('sha256').update(${JSON.stringify(`${GATEWAY}\0${ISSUER}`)}).digest('hex').slice(0, 8))`,
      ],
      { encoding: 'utf8' },
    ).stdout
  }`;
}

/** A temp HOME with an OIDC provider configured and an access token cached in the file store. */
function makeHome() {
  const home = mkdtempSync(path.join(os.tmpdir(), 'gatepass-bench-token-'));
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(XDG_|GATEPASS_|DBUS_SESSION_BUS_ADDRESS$)/.test(k)) env[k] = v;
  }
  Object.assign(env, { HOME: home, GATEPASS_INTERACTIVE: '0' });
  const set = spawnSync(
    process.execPath,
    [CLI, 'config', 'set', '--gateway-url', GATEWAY, '--issuer', ISSUER, '--client-id', 'gatepass'],
    { env: { ...env, GATEPASS_SECRET_STORE: 'file' }, encoding: 'utf8' },
  );
  if (set.status !== 0) throw new Error(`gatepass config set failed: ${set.stderr}`);
  const key = `${oidcSecretKey()}_AT`;
  const record = JSON.stringify({ access_token: TOKEN, expires_at: Math.floor(Date.now() / 1000) + 86_400 });
  const secrets = path.join(home, '.local', 'share', 'gatepass', 'secrets');
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(secrets, key), record, { mode: 0o600 });
  return {
    home,
    targets: {
      'gatepass token (file store)': { ...env, GATEPASS_SECRET_STORE: 'file' },
      'gatepass token (env store)': {
        ...env,
        GATEPASS_SECRET_STORE: 'env',
        [`GATEPASS_SECRET_${key.toUpperCase()}`]: record,
      },
    },
  };
}

/** Measure; returns the results object (also used for the JSON file and the table). */
export async function tokenBench({ runs = 30, warmup = 3, log = console.error } = {}) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  const { home, targets } = makeHome();
  try {
    const cases = { 'node -e 0': { args: ['-e', '0'], env: process.env } };
    for (const [name, env] of Object.entries(targets)) cases[name] = { args: [CLI, 'token'], env };
    if (existsSync(SEA)) {
      const env = targets['gatepass token (file store)'];
      cases['single executable: token (file store)'] = { file: SEA, args: ['token'], env };
    } else {
      log(`token: ${SEA} is missing (npm run build:sea): no single-executable row`);
    }
    // Correctness first: each variant prints exactly the token (and a fresh config snapshot exists).
    for (const [name, c] of Object.entries(cases)) {
      if (name === 'node -e 0') continue;
      const r = await run(c.args, c.env, c.file);
      if (r.code !== 0 || r.out !== `${TOKEN}\n`) {
        throw new Error(`${name}: exit ${r.code}, stdout ${JSON.stringify(r.out)}, stderr ${r.err}`);
      }
    }
    const samples = Object.fromEntries(Object.keys(cases).map((n) => [n, []]));
    for (let i = 0; i < warmup + runs; i++) {
      for (const [name, c] of Object.entries(cases)) {
        const r = await run(c.args, c.env, c.file);
        if (r.code !== 0) throw new Error(`${name} failed: ${r.err}`);
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
    return { runs, warmup, stats };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export function tokenTable(result) {
  const rows = Object.entries(result.stats).map(
    ([name, s]) =>
      `| ${name} | ${s.wallMedianMs} | ${s.wallMinMs} | ${s.cpuMeanMs ?? '–'} | ${s.wallMedianRatio ?? '1'} | ${s.wallMinRatio ?? '1'} | ${s.cpuRatio ?? '1'} |`,
  );
  return `| command (${result.runs} interleaved runs) | wall median ms | wall min ms | CPU mean ms | × node (median) | × node (min) | × node (CPU) |
|---|---|---|---|---|---|---|
${rows.join('\n')}`;
}

// `node bench/token.mjs`: this section alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await tokenBench({ runs: Number(process.env.BENCH_TOKEN_RUNS ?? 30) });
  console.log(tokenTable(result));
}
