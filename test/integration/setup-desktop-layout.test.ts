/**
 * Claude Desktop wiring (macOS and Windows layouts), --models / --bedrock-compat, and the gateway
 * path-prefix probe against real loopback gateways — on real files in a temporary HOME, with login
 * and logout injected.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as TOML from '@decimalturn/toml-patch';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { silentLogger } from '../../src/log.js';
import { createMemoryStore } from '../../src/secrets/memory.js';
import type { SecretStore } from '../../src/secrets/types.js';
import { headProber, type Prober } from '../../src/setup/probe.js';
import { runSetup, type SetupOptions } from '../../src/setup/setup.js';
import { collectStatus } from '../../src/setup/status.js';
import { runTeardown } from '../../src/setup/teardown.js';
import { CLAUDE_DESKTOP_CONFIG_ID } from '../../src/tools/claude-desktop.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';
import { BASE_FLAGS, readHomeFile, setupRunEnv, writeHomeFile } from '../helpers/setup-env.js';
import { makeTestCa } from '../helpers/tls.js';

let t: TempHome;
let store: SecretStore;
let out: string[];
let warnings: string[];

const runEnv = (platform?: NodeJS.Platform) => setupRunEnv({ t, store, out, warnings, platform });
const FLAGS = BASE_FLAGS;
const SELF = { command: '/opt/node/bin/node', args: ['/opt/gate pass/dist/cli.js'] };
/** No gateway answers: no prefixes. */
const noPrefix: Prober = async () => 404;

const fakeLogin: NonNullable<SetupOptions['login']> = async () => ({ token: 'tok', origin: 'login' });
const setup = (
  tools: string[],
  extra: Partial<SetupOptions> & { flags?: Array<[string, string]> } = {},
  platform?: NodeJS.Platform,
) =>
  runSetup(runEnv(platform), {
    assignments: [...FLAGS, ...(extra.flags ?? [])],
    tools,
    self: SELF,
    login: fakeLogin,
    probe: noPrefix,
    ...extra,
  });
const teardown = (extra: Parameters<typeof runTeardown>[1] = {}, platform?: NodeJS.Platform) =>
  runTeardown(runEnv(platform), {
    logout: async () => ({ deleted: true, revoked: false }),
    stopProxy: async () => ({ stopped: false }),
    ...extra,
  });

const write = (rel: string, text: string) => writeHomeFile(t, rel, text);
const read = (rel: string) => readHomeFile(t, rel);
const config = () => parseYaml(readFileSync(t.configFile, 'utf8'));

beforeEach(() => {
  t = makeTempHome();
  store = createMemoryStore();
  out = [];
  warnings = [];
});
afterEach(() => t.cleanup());

const LIBRARIES: Array<{ platform: NodeJS.Platform; lib: string; shim: string }> = [
  {
    platform: 'darwin',
    lib: 'Library/Application Support/Claude-3p/configLibrary',
    shim: '.local/share/gatepass/claude-desktop-helper.sh',
  },
  {
    platform: 'win32',
    lib: 'AppData/Local/Claude-3p/configLibrary',
    shim: '.local/share/gatepass/claude-desktop-helper.cmd',
  },
];

/** A _meta.json as Claude Desktop keeps it, with the user's own saved configuration selected. */
const META = `{
  "appliedId": "0d6f3c1e-users-own",
  "entries": [
    {
      "id": "0d6f3c1e-users-own",
      "name": "My Bedrock"
    }
  ],
  "version": 2
}
`;
const OWN_DOC = '{\n  "inferenceProvider": "bedrock",\n  "inferenceBedrockRegion": "eu-west-1"\n}\n';

describe('Claude Desktop', () => {
  for (const { platform, lib, shim } of LIBRARIES) {
    it(`${platform}: document, 0700 shim and selector; teardown restores _meta.json byte for byte`, async () => {
      write(`${lib}/_meta.json`, META);
      write(`${lib}/0d6f3c1e-users-own.json`, OWN_DOC);
      const docRel = `${lib}/${CLAUDE_DESKTOP_CONFIG_ID}.json`;
      const r = await setup(
        ['claude-desktop'],
        { lazy: true, flags: [['models', 'claude-sonnet-4-5,claude-haiku-4-5']] },
        platform,
      );
      expect(r.tools[0]).toMatchObject({ id: 'claude-desktop', changed: true });

      const shimFile = path.join(t.home, shim);
      const doc = JSON.parse(read(docRel));
      expect(doc).toEqual({
        inferenceProvider: 'gateway',
        inferenceGatewayBaseUrl: 'https://llm.example.com',
        inferenceGatewayAuthScheme: 'bearer',
        inferenceCredentialKind: 'helper-script',
        inferenceCredentialHelper: shimFile,
        inferenceCredentialHelperTtlSec: 300,
        // A whole login plus a minute: in the interactive context the helper may sign in.
        inferenceCredentialHelperTimeoutSec: 360,
        inferenceModels: ['claude-sonnet-4-5', 'claude-haiku-4-5'],
      });

      const meta = JSON.parse(read(`${lib}/_meta.json`));
      expect(meta).toEqual({
        appliedId: CLAUDE_DESKTOP_CONFIG_ID,
        entries: [
          { id: '0d6f3c1e-users-own', name: 'My Bedrock' },
          { id: CLAUDE_DESKTOP_CONFIG_ID, name: 'gatepass' },
        ],
        version: 2,
      });
      // The shim runs `gatepass token` with absolute, quoted paths; background calls never open a browser.
      const script = read(shim);
      expect(statSync(shimFile).mode & 0o777).toBe(0o700);
      // It runs gatepass through the launcher, pinned to this setup's config file and provider.
      const dataDir = path.join(t.home, '.local/share/gatepass');
      const launcherText = read(`.local/share/gatepass/bin/gatepass${platform === 'win32' ? '.cmd' : ''}`);
      expect(launcherText).toContain('/opt/gate pass/dist/cli.js');
      if (platform === 'win32') {
        expect(script).toContain(
          `"${dataDir}/bin/gatepass.cmd" "--config" "${t.configFile}" "--provider" "default" "token" "--min-valid" "600" --skip-browser`,
        );
        expect(script).toContain('set GATEPASS_INTERACTIVE=0');
        expect(script).toContain('\r\n');
      } else {
        expect(script.startsWith('#!/bin/sh\n')).toBe(true);
        const words = `'${dataDir}/bin/gatepass' '--config' '${t.configFile}' '--provider' 'default' 'token' '--min-valid' '600'`;
        expect(script).toContain(`exec ${words} --skip-browser`);
        expect(script).toContain(`exec ${words} --interactive`);
      }
      expect(out.join('\n')).toMatch(/Claude Desktop: quit Claude Desktop completely and relaunch it/);
      const st = await collectStatus(runEnv(platform));
      expect(st.tools.map((x) => [x.tool, x.state])).toEqual([['claude-desktop', 'wired']]);

      // Idempotent.
      const again = await setup(['claude-desktop'], { lazy: true }, platform);
      expect(again.tools[0]!.changed).toBe(false);

      out = [];
      await teardown({}, platform);
      expect(out.join('\n')).toMatch(
        /Restart needed:\n {2}- Claude Desktop: quit Claude Desktop completely and relaunch it/,
      );
      expect(read(`${lib}/_meta.json`)).toBe(META);
      expect(read(`${lib}/0d6f3c1e-users-own.json`)).toBe(OWN_DOC);
      expect(existsSync(path.join(t.home, docRel))).toBe(false);
      expect(existsSync(shimFile)).toBe(false);
      expect(warnings).toEqual([]);
    });
  }

  it('creates _meta.json when there is none and removes it (and the library dir it made) again', async () => {
    mkdirSync(path.join(t.home, 'Library/Application Support/Claude-3p'), { recursive: true });
    await setup(['claude-desktop'], { lazy: true }, 'darwin');
    const lib = 'Library/Application Support/Claude-3p/configLibrary';
    expect(JSON.parse(read(`${lib}/_meta.json`))).toEqual({
      appliedId: CLAUDE_DESKTOP_CONFIG_ID,
      entries: [{ id: CLAUDE_DESKTOP_CONFIG_ID, name: 'gatepass' }],
    });
    expect(JSON.parse(read(`${lib}/${CLAUDE_DESKTOP_CONFIG_ID}.json`))).not.toHaveProperty('inferenceModels');
    await teardown({}, 'darwin');
    expect(existsSync(path.join(t.home, lib))).toBe(false);
    expect(existsSync(path.join(t.home, 'Library/Application Support/Claude-3p'))).toBe(true);
  });

  it('a selection the user switched since setup is left alone; only gatepass entry and files go', async () => {
    const lib = 'Library/Application Support/Claude-3p/configLibrary';
    write(`${lib}/_meta.json`, META);
    await setup(['claude-desktop'], { lazy: true }, 'darwin');
    const f = path.join(t.home, lib, '_meta.json');
    // Claude Desktop rewrote the file with the user's selection back on, compactly.
    const meta = JSON.parse(readFileSync(f, 'utf8'));
    meta.appliedId = '0d6f3c1e-users-own';
    writeFileSync(f, JSON.stringify(meta));
    await teardown({}, 'darwin');
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({
      appliedId: '0d6f3c1e-users-own',
      entries: [{ id: '0d6f3c1e-users-own', name: 'My Bedrock' }],
      version: 2,
    });
    expect(warnings.join('\n')).toMatch(/appliedId was changed since setup/);
  });

  it('a failed login or a malformed _meta.json leaves the library exactly as it was', async () => {
    const lib = 'Library/Application Support/Claude-3p/configLibrary';
    write(`${lib}/_meta.json`, META);
    await expect(
      setup(['claude-desktop'], { login: async () => Promise.reject(new Error('IdP said no')) }, 'darwin'),
    ).rejects.toThrow(/IdP said no/);
    expect(read(`${lib}/_meta.json`)).toBe(META);
    expect(existsSync(path.join(t.home, lib, `${CLAUDE_DESKTOP_CONFIG_ID}.json`))).toBe(false);
    expect(existsSync(path.join(t.home, '.local/share/gatepass/claude-desktop-helper.sh'))).toBe(false);
    expect(existsSync(t.configFile)).toBe(false);

    const bad = '{ "appliedId": "x", "entries": [ { "id": "x" }, ] ,, }';
    write(`${lib}/_meta.json`, bad);
    await expect(setup(['claude-desktop'], { lazy: true }, 'darwin')).rejects.toThrow(
      /_meta\.json is not valid JSON/,
    );
    expect(read(`${lib}/_meta.json`)).toBe(bad);
    expect(existsSync(path.join(t.home, lib, `${CLAUDE_DESKTOP_CONFIG_ID}.json`))).toBe(false);
    write(`${lib}/_meta.json`, '{ "entries": { "x": 1 } }');
    await expect(setup(['claude-desktop'], { lazy: true }, 'darwin')).rejects.toThrow(
      /"entries" is not a JSON array/,
    );
    expect(existsSync(t.configFile)).toBe(false);
  });

  it('TLS options stay out of proxy-mode tools and Claude Desktop, which is told to trust the CA itself', async () => {
    const ca = makeTestCa();
    try {
      const lib = 'Library/Application Support/Claude-3p/configLibrary';
      write(`${lib}/_meta.json`, META);
      mkdirSync(path.join(t.home, '.gemini'));
      mkdirSync(path.join(t.home, '.config/opencode'), { recursive: true });
      await setup(
        ['claude-desktop', 'gemini', 'opencode'],
        {
          lazy: true,
          flags: [
            ['tls.ca_file', ca.caFile],
            ['tls.skip_verify', 'true'],
          ],
        },
        'darwin',
      );
      const written = [
        `${lib}/${CLAUDE_DESKTOP_CONFIG_ID}.json`,
        `${lib}/_meta.json`,
        '.gemini/.env',
        '.gemini/settings.json',
        '.config/opencode/opencode.json',
      ].map(read);
      for (const text of written) {
        expect(text).not.toMatch(/NODE_TLS_REJECT_UNAUTHORIZED|NODE_EXTRA_CA_CERTS/);
        expect(text).not.toContain(ca.caFile);
      }
      // Proxy-mode tools talk plain HTTP to the loopback proxy; only its gateway hop uses the options.
      expect(read('.gemini/.env')).toMatch(/GOOGLE_GEMINI_BASE_URL=http:\/\/127\.0\.0\.1:\d+/);
      expect(out.join('\n')).toMatch(
        /Claude Desktop connects to the gateway itself and does not use gatepass' --ca-file/,
      );
    } finally {
      ca.cleanup();
    }
  });

  it('is not installed on Linux unless its directory exists, and says so for --tools', async () => {
    await expect(setup(['claude-desktop'], { lazy: true })).rejects.toMatchObject({
      code: 'E_TOOL_NOT_INSTALLED',
      message: expect.stringMatching(/Claude Desktop \(claude-desktop\) is not installed/),
    });
    expect(existsSync(t.configFile)).toBe(false);
    // Every-detected-tool setup just skips it.
    mkdirSync(path.join(t.home, '.claude'));
    const r = await runSetup(runEnv(), {
      assignments: FLAGS,
      self: SELF,
      login: fakeLogin,
      probe: noPrefix,
      lazy: true,
    });
    expect(r.tools.map((x) => x.id)).toEqual(['claude']);
  });
});

describe('--models and --bedrock-compat', () => {
  const claudeFile = '.claude/settings.json';
  const claudeText =
    '{\n  // mine\n  "env": {\n    "FOO": "1",\n    "ANTHROPIC_DEFAULT_OPUS_MODEL": "my-opus"\n  }\n}\n';
  const MODELS = 'us.anthropic.claude-haiku-4-5,us.anthropic.claude-sonnet-4-5,us.anthropic.claude-opus-4-1';

  it('writes the Bedrock keys and keeps them on re-runs; --no-bedrock-compat removes them, restoring prior values', async () => {
    write(claudeFile, claudeText);
    await setup(['claude'], { flags: [['models', MODELS]], bedrockCompat: true });
    const bedrockText = read(claudeFile);
    const env = parseJsonc(bedrockText).env;
    expect(env).toMatchObject({
      FOO: '1',
      CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS: '1',
      ANTHROPIC_DEFAULT_HAIKU_MODEL: 'us.anthropic.claude-haiku-4-5',
      ANTHROPIC_DEFAULT_SONNET_MODEL: 'us.anthropic.claude-sonnet-4-5',
      ANTHROPIC_DEFAULT_OPUS_MODEL: 'us.anthropic.claude-opus-4-1',
    });
    expect(config().providers.default).toMatchObject({ bedrock_compat: true, models: MODELS.split(',') });

    // Persisted: a later setup without the flag (say after an upgrade) keeps the Bedrock wiring.
    const again = await setup(['claude']);
    expect(again.tools[0]!.changed).toBe(false);
    expect(read(claudeFile)).toBe(bedrockText);
    expect(config().providers.default.bedrock_compat).toBe(true);

    // Cleared: --no-bedrock-compat removes the keys and the setting, and puts the user's value back.
    await setup(['claude'], { bedrockCompat: false });
    const withoutFlag = read(claudeFile);
    const env2 = parseJsonc(withoutFlag).env;
    expect(env2.ANTHROPIC_DEFAULT_OPUS_MODEL).toBe('my-opus');
    expect(env2).not.toHaveProperty('CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS');
    expect(env2).not.toHaveProperty('ANTHROPIC_DEFAULT_HAIKU_MODEL');
    expect(config().providers.default).not.toHaveProperty('bedrock_compat');
    expect(config().providers.default.models).toEqual(MODELS.split(',')); // models stay
    expect(read(claudeFile)).not.toBe(bedrockText);
    await setup(['claude']);
    expect(read(claudeFile)).toBe(withoutFlag); // and stays off

    // Same bytes as a setup that never had the flag.
    await teardown();
    expect(read(claudeFile)).toBe(claudeText);
    write(claudeFile, claudeText);
    await setup(['claude']);
    expect(read(claudeFile)).toBe(withoutFlag);

    // Turned on via the config (`config set --bedrock-compat`), then off via `config unset`.
    const { applyAssignments, parseAssignments, unsetFields } = await import('../../src/config/edit.js');
    const { updateConfig } = await import('../../src/config/store.js');
    await updateConfig(t.configFile, (cfg) =>
      applyAssignments(cfg, 'default', parseAssignments([['bedrock_compat', 'true']])),
    );
    await setup(['claude']);
    expect(read(claudeFile)).toBe(bedrockText);
    await updateConfig(t.configFile, (cfg) => unsetFields(cfg, 'default', ['bedrock_compat']));
    await setup(['claude']);
    expect(read(claudeFile)).toBe(withoutFlag);
    await teardown();
    expect(read(claudeFile)).toBe(claudeText);
  });

  it('a settings.json gatepass created: env keys come and go with the flag; teardown removes the file', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    await setup(['claude'], { flags: [['models', MODELS]], bedrockCompat: true });
    await setup(['claude'], { bedrockCompat: false });
    expect(parseJsonc(read(claudeFile)).env).toEqual({
      ANTHROPIC_BASE_URL: 'https://llm.example.com',
      CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '300000',
    });
    await teardown();
    expect(existsSync(path.join(t.home, claudeFile))).toBe(false);
  });

  it('CLI: --bedrock-compat is saved and kept by a plain re-run; --no-bedrock-compat clears it', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    const env = { ...t.env, PATH: '/usr/bin:/bin' };
    const base = ['setup', '--tools', 'claude', '--lazy', '--anthropic-path-prefix', ''];
    const flags = ['--gateway-url', 'https://llm.example.com', '--issuer', 'https://sso.example.com'];
    const first = await runGatepass(
      [...base, ...flags, '--client-id', 'gp', '--models', MODELS, '--bedrock-compat'],
      { env },
    );
    expect(first.code, first.stderr).toBe(0);
    const bedrock = read(claudeFile);
    expect(JSON.parse(bedrock).env.CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS).toBe('1');
    const plain = await runGatepass(base, { env });
    expect(plain.code, plain.stderr).toBe(0);
    expect(read(claudeFile)).toBe(bedrock);
    const off = await runGatepass([...base, '--no-bedrock-compat'], { env });
    expect(off.code, off.stderr).toBe(0);
    expect(JSON.parse(read(claudeFile)).env).not.toHaveProperty('CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS');
    expect(JSON.parse(read(claudeFile)).env).not.toHaveProperty('ANTHROPIC_DEFAULT_SONNET_MODEL');
    expect(config().providers.default).not.toHaveProperty('bedrock_compat');
  });

  it('models feed OpenCode and are validated', async () => {
    mkdirSync(path.join(t.home, '.config/opencode'), { recursive: true });
    await setup(['opencode'], { lazy: true, flags: [['models', 'gpt-5, claude-sonnet-4-5']] });
    const oc = JSON.parse(read('.config/opencode/opencode.json'));
    expect(oc.provider.gatepass.models).toEqual({
      'gpt-5': { name: 'gpt-5' },
      'claude-sonnet-4-5': { name: 'claude-sonnet-4-5' },
    });
    await expect(setup(['opencode'], { flags: [['models', ' , ']] })).rejects.toMatchObject({
      code: 'E_CONFIG_INVALID',
    });
    await teardown();
    expect(existsSync(path.join(t.home, '.config/opencode/opencode.json'))).toBe(false);
  });
});

interface FakeGateway {
  url: string;
  requests: string[];
  close: () => Promise<void>;
}

/**
 * A gateway that serves its APIs under /anthropic and /openai (prefixed) or at the root (plain); over
 * HTTPS with `tls` (a certificate from a private CA).
 */
async function startGateway(
  layout: 'prefixed' | 'plain',
  tls?: { cert: string; key: string },
): Promise<FakeGateway> {
  const requests: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const p = (req.url ?? '/').split('?')[0]!;
    requests.push(`${req.method} ${p}`);
    const known =
      layout === 'prefixed'
        ? p.startsWith('/anthropic/v1/') || p.startsWith('/openai/v1/')
        : p.startsWith('/v1/');
    // Unauthenticated: a real gateway answers 401 (or 405 for HEAD) on routes that exist.
    res.writeHead(known ? 401 : 404);
    res.end();
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('gateway path prefixes', () => {
  let gw: FakeGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });
  const probe = () => headProber(silentLogger);
  const gwFlags = (url: string): Array<[string, string]> => [['gateway_url', url], ...FLAGS.slice(1)];

  it('detects /anthropic and /openai on a prefixed gateway and persists them', async () => {
    gw = await startGateway('prefixed');
    mkdirSync(path.join(t.home, '.claude'));
    mkdirSync(path.join(t.home, '.codex'));
    await runSetup(runEnv(), {
      assignments: gwFlags(gw.url),
      tools: ['claude', 'codex'],
      self: SELF,
      probe: probe(),
      lazy: true,
    });
    expect(JSON.parse(read('.claude/settings.json')).env.ANTHROPIC_BASE_URL).toBe(`${gw.url}/anthropic`);
    expect(TOML.parse(read('.codex/config.toml')).model_providers.gatepass.base_url).toBe(
      `${gw.url}/openai/v1`,
    );
    expect(config().providers.default).toMatchObject({
      anthropic_path_prefix: '/anthropic',
      openai_path_prefix: '/openai',
    });
    expect(gw.requests).toContain('HEAD /anthropic/v1/messages');
    expect(gw.requests).toContain('HEAD /openai/v1/models');
    const st = await collectStatus(runEnv());
    expect(st.providers[0]).toMatchObject({
      anthropic_path_prefix: '/anthropic',
      openai_path_prefix: '/openai',
    });
    // A re-run against the same gateway uses the saved layout without probing again.
    gw.requests.length = 0;
    await runSetup(runEnv(), { tools: ['claude', 'codex'], self: SELF, probe: probe(), lazy: true });
    expect(gw.requests).toEqual([]);
    // Pointing the config at another gateway forgets the layout found for this one.
    const { applyAssignments, parseAssignments } = await import('../../src/config/edit.js');
    const { updateConfig } = await import('../../src/config/store.js');
    await updateConfig(t.configFile, (cfg) =>
      applyAssignments(cfg, 'default', parseAssignments([['gateway_url', 'https://other.example.com']])),
    );
    expect(config().providers.default).not.toHaveProperty('anthropic_path_prefix');
    expect(config().providers.default).not.toHaveProperty('openai_path_prefix');
  });

  it('finds no prefix on a plain gateway; a given flag wins without probing', async () => {
    gw = await startGateway('plain');
    mkdirSync(path.join(t.home, '.claude'));
    mkdirSync(path.join(t.home, '.codex'));
    await runSetup(runEnv(), {
      assignments: gwFlags(gw.url),
      tools: ['claude', 'codex'],
      self: SELF,
      probe: probe(),
      lazy: true,
    });
    expect(JSON.parse(read('.claude/settings.json')).env.ANTHROPIC_BASE_URL).toBe(gw.url);
    expect(TOML.parse(read('.codex/config.toml')).model_providers.gatepass.base_url).toBe(`${gw.url}/v1`);
    expect(config().providers.default).toMatchObject({ anthropic_path_prefix: '', openai_path_prefix: '' });

    gw.requests.length = 0;
    await runSetup(runEnv(), {
      assignments: [
        ['anthropic_path_prefix', 'llm/anthropic/'],
        ['openai_path_prefix', '/llm/openai'],
      ],
      tools: ['claude', 'codex'],
      self: SELF,
      probe: probe(),
      lazy: true,
    });
    expect(gw.requests).toEqual([]);
    expect(JSON.parse(read('.claude/settings.json')).env.ANTHROPIC_BASE_URL).toBe(`${gw.url}/llm/anthropic`);
    expect(TOML.parse(read('.codex/config.toml')).model_providers.gatepass.base_url).toBe(
      `${gw.url}/llm/openai/v1`,
    );
  });

  it('an unreachable gateway means no prefix (within the 2-second bound); --dry-run probes but writes nothing', async () => {
    gw = await startGateway('plain');
    const url = gw.url;
    await gw.close();
    gw = undefined;
    mkdirSync(path.join(t.home, '.claude'));
    const started = Date.now();
    await runSetup(runEnv(), {
      assignments: gwFlags(url),
      tools: ['claude'],
      self: SELF,
      probe: probe(),
      dryRun: true,
    });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(out.join('\n')).toContain(`"ANTHROPIC_BASE_URL": "${url}"`);
    expect(existsSync(t.configFile)).toBe(false);
    // A real run against the unreachable gateway wires no prefix and remembers nothing about it.
    await runSetup(runEnv(), {
      assignments: gwFlags(url),
      tools: ['claude'],
      self: SELF,
      probe: probe(),
      lazy: true,
    });
    expect(JSON.parse(read('.claude/settings.json')).env.ANTHROPIC_BASE_URL).toBe(url);
    expect(config().providers.default).not.toHaveProperty('anthropic_path_prefix');
    await teardown();
    rmSync(t.configFile);
    expect(existsSync(path.join(t.home, '.claude/settings.json'))).toBe(false);

    const silent = await startGateway('prefixed');
    try {
      out = [];
      await runSetup(runEnv(), {
        assignments: gwFlags(silent.url),
        tools: ['claude'],
        self: SELF,
        probe: probe(),
        dryRun: true,
      });
      expect(silent.requests).toContain('HEAD /anthropic/v1/messages');
      expect(out.join('\n')).toContain(`"ANTHROPIC_BASE_URL": "${silent.url}/anthropic"`);
      expect(existsSync(t.configFile)).toBe(false);
    } finally {
      await silent.close();
    }
  });

  it('a gateway that accepts but never answers costs one 2-second wait in all', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const hang = createServer(() => {});
    hang.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
    try {
      mkdirSync(path.join(t.home, '.claude'));
      mkdirSync(path.join(t.home, '.codex'));
      const started = Date.now();
      await runSetup(runEnv(), {
        assignments: gwFlags(url),
        tools: ['claude', 'codex'],
        self: SELF,
        probe: probe(),
        dryRun: true,
      });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(1900);
      expect(took).toBeLessThan(3000);
      expect(out.join('\n')).toContain(`"ANTHROPIC_BASE_URL": "${url}"`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => hang.close(resolve));
    }
  });

  it('probes an HTTPS gateway with the configured CA bundle (or skip-verify); without it, says why', async () => {
    const ca = makeTestCa();
    gw = await startGateway('prefixed', ca.server);
    try {
      mkdirSync(path.join(t.home, '.claude'));
      mkdirSync(path.join(t.home, '.codex'));
      const run = (extra: Array<[string, string]>) =>
        runSetup(runEnv(), {
          assignments: [...gwFlags(gw!.url), ...extra],
          tools: ['claude', 'codex'],
          self: SELF,
          dryRun: true, // setup's own prober: run.logger, the provider's TLS settings
        });
      // No CA: the certificate is not trusted, so no prefix is found — and the user is told why.
      await run([]);
      expect(out.join('\n')).toContain(`"ANTHROPIC_BASE_URL": "${gw.url}"`);
      expect(warnings.join('\n')).toMatch(
        /could not detect the gateway's path prefixes: TLS verification of https:\/\/127\.0\.0\.1:\d+ failed \(\w+\);.*--ca-file/,
      );
      expect(warnings).toHaveLength(1); // one warning, not one per probe
      expect(gw.requests).toEqual([]);

      out = [];
      warnings = [];
      await run([['tls.ca_file', ca.caFile]]);
      expect(out.join('\n')).toContain(`"ANTHROPIC_BASE_URL": "${gw.url}/anthropic"`);
      expect(out.join('\n')).toContain(`base_url = "${gw.url}/openai/v1"`);
      expect(warnings).toEqual([]);
      expect(gw.requests).toContain('HEAD /anthropic/v1/messages');

      out = [];
      gw.requests.length = 0;
      await run([['tls.skip_verify', 'true']]);
      expect(out.join('\n')).toContain(`"ANTHROPIC_BASE_URL": "${gw.url}/anthropic"`);
      expect(gw.requests).toContain('HEAD /anthropic/v1/messages');
    } finally {
      ca.cleanup();
    }
  });

  it('rejects a malformed prefix before touching anything', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    await expect(setup(['claude'], { flags: [['anthropic_path_prefix', '/a b']] })).rejects.toMatchObject({
      code: 'E_CONFIG_INVALID',
    });
    expect(existsSync(t.configFile)).toBe(false);
  });
});

describe('teardown selection, purge and failed setups (issue #8 checks)', () => {
  it('teardown --purge-tokens on one tool deletes and revokes tokens but keeps the other tool', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    mkdirSync(path.join(t.home, '.codex'));
    await setup(['claude', 'codex']);
    const calls: Array<{ revoke: boolean }> = [];
    const r = await teardown({
      tools: ['codex'],
      purgeTokens: true,
      logout: async (_ctx, _name, _p, opts) => {
        calls.push({ revoke: Boolean(opts?.revoke) });
        return { deleted: true, revoked: true };
      },
    });
    expect(r.tools.map((x) => x.id)).toEqual(['codex']);
    expect(r.tokensDeleted).toBe(true);
    expect(calls).toEqual([{ revoke: true }]);
    expect((await collectStatus(runEnv())).tools.map((x) => x.tool)).toEqual(['claude']);
  });

  it('a failed login leaves the config (with new inline flags) and every tool file as they were', async () => {
    const claudeText = '{ "model": "opus" }\n';
    write('.claude/settings.json', claudeText);
    await setup(['claude'], { lazy: true });
    const settingsAfterFirst = read('.claude/settings.json');
    const configBefore = readFileSync(t.configFile, 'utf8');
    await expect(
      setup(['claude'], {
        flags: [
          ['gateway_url', 'https://llm2.example.com'],
          ['models', 'claude-sonnet-4-5'],
        ],
        bedrockCompat: true,
        login: async () => {
          throw new Error('IdP said no');
        },
      }),
    ).rejects.toThrow(/IdP said no/);
    expect(readFileSync(t.configFile, 'utf8')).toBe(configBefore);
    expect(read('.claude/settings.json')).toBe(settingsAfterFirst);
  });

  it('CLI: teardown <tool> undoes just that tool and keeps tokens; --purge-tokens/--keep-tokens conflict is exit 2', async () => {
    mkdirSync(path.join(t.home, '.claude'));
    mkdirSync(path.join(t.home, '.codex'));
    const env = { ...t.env, PATH: '/usr/bin:/bin' };
    const flags = [
      '--gateway-url',
      'https://llm.example.com',
      '--issuer',
      'https://sso.example.com',
      '--client-id',
      'gp',
    ];
    const s = await runGatepass(
      [
        'setup',
        ...flags,
        '--tools',
        'claude,codex',
        '--lazy',
        '--anthropic-path-prefix',
        '',
        '--openai-path-prefix',
        '',
      ],
      { env },
    );
    expect(s.code, s.stderr).toBe(0);
    const td = await runGatepass(['teardown', 'codex'], { env });
    expect(td.code, td.stderr).toBe(0);
    expect(existsSync(path.join(t.home, '.codex/config.toml'))).toBe(false);
    expect(existsSync(path.join(t.home, '.claude/settings.json'))).toBe(true);
    expect(td.stderr).not.toMatch(/Deleted cached tokens/);
    const missing = await runGatepass(['setup', '--tools', 'claude-desktop', '--lazy'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Claude Desktop \(claude-desktop\) is not installed/);
  });
});
