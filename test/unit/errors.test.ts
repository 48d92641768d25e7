/**
 * The error classes (stable code, cause, exit code) and how the CLI reports them: message and hint
 * always, the cause only with --verbose, every line redacted; exit codes 0 / 1 / 2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportError, runCli } from '../../src/cli/run.js';
import {
  AuthError,
  ConfigError,
  GatepassError,
  ProxyError,
  SecretStoreError,
  ToolConfigError,
  UsageError,
} from '../../src/errors.js';

let jwt: string;
let dir: string;
beforeAll(async () => {
  jwt = await new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('k'.repeat(32)));
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-errors-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sink(): { stream: NodeJS.WritableStream; text: () => string } {
  let text = '';
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) => {
    text += d.toString('utf8');
  });
  return { stream, text: () => text };
}

describe('error classes', () => {
  it('carry a stable code, the cause, an exit code and their class name', () => {
    const cause = new Error('socket hang up');
    const cases: Array<[GatepassError, string, number]> = [
      [new UsageError('bad flag'), 'E_USAGE', 2],
      [
        new ConfigError('E_CONFIG_INVALID', 'invalid gateway_url: x', { field: 'gateway_url', cause }),
        'E_CONFIG_INVALID',
        2,
      ],
      [new ConfigError('E_CONFIG_MALFORMED', 'not YAML', { cause }), 'E_CONFIG_MALFORMED', 1],
      [new ConfigError('E_CONFIG_MISSING', 'missing issuer'), 'E_CONFIG_MISSING', 1],
      [new AuthError('E_AUTH_FAILED', 'refresh failed', { cause }), 'E_AUTH_FAILED', 1],
      [new SecretStoreError('keychain locked', { cause }), 'E_SECRET_STORE', 1],
      [new ToolConfigError('bad JSON', { path: '/x.json', cause }), 'E_TOOL_CONFIG', 1],
      [new ProxyError('E_PORT_IN_USE', 'port taken', { cause }), 'E_PORT_IN_USE', 1],
    ];
    for (const [err, code, exit] of cases) {
      expect(err).toBeInstanceOf(GatepassError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.exitCode).toBe(exit);
      expect(err.name).toBe(err.constructor.name);
      if (err.message !== 'bad flag' && err.message !== 'missing issuer') expect(err.cause).toBe(cause);
    }
    expect(new ConfigError('E_CONFIG_INVALID', 'x', { exitCode: 1 }).exitCode).toBe(1);
    expect(new ToolConfigError('x', { code: 'E_TOOL_NOT_INSTALLED' }).code).toBe('E_TOOL_NOT_INSTALLED');
  });

  it('never keep a token in message or hint', () => {
    const err = new AuthError('E_AUTH_FAILED', `IdP said: {"access_token":"${jwt}"}`, {
      hint: `retry with refresh_token=${'r'.repeat(24)}`,
    });
    expect(err.message).not.toContain(jwt);
    expect(err.hint).not.toContain('r'.repeat(24));
  });
});

describe('reportError', () => {
  const err = new AuthError('E_AUTH_FAILED', 'refresh failed', {
    hint: 'run `gatepass login`',
    cause: new Error(`POST /token answered 400 for refresh_token=${'x'.repeat(30)} (Bearer ${jwt})`),
  });

  it('prints message and hint; the cause only when verbose, redacted', () => {
    const quiet = sink();
    expect(reportError(err, { stderr: quiet.stream }, false)).toBe(1);
    expect(quiet.text()).toBe('gatepass: error: refresh failed\nhint: run `gatepass login`\n');
    const loud = sink();
    expect(reportError(err, { stderr: loud.stream }, true)).toBe(1);
    expect(loud.text()).toMatch(/^cause: POST \/token answered 400/m);
    expect(loud.text()).not.toContain('x'.repeat(30));
    expect(loud.text()).not.toContain(jwt);
  });

  it('an unexpected error is an internal error (exit 1), its stack only when verbose and redacted', () => {
    const boom = new TypeError(`cannot read ${jwt}`);
    const quiet = sink();
    expect(reportError(boom, { stderr: quiet.stream }, false)).toBe(1);
    expect(quiet.text()).toMatch(/internal error: cannot read \[REDACTED\]\nRun again with --verbose/);
    const loud = sink();
    reportError(boom, { stderr: loud.stream }, true);
    expect(loud.text()).toMatch(/TypeError: cannot read \[REDACTED\]\n\s+at /);
    expect(loud.text()).not.toContain(jwt);
  });
});

describe('runCli exit codes (in-process)', () => {
  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out = sink();
    const err = sink();
    const stdin = Object.assign(new PassThrough(), { isTTY: false });
    const code = await runCli(argv, {
      stdout: out.stream,
      stderr: err.stream,
      stdin,
      env: { HOME: dir, GATEPASS_CONFIG: path.join(dir, 'config.yaml') },
      now: Date.now,
    });
    return { code, out: out.text(), err: err.text() };
  }

  it.each([
    [['--version'], 0],
    [['--help'], 0],
    [['help'], 0],
    [['help', 'config'], 0],
    [['config', 'path'], 0],
    [[], 2],
    [['config'], 2],
    [['proxy'], 2],
    [['help', 'nosuch'], 2],
    [['nosuch'], 2],
    [['--nope'], 2],
    [['config', 'show', '--nope'], 2],
    [['config', 'set', 'no.such.key', 'x'], 2],
    [['config', 'set', '--gateway-url', 'http://example.com'], 2],
    [['config', 'set', '--proxy-port', '70000'], 2],
    [['token'], 1], // no provider configured: a failure, not a usage error
  ])('gatepass %j exits %i', async (argv, code) => {
    const r = await run(argv);
    expect(r.code, r.err).toBe(code);
    if (code !== 0) expect(r.err).not.toBe('');
  });
});
