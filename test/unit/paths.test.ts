import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveHome, resolvePaths } from '../../src/config/paths.js';
import { ConfigError } from '../../src/errors.js';

describe('resolvePaths', () => {
  it('uses the given environment: HOME and absolute XDG variables (relative ones ignored)', () => {
    const p = resolvePaths({ env: { HOME: '/home/u' }, platform: 'linux' });
    expect(p.configFile).toBe('/home/u/.config/gatepass/config.yaml');
    expect(p.cacheDir).toBe('/home/u/.cache/gatepass');
    expect(p.stateDir).toBe('/home/u/.local/share/gatepass');
    const x = resolvePaths({
      env: { HOME: '/home/u', XDG_CONFIG_HOME: '/x/cfg', XDG_CACHE_HOME: 'rel/cache' },
      platform: 'linux',
    });
    expect(x.configFile).toBe('/x/cfg/gatepass/config.yaml');
    expect(x.cacheDir).toBe('/home/u/.cache/gatepass');
  });

  it('matches the env-paths layout on macOS and Windows', () => {
    const m = resolvePaths({ env: { HOME: '/Users/u' }, platform: 'darwin' });
    expect(m.configFile).toBe('/Users/u/Library/Preferences/gatepass/config.yaml');
    expect(m.cacheDir).toBe('/Users/u/Library/Caches/gatepass');
    const w = resolvePaths({ env: { USERPROFILE: '/c/Users/u', APPDATA: '/c/ad' }, platform: 'win32' });
    expect(w.configFile).toBe(path.join('/c/ad', 'gatepass', 'Config', 'config.yaml'));
    expect(w.cacheDir).toBe(path.join('/c/Users/u', 'AppData', 'Local', 'gatepass', 'Cache'));
  });

  it('an empty, unset or relative HOME falls back to the account home directory', () => {
    for (const HOME of ['', undefined, 'relative/dir']) {
      const env: NodeJS.ProcessEnv = HOME === undefined ? {} : { HOME };
      const p = resolvePaths({ env, platform: 'linux', accountHome: () => '/home/acct' });
      expect(p.configFile).toBe('/home/acct/.config/gatepass/config.yaml');
      expect(path.isAbsolute(p.cacheDir)).toBe(true);
    }
  });

  it('with no usable home at all: a clear ConfigError, unless every location is overridden', () => {
    const opts = { env: { HOME: '' }, platform: 'linux' as const, accountHome: () => undefined };
    expect(() => resolvePaths(opts)).toThrow(ConfigError);
    expect(() => resolveHome(opts)).toThrow(/cannot find your home directory/);
    const p = resolvePaths({
      ...opts,
      env: { HOME: '', GATEPASS_CONFIG: '/etc/gp.yaml', GATEPASS_CACHE_DIR: '/c', GATEPASS_STATE_DIR: '/s' },
    });
    expect(p).toMatchObject({ configFile: '/etc/gp.yaml', cacheDir: '/c', stateDir: '/s', dataDir: '/s' });
  });
});
