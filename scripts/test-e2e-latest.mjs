#!/usr/bin/env node
/**
 * `npm run test:e2e:latest`: the end-to-end tests that run a real AI tool (the test files calling
 * runTool), against the LATEST releases on npm of Claude Code, Codex CLI, Gemini CLI and OpenCode
 * instead of the versions pinned in package.json (the developers' guide: test the latest release of
 * each tool as well as the pinned one).
 *
 * The versions come from `npm view <pkg> version`; they are installed once (no install scripts, as
 * everywhere here; Claude Code's installer then copies its native binary; OpenCode's comes in its
 * platform package, an optional dependency, which the tests run directly) into
 * .tmp/latest-tools/<versions>/ and the tests find them through GATEPASS_TEST_TOOLS_DIR
 * (test/helpers/tool-e2e.ts). The versions tested are printed first and last.
 *
 * --if-reachable (what `npm test` passes): when the registry cannot be reached (npm view or npm
 * install fails), say so and exit 0 — the pinned run already passed and a network outage is not a
 * defect of gatepass. A test failing against a release that did install still fails (exit 1): a new
 * tool release broke gatepass for the users who update.
 * Extra arguments are passed to vitest (e.g. a test file).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const TOOLS = ['@anthropic-ai/claude-code', '@openai/codex', '@google/gemini-cli', 'opencode-ai'];
const short = (pkg) => pkg.split('/').pop();
const args = process.argv.slice(2);
const ifReachable = args.includes('--if-reachable');
const vitestArgs = args.filter((a) => a !== '--if-reachable');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const started = Date.now();

function unreachable(what, detail) {
  const line = `test-e2e-latest: ${what} failed${detail ? `: ${detail}` : ''}`;
  if (!ifReachable) {
    console.error(line);
    process.exit(1);
  }
  console.error(`${line}\ntest-e2e-latest: WARNING: registry unreachable, latest-release e2e tests NOT run`);
  process.exit(0);
}

function npmRun(npmArgs, options = {}) {
  return spawnSync(npm, npmArgs, { cwd: root, encoding: 'utf8', timeout: 600_000, ...options });
}

const versions = {};
for (const pkg of TOOLS) {
  const r = npmRun(['view', pkg, 'version']);
  const v = r.stdout?.trim().split('\n').pop()?.trim();
  if (r.status !== 0 || !v || !/^\d+\.\d+\.\d+/.test(v))
    unreachable(`npm view ${pkg} version`, r.stderr?.trim().split('\n')[0]);
  versions[pkg] = v;
}
const pinned = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies;
const label = TOOLS.map((p) => `${p}@${versions[p]}`).join(' ');
console.error(
  `test-e2e-latest: latest ${label} (pinned: ${TOOLS.map((p) => `${short(p)} ${pinned[p]}`).join(', ')})`,
);

const base = path.join(root, '.tmp/latest-tools');
const dir = path.join(base, TOOLS.map((p) => `${short(p)}-${versions[p]}`).join('_'));
const done = path.join(dir, '.installed');
if (!existsSync(done)) {
  rmSync(base, { recursive: true, force: true }); // older releases: one set is kept
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n');
  const r = npmRun(
    [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      ...TOOLS.map((p) => `${p}@${versions[p]}`),
    ],
    { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) unreachable(`npm install ${label}`);
  // Claude Code's installer copies the native binary from its optional platform package (no download).
  const claude = path.join(dir, 'node_modules/@anthropic-ai/claude-code');
  if (existsSync(path.join(claude, 'install.cjs'))) {
    const c = spawnSync(process.execPath, ['install.cjs'], { cwd: claude, stdio: 'inherit' });
    if (c.status !== 0) {
      console.error('test-e2e-latest: Claude Code install.cjs failed');
      process.exit(1);
    }
  }
  // OpenCode's native binary: its platform package for this machine (test/helpers/tool-e2e.ts opencodeBin).
  const platform = { win32: 'windows' }[process.platform] ?? process.platform;
  const ocBase = `opencode-${platform}-${process.arch}`;
  if (!readdirSync(path.join(dir, 'node_modules')).some((n) => n === ocBase || n.startsWith(`${ocBase}-`))) {
    console.error(`test-e2e-latest: OpenCode's platform package ${ocBase} was not installed`);
    process.exit(1);
  }
  writeFileSync(done, `${label}\n`);
}

// The test files that run a real tool.
const e2eDir = path.join(root, 'test/e2e');
const files = readdirSync(e2eDir)
  .filter((f) => f.endsWith('.test.ts') && readFileSync(path.join(e2eDir, f), 'utf8').includes('runTool('))
  .map((f) => `test/e2e/${f}`);
const chosen = vitestArgs.some((a) => !a.startsWith('-')) ? vitestArgs : [...vitestArgs, ...files];
const t = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'e2e', ...chosen],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, GATEPASS_TEST_TOOLS_DIR: dir },
  },
);
const secs = Math.round((Date.now() - started) / 1000);
console.error(`test-e2e-latest: ${t.status === 0 ? 'PASSED' : 'FAILED'} against ${label} in ${secs} s`);
process.exit(t.status ?? 1);
