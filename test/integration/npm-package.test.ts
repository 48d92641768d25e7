/**
 * The npm package as users get it: `npm pack` on a copy of the repository's files (what a fresh
 * clone holds, no dist/: the `prepack` script builds), then `npm install -g` of the tarball into a
 * temp prefix and `npx <tarball>`, and the installed copy run with a temp HOME — `--help`, `setup
 * --dry-run`, a real `setup` whose tool wiring must run the installed copy, a cached `gatepass
 * token` on both the fast and the full path, and its `gatepass proxy start` forwarding to a gateway. npm uses the developer's npm cache (`--prefer-offline`:
 * the dependencies are there after `npm ci`), never the network when it need not.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oidcSecretKey } from '../../src/auth/oidc/keys.js';
import { resolvePaths } from '../../src/config/paths.js';
import { generateLocalProxyKey } from '../../src/secrets/local-key.js';
import { makeTempHome, ROOT, runProcess, type TempHome } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const GATEWAY = 'https://llm.example.com';
const ISSUER = 'https://sso.example.com';
const AT_KEY = `${oidcSecretKey(GATEWAY, { issuer: ISSUER, client_id: 'gatepass' })}_AT`;
const NPM_TIMEOUT = 240_000;
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

let work: string;
let tarball: string;
let entries: string[];
let prefix: string;
let installed: string;
let npmCache: string;

/** npm with the developer's environment (registry, cafile, cache), never a test HOME. */
function npm(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess('npm', [...args, '--cache', npmCache, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    timeoutMs: NPM_TIMEOUT,
  });
}

/**
 * The repository as a fresh clone would have it (tracked and new, not ignored, files), no dist/;
 * outside a git work tree, everything but what .gitignore names.
 */
function copyCheckout(dest: string): void {
  let files: string[] | undefined;
  try {
    files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\0')
      .filter((f) => f && existsSync(path.join(ROOT, f)));
  } catch {
    const ignored = /^(node_modules|dist|coverage|\.tmp|\.git)(\/|$)|^bench\/results\/.*\.json$|\.log$/;
    cpSync(ROOT, dest, { recursive: true, filter: (src) => !ignored.test(path.relative(ROOT, src)) });
  }
  for (const f of files ?? []) {
    mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    cpSync(path.join(ROOT, f), path.join(dest, f));
  }
  expect(existsSync(path.join(dest, 'dist'))).toBe(false);
  // The build needs the dev dependencies (esbuild, typescript): the ones `npm ci` installed here.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dest, 'node_modules'), 'dir');
}

beforeAll(async () => {
  npmCache = execFileSync('npm', ['config', 'get', 'cache'], { cwd: ROOT, encoding: 'utf8' }).trim();
  work = realpathSync(mkdtempSync(path.join(tmpdir(), 'gatepass-pack-')));
  const checkout = path.join(work, 'checkout');
  copyCheckout(checkout);
  // A single executable built in that checkout stays out of the package.
  mkdirSync(path.join(checkout, 'dist/sea'), { recursive: true });
  writeFileSync(path.join(checkout, 'dist/sea/gatepass-linux-x64'), 'not for the npm package');
  const out = path.join(work, 'tmp');
  mkdirSync(out);
  const packed = await npm(['pack', '--pack-destination', out, '--json'], checkout);
  expect(packed.code, packed.stderr).toBe(0);
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0];
  tarball = path.join(out, info.filename);
  entries = (info.files as { path: string }[]).map((f) => f.path).sort();
  console.log(
    `npm package: ${info.filename}, ${statSync(tarball).size} bytes packed, ${info.files.length} files`,
  );

  prefix = path.join(work, 'prefix');
  const inst = await npm(['install', '--global', '--prefix', prefix, tarball], work);
  expect(inst.code, inst.stderr).toBe(0);
  installed = path.join(prefix, 'lib/node_modules/gatepass');
}, NPM_TIMEOUT * 2);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('holds the built CLI, the library, README, SECURITY.md, LICENSE and the generated docs — nothing else', () => {
    for (const f of [
      'package.json',
      'README.md',
      'SECURITY.md',
      'LICENSE',
      'dist/cli.cjs',
      'dist/fast.js',
      'dist/fast.cache',
      'dist/cli.js',
      'dist/full.js',
      'dist/refresh.js',
      'dist/index.js',
      'dist/types/index.d.ts',
    ]) {
      expect(entries).toContain(f);
    }
    for (const f of readdirSync(path.join(ROOT, 'docs/cli'))) expect(entries).toContain(`docs/cli/${f}`);
    expect(readFileSync(path.join(installed, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    expect(entries.filter((f) => /^(src|test|scripts|node_modules|\.ci|dist\/sea)\//.test(f))).toEqual([]);
  });

  it('every relative link in its markdown files resolves inside the package', () => {
    const broken: string[] = [];
    for (const f of entries.filter((e) => e.endsWith('.md'))) {
      const text = readFileSync(path.join(installed, f), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // anchors, URLs
        if (!existsSync(path.join(installed, path.dirname(f), target))) broken.push(`${f} -> ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('needs no install script, in the package or its dependencies', () => {
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) {
      expect(manifest.scripts?.[s], s).toBeUndefined();
    }
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    const withScripts = Object.entries(
      lock.packages as Record<string, { dev?: boolean; hasInstallScript?: boolean }>,
    )
      .filter(([name, p]) => name && !p.dev && p.hasInstallScript)
      .map(([name]) => name);
    expect(withScripts).toEqual([]);
  });
});

describe('the installed copy', () => {
  let t: TempHome;
  beforeAll(() => {
    // PATH without the clone: only the prefix's bin and the system (for `#!/usr/bin/env node`).
    t = makeTempHome({
      PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
      GATEPASS_SECRET_STORE: 'file',
      GATEPASS_INTERACTIVE: '0',
    });
  });
  afterAll(() => t?.cleanup());

  const gatepass = (args: string[], env = t.env) =>
    runProcess('gatepass', args, { env, cwd: t.home, timeoutMs: 60_000 });

  it('is a working `gatepass` on PATH: --version, and --help whose docs link resolves in the package', async () => {
    const v = await gatepass(['--version']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toBe(`${pkg.version}\n`);
    const help = await gatepass(['--help']);
    expect(help.code, help.stderr).toBe(0);
    const ref = /full reference in (\S+?)\.?$/m.exec(help.stdout)?.[1];
    expect(ref).toBe('docs/cli/');
    expect(existsSync(path.join(installed, ref!, 'gatepass.md'))).toBe(true);
  });

  it(
    'npx <tarball> --help runs it',
    async () => {
      // As users type it: `npx ./gatepass-x.y.z.tgz` (an absolute path would be taken for a command).
      const spec = `./${path.basename(tarball)}`;
      const r = await runProcess('npx', ['--yes', '--prefer-offline', '--cache', npmCache, spec, '--help'], {
        cwd: path.dirname(tarball),
        env: { ...process.env, npm_config_update_notifier: 'false' },
        timeoutMs: NPM_TIMEOUT,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Usage: gatepass /);
    },
    NPM_TIMEOUT,
  );

  it('setup --dry-run writes nothing; setup wires Claude Code to the installed copy, whose helper serves the cached token', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    const flags = [
      '--gateway-url',
      GATEWAY,
      '--issuer',
      ISSUER,
      '--client-id',
      'gatepass',
      '--tools',
      'claude',
    ];
    const tree = () => readdirSync(t.home, { recursive: true }).map(String).sort();
    const before = tree();
    const dry = await gatepass(['setup', ...flags, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('"apiKeyHelper": ');
    expect(dry.stdout).not.toContain(ROOT);
    expect(tree()).toEqual(before);

    const setup = await gatepass(['setup', ...flags, '--lazy']);
    expect(setup.code, setup.stderr).toBe(0);
    const helper = JSON.parse(readFileSync(path.join(t.home, '.claude/settings.json'), 'utf8'))
      .apiKeyHelper as string;
    expect(helper).not.toContain(ROOT);
    // What the helper runs (directly, or through a launcher script it names) is the installed copy.
    const first = helper.split(' ')[0]!;
    const launched = existsSync(first) && !statSync(first).isDirectory() && first !== process.execPath;
    const wiring =
      launched && statSync(first).size < 64 * 1024 ? `${helper}\n${readFileSync(first, 'utf8')}` : helper;
    expect(wiring).toContain(realpathSync(path.join(installed, 'dist/cli.cjs')));
    expect(wiring).not.toContain(ROOT);

    const secrets = path.join(resolvePaths({ env: t.env }).stateDir, 'secrets');
    mkdirSync(secrets, { recursive: true, mode: 0o700 });
    writeFileSync(
      path.join(secrets, AT_KEY),
      JSON.stringify({ access_token: 'tok-installed', expires_at: Math.floor(Date.now() / 1000) + 3600 }),
      { mode: 0o600 },
    );
    // The helper as Claude Code runs it: a shell command line, from some other directory.
    const viaTool = await runProcess('/bin/sh', ['-c', helper], { env: t.env, cwd: tmpdir() });
    expect(viaTool.code, viaTool.stderr).toBe(0);
    expect(viaTool.stdout).toBe('tok-installed\n');
    const fast = await gatepass(['token']);
    expect(fast.code, fast.stderr).toBe(0);
    expect(fast.stdout).toBe('tok-installed\n');
    const full = await gatepass(['token'], { ...t.env, GATEPASS_TOKEN_FAST_PATH: '0' });
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toBe('tok-installed\n');
  });

  it('`gatepass proxy start` of the installed copy forwards with the token; an 8 MiB upload arrives whole', async () => {
    // A gateway that answers with the Authorization it got and the size and sha256 of the body.
    const gw = http.createServer((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (d: Buffer) => {
        hash.update(d);
        bytes += d.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ auth: req.headers.authorization ?? null, bytes, sha: hash.digest('hex') }));
      });
    });
    await new Promise<void>((r) => gw.listen(0, '127.0.0.1', r));
    const cfg = path.join(t.home, 'proxy.yaml');
    writeFileSync(
      cfg,
      `version: 1\ndefault_provider: default\nproviders:\n  default:\n    type: command\n    gateway_url: http://127.0.0.1:${(gw.address() as AddressInfo).port}\n    auth:\n      env_var: GW_TOKEN\n`,
    );
    const key = generateLocalProxyKey();
    const port = await freePort();
    const env = { ...t.env, GATEPASS_SECRET_STORE: 'env', GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY: key };
    const proxy = spawn('gatepass', ['--config', cfg, 'proxy', 'start', '--port', String(port)], {
      env: { ...env, GW_TOKEN: 'tok-proxy' },
      cwd: tmpdir(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    try {
      await new Promise<void>((resolve, reject) => {
        proxy.stderr.on('data', (d: Buffer) => {
          log += d;
          if (log.includes('gatepass proxy listening on')) resolve();
        });
        proxy.once('exit', (code) => reject(new Error(`proxy exited (${code}): ${log}`)));
      });
      // The installed copy is what runs (PATH holds no clone).
      expect(readFileSync(`/proc/${proxy.pid}/cmdline`, 'utf8')).toContain(prefix);
      const post = (body: Buffer) =>
        new Promise<{ status: number; json: { auth: string | null; bytes: number; sha: string } }>(
          (resolve, reject) => {
            const req = http.request(
              {
                host: '127.0.0.1',
                port,
                method: 'POST',
                path: '/v1/messages',
                headers: { 'x-api-key': key, 'content-length': body.length },
              },
              (res) => {
                let text = '';
                res.on('data', (d) => {
                  text += d;
                });
                res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
              },
            );
            req.on('error', reject);
            req.end(body);
          },
        );
      const small = await post(Buffer.from('{"model":"m"}'));
      expect(small.status).toBe(200);
      expect(small.json.auth).toBe('Bearer tok-proxy');
      const upload = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < upload.length; i += 4096) upload.writeUInt32LE(i, i);
      const big = await post(upload);
      expect(big.status).toBe(200);
      expect(big.json).toEqual({
        auth: 'Bearer tok-proxy',
        bytes: upload.length,
        sha: createHash('sha256').update(upload).digest('hex'),
      });
    } finally {
      proxy.kill('SIGTERM');
      await new Promise<void>((r) => gw.close(() => r()));
    }
    expect(log).not.toContain('tok-proxy');
    expect(log).not.toContain(key);
  });
});
