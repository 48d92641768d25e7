import { describe, expect, it } from 'vitest';
import { canOpenBrowser } from '../../src/auth/browser.js';
import { formatToken, tokenInteractivity } from '../../src/cli/commands/token.js';
import type { Provider } from '../../src/config/schema.js';

const oidcNew: Provider = {
  type: 'oidc',
  gateway_url: 'https://gw',
  oidc: { issuer: 'https://sso', client_id: 'c' },
};
const oidcLoggedIn: Provider = { ...oidcNew, token_ref: { secret_key: 'LLM_OAUTH_12345678', expires_at: 1 } };
const command: Provider = { type: 'command', gateway_url: 'https://gw', auth: { token_command: 'x' } };

describe('token output formats', () => {
  const result = { token: 'tok-123456789', expiresAt: 1_767_225_600_000, origin: 'cache' as const };

  it('prints only the token and a newline by default', () => {
    expect(formatToken(result, 'token')).toBe('tok-123456789\n');
  });

  it('prints {token, expires_at} as JSON (epoch seconds, null when unknown)', () => {
    expect(JSON.parse(formatToken(result, 'json'))).toEqual({
      token: 'tok-123456789',
      expires_at: 1_767_225_600,
    });
    expect(JSON.parse(formatToken({ token: 'tok-123456789', origin: 'env' }, 'json'))).toEqual({
      token: 'tok-123456789',
      expires_at: null,
    });
  });

  it('prints a kubectl ExecCredential v1', () => {
    expect(JSON.parse(formatToken(result, 'exec-credential'))).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'tok-123456789', expirationTimestamp: '2026-01-01T00:00:00Z' },
    });
    expect(
      JSON.parse(formatToken({ token: 'tok-123456789', origin: 'env' }, 'exec-credential')).status,
    ).toEqual({
      token: 'tok-123456789',
    });
  });

  it('rejects unknown formats', () => {
    expect(() => formatToken(result, 'yaml')).toThrow(/unknown --format/);
  });
});

describe('when `gatepass token` may log in interactively', () => {
  const desktop = { DISPLAY: ':0' };
  it('--interactive always', () => {
    expect(tokenInteractivity({ interactive: true }, {}, oidcLoggedIn, 'linux')).toBe(true);
  });
  it('--skip-browser (a headless login: URL on stderr), even over SSH, unless GATEPASS_INTERACTIVE=0', () => {
    expect(tokenInteractivity({ skipBrowser: true }, {}, oidcLoggedIn, 'linux')).toBe(true);
    expect(tokenInteractivity({ skipBrowser: true }, {}, oidcNew, 'linux')).toBe(true);
    expect(tokenInteractivity({ skipBrowser: true }, { GATEPASS_INTERACTIVE: '0' }, oidcNew, 'linux')).toBe(
      false,
    );
  });
  it('GATEPASS_INTERACTIVE=1 / =0 override the default rule', () => {
    expect(tokenInteractivity({}, { GATEPASS_INTERACTIVE: '1' }, oidcLoggedIn, 'linux')).toBe(true);
    expect(tokenInteractivity({}, { ...desktop, GATEPASS_INTERACTIVE: '0' }, oidcNew, 'linux')).toBe(false);
  });
  it('never logged in + a browser available (lazy setup first use)', () => {
    expect(tokenInteractivity({}, desktop, oidcNew, 'linux')).toBe(true);
    expect(tokenInteractivity({}, { GATEPASS_BROWSER: 'firefox' }, oidcNew, 'linux')).toBe(true);
    expect(tokenInteractivity({}, {}, oidcNew, 'darwin')).toBe(true);
    expect(tokenInteractivity({}, {}, oidcNew, 'linux')).toBe(false); // SSH, no display
  });
  it('logged in before: non-interactive (a background refresh failure must not open tabs)', () => {
    expect(tokenInteractivity({}, desktop, oidcLoggedIn, 'linux')).toBe(false);
    expect(tokenInteractivity({}, {}, oidcLoggedIn, 'darwin')).toBe(false);
  });
  it('command providers follow only the explicit switches', () => {
    expect(tokenInteractivity({}, desktop, command, 'linux')).toBe(false);
  });
  it('kubectl says it can interact', () => {
    const env = { KUBERNETES_EXEC_INFO: JSON.stringify({ spec: { interactive: true } }) };
    expect(tokenInteractivity({ format: 'exec-credential' }, env, oidcLoggedIn, 'linux')).toBe(true);
    expect(tokenInteractivity({ format: 'json' }, env, oidcLoggedIn, 'linux')).toBe(false);
  });
  it('canOpenBrowser', () => {
    expect(canOpenBrowser({}, 'win32')).toBe(true);
    expect(canOpenBrowser({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true);
    expect(canOpenBrowser({ GATEPASS_BROWSER: '  ' }, 'linux')).toBe(false);
  });
});

describe('default browser opener', () => {
  it('refuses (so the URL gets printed) when there is no graphical session on Linux', async () => {
    const { createBrowserOpener } = await import('../../src/auth/browser.js');
    if (process.platform !== 'linux') return;
    await expect(createBrowserOpener({})('http://127.0.0.1/')).rejects.toThrow(/no graphical session/);
  });

  it('GATEPASS_BROWSER that cannot be spawned rejects', async () => {
    const { createBrowserOpener } = await import('../../src/auth/browser.js');
    await expect(
      createBrowserOpener({ GATEPASS_BROWSER: '/nonexistent/browser --flag' })('http://127.0.0.1/'),
    ).rejects.toThrow();
  });
});
