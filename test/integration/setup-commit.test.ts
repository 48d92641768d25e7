/**
 * When setup commits: inline flags and tool files are written only after the login succeeded, so a
 * failed (or interrupted) login leaves every byte as it was — checked in-process with the real
 * token_ref bookkeeping, and through the built CLI with a real, failing OIDC login.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { persistTokenRef } from '../../src/auth/oidc/persist.js';
import type { OidcProvider } from '../../src/config/schema.js';
import { createMemoryStore } from '../../src/secrets/memory.js';
import type { SecretStore } from '../../src/secrets/types.js';
import type { Prober } from '../../src/setup/probe.js';
import { runSetup, type SetupOptions } from '../../src/setup/setup.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { BASE_FLAGS, readHomeFile, setupRunEnv, writeHomeFile } from '../helpers/setup-env.js';

let t: TempHome;
let store: SecretStore;
let out: string[];
let warnings: string[];

const SELF = { command: '/opt/node/bin/node', args: ['/opt/gatepass/dist/cli.js'] };
const noPrefix: Prober = async () => 404;
const runEnv = () => setupRunEnv({ t, store, out, warnings });
const setup = (tools: string[], extra: Partial<SetupOptions> = {}) =>
  runSetup(runEnv(), { assignments: BASE_FLAGS, tools, self: SELF, probe: noPrefix, ...extra });
const write = (rel: string, text: string) => writeHomeFile(t, rel, text);
const read = (rel: string) => readHomeFile(t, rel);

const CLAUDE = '{\n  // mine\n  "model": "opus"\n}\n';
const CODEX = '# my codex\nmodel_provider = "azure"\n\n[model_providers.azure]\nname = "Azure"\n';

beforeEach(() => {
  t = makeTempHome();
  store = createMemoryStore();
  out = [];
  warnings = [];
});
afterEach(() => t.cleanup());

describe('setup writes nothing before the login succeeded', () => {
  it('the login runs while every tool file and the config are still untouched', async () => {
    write('.claude/settings.json', CLAUDE);
    write('.codex/config.toml', CODEX);
    let seen: string[] | undefined;
    await setup(['claude', 'codex'], {
      login: async () => {
        seen = [read('.claude/settings.json'), read('.codex/config.toml'), String(existsSync(t.configFile))];
        return { token: 'tok', origin: 'login' };
      },
    });
    expect(seen).toEqual([CLAUDE, CODEX, 'false']);
    expect(read('.claude/settings.json')).toContain('apiKeyHelper');
    expect(read('.codex/config.toml')).toContain('model_provider = "gatepass"');
  });

  it('a tool file changed while the user was in the browser is patched as it is now, not clobbered', async () => {
    write('.codex/config.toml', CODEX);
    await setup(['codex'], {
      login: async () => {
        // Codex records a trusted project in its config.toml meanwhile.
        writeFileSync(
          path.join(t.home, '.codex/config.toml'),
          `${CODEX}\n[projects."/src/app"]\ntrust_level = "trusted"\n`,
        );
        return { token: 'tok', origin: 'login' };
      },
    });
    const text = read('.codex/config.toml');
    expect(text).toContain('[projects."/src/app"]');
    expect(text).toContain('model_provider = "gatepass"');
  });

  it("the login's token_ref is recorded even when the same run changes the gateway (which drops the old one)", async () => {
    write('.claude/settings.json', CLAUDE);
    const login: NonNullable<SetupOptions['login']> = async (ctx, name, provider) => {
      // What the real OIDC login does after the grant.
      await persistTokenRef(
        ctx,
        name,
        provider as OidcProvider,
        'LLM_OAUTH_0123abcd',
        Date.now() + 3_600_000,
      );
      return { token: 'tok', origin: 'login' };
    };
    await setup(['claude'], { login });
    const ref = () => parseYaml(readFileSync(t.configFile, 'utf8')).providers.default.token_ref;
    expect(ref()).toMatchObject({ secret_key: 'LLM_OAUTH_0123abcd' });
    await setup(['claude'], {
      assignments: [['gateway_url', 'https://llm2.example.com'], ...BASE_FLAGS.slice(1)],
      login: async (ctx, name, provider) => {
        await persistTokenRef(ctx, name, provider as OidcProvider, 'LLM_OAUTH_4567cdef', undefined);
        return { token: 'tok', origin: 'login' };
      },
    });
    expect(ref()).toEqual({ secret_key: 'LLM_OAUTH_4567cdef' });
    expect(parseYaml(readFileSync(t.configFile, 'utf8')).providers.default.gateway_url).toBe(
      'https://llm2.example.com',
    );
    // A login that recorded nothing new (a command provider's, say) does not bring back the
    // reference the gateway change dropped.
    await setup(['claude'], {
      assignments: [['gateway_url', 'https://llm3.example.com'], ...BASE_FLAGS.slice(1)],
      login: async () => ({ token: 'tok', origin: 'login' }),
    });
    expect(ref()).toBeUndefined();
  });

  it('a login that succeeds, then a file that turned malformed meanwhile: nothing is written', async () => {
    write('.claude/settings.json', CLAUDE);
    write('.codex/config.toml', CODEX);
    write('.config/gatepass/config.yaml', '# mine\nproxy:\n  listen_port: 15000\n');
    const configBefore = readFileSync(t.configFile, 'utf8');
    await expect(
      setup(['claude', 'codex'], {
        login: async (ctx, name, provider) => {
          await persistTokenRef(ctx, name, provider as OidcProvider, 'LLM_OAUTH_0123abcd', undefined);
          writeFileSync(path.join(t.home, '.codex/config.toml'), 'model_provider = \n');
          return { token: 'tok', origin: 'login' };
        },
      }),
    ).rejects.toThrow(/config\.toml/);
    expect(read('.claude/settings.json')).toBe(CLAUDE);
    expect(readFileSync(t.configFile, 'utf8')).toBe(configBefore);
  });
});

describe('CLI: a real login that fails leaves every file byte for byte', () => {
  it('unreachable IdP: exit 1, tool files, config and secret store as they were', async () => {
    write('.claude/settings.json', CLAUDE);
    write('.codex/config.toml', CODEX);
    const configText = '# my gatepass config\nproxy:\n  listen_port: 15000\n';
    write('.config/gatepass/config.yaml', configText);
    const closed = await freePort();
    const gw = await freePort();
    const env = { ...t.env, PATH: '/usr/bin:/bin', GATEPASS_SECRET_STORE: 'file' };
    const r = await runGatepass(
      [
        'setup',
        '--gateway-url',
        `http://127.0.0.1:${gw}`,
        '--issuer',
        `http://127.0.0.1:${closed}`,
        '--client-id',
        'gp',
        '--models',
        'claude-sonnet-4-5',
        '--bedrock-compat',
        '--tools',
        'claude,codex',
        '--skip-browser',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/setup changed nothing/);
    expect(r.stdout).toBe('');
    expect(read('.claude/settings.json')).toBe(CLAUDE);
    expect(read('.codex/config.toml')).toBe(CODEX);
    expect(read('.config/gatepass/config.yaml')).toBe(configText);
    expect(existsSync(path.join(t.home, '.local/share/gatepass/tool-backups.json'))).toBe(false);
    expect(existsSync(path.join(t.home, '.local/share/gatepass/secrets'))).toBe(false);

    // No config at all before: still none after.
    mkdirSync(path.join(t.home, 'x'));
    const again = await runGatepass(
      [
        'setup',
        '--config',
        path.join(t.home, 'x/none.yaml'),
        '--gateway-url',
        `http://127.0.0.1:${gw}`,
        '--issuer',
        `http://127.0.0.1:${closed}`,
        '--client-id',
        'gp',
        '--tools',
        'claude',
      ],
      { env },
    );
    expect(again.code, again.stderr).toBe(1);
    expect(existsSync(path.join(t.home, 'x/none.yaml'))).toBe(false);
    expect(read('.claude/settings.json')).toBe(CLAUDE);
  });
});
