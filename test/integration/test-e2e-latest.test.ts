/**
 * scripts/test-e2e-latest.mjs (run by `npm test` with --if-reachable): a registry that cannot be
 * reached skips the latest-release run with a warning (exit 0: the pinned run already passed), and
 * fails it without --if-reachable. The latest-release run itself is `npm run test:e2e:latest`.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const SCRIPT = path.join(ROOT, 'scripts/test-e2e-latest.mjs');

async function run(args: string[]) {
  // A closed loopback port as the registry: `npm view` fails at once (no retries).
  const registry = `http://127.0.0.1:${await freePort()}/`;
  return runProcess(process.execPath, [SCRIPT, ...args], {
    env: { ...process.env, npm_config_registry: registry, npm_config_fetch_retries: '0' },
    timeoutMs: 60_000,
  });
}

describe('scripts/test-e2e-latest.mjs', () => {
  it('--if-reachable: an unreachable registry skips the run with a warning and exit 0', async () => {
    const r = await run(['--if-reachable']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('npm view @anthropic-ai/claude-code version failed');
    expect(r.stderr).toContain('registry unreachable, latest-release e2e tests NOT run');
    expect(r.stderr).not.toContain('PASSED');
  });

  it('without --if-reachable an unreachable registry fails (exit 1)', async () => {
    const r = await run([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('npm view @anthropic-ai/claude-code version failed');
    expect(r.stderr).not.toContain('NOT run');
  });
});
