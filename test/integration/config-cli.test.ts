import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

const gp = (args: string[], env: NodeJS.ProcessEnv = {}) => runGatepass(args, { env: { ...t.env, ...env } });
const base = [
  '--gateway-url',
  'https://llm.example.com',
  '--issuer',
  'https://sso.example.com',
  '--client-id',
  'gatepass',
];

describe('gatepass config', () => {
  it('refuses a non-HTTPS, non-loopback gateway and leaves the file untouched', async () => {
    expect((await gp(['config', 'set', ...base])).code).toBe(0);
    const before = readFileSync(t.configFile);
    const mtime = statSync(t.configFile).mtimeMs;
    const r = await gp(['config', 'set', '--gateway-url', 'http://example.com']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid gateway_url: must use https:\/\//);
    expect(r.stdout).toBe('');
    expect(readFileSync(t.configFile).equals(before)).toBe(true);
    expect(statSync(t.configFile).mtimeMs).toBe(mtime);
  });

  it('every bad value, unknown key or flag: exit 2 naming the field, file and directory byte for byte unchanged', async () => {
    expect((await gp(['config', 'set', ...base, '--audience', 'llm', '--scopes', 'openid,email'])).code).toBe(
      0,
    );
    const dir = path.dirname(t.configFile);
    const snapshot = () =>
      Object.fromEntries(
        readdirSync(dir).map((f) => [
          f,
          [readFileSync(path.join(dir, f)).toString('base64'), statSync(path.join(dir, f)).mtimeMs],
        ]),
      );
    const before = snapshot();
    const cases: Array<[string[], RegExp]> = [
      [['--gateway-url', 'http://example.com'], /invalid gateway_url: must use https:\/\//],
      [['gateway_url', 'http://10.0.0.1:8080'], /invalid gateway_url: must use https:\/\//],
      [
        ['--gateway-url', 'llm.example.com'],
        /invalid gateway_url: "llm\.example\.com" is not a valid absolute URL/,
      ],
      [['--gateway-url', 'ftp://llm.example.com'], /invalid gateway_url: scheme "ftp"/],
      [['--issuer', 'http://sso.example.com'], /invalid oidc\.issuer: must use https:\/\//],
      [['oidc.issuer', 'https://sso.example.com/?tenant=1'], /invalid oidc\.issuer: .*query/],
      [['--client-id', 'two words'], /invalid oidc\.client_id/],
      [['--audience', ' '], /invalid oidc\.audience: must not be empty/],
      [['--scopes', 'openid "x"'], /invalid oidc\.scopes/],
      [['--callback-port', '-1'], /invalid oidc\.callback_port: must be a whole number/],
      [['--redirect-host', '[::1]'], /invalid oidc\.redirect_host: must be "127\.0\.0\.1" or "localhost"/],
      [['--gateway-token', 'refresh_token'], /invalid oidc\.token: must be "access_token" or "id_token"/],
      [
        ['--auth-params', 'redirect_uri=http://evil'],
        /invalid oidc\.auth_params: "redirect_uri" is set by gatepass/,
      ],
      [['oidc.client_secret', 'GOCSPX-1234'], /invalid oidc\.client_secret: .*--client-secret-stdin/],
      [['--egress-proxy', 'socks5://p:1080'], /invalid network\.proxy: scheme "socks5" is not supported/],
      [['--egress-no-proxy', '10.0.0.0/40'], /invalid network\.no_proxy/],
      [
        ['oidc.callback_port', '65536'],
        /invalid oidc\.callback_port: must be a whole number from 1 to 65535/,
      ],
      [['--callback-port', 'abc'], /invalid oidc\.callback_port: must be a whole number/],
      [['--proxy-port', '0'], /invalid proxy\.listen_port: must be a whole number from 1 to 65535/],
      [['proxy.listen_port', '65536'], /invalid proxy\.listen_port/],
      [['--proxy-port', '-1'], /invalid proxy\.listen_port/],
      // Full validation (the provider is configured): a cross-field rule names its field too.
      [
        ['--callback-port', '14000'],
        /invalid oidc\.callback_port \(provider "default"\): must differ from proxy\.listen_port/,
      ],
      [['--default-provider', 'nope'], /invalid default_provider: there is no provider named "nope"/],
      [['--type', 'saml'], /invalid type/],
      [['oidc.isuer', 'https://sso.example.com'], /unknown config key "oidc\.isuer"/],
      [['--isuer', 'https://sso.example.com'], /unknown option '--isuer'/],
      [['--proxy-port'], /argument missing/],
    ];
    for (const [args, message] of cases) {
      const r = await gp(['config', 'set', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(snapshot(), args.join(' ')).toEqual(before);
    }
    for (const args of [['unset', 'oidc.nope'], ['unset'], ['unset', '--bogus']]) {
      const r = await gp(['config', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(snapshot()).toEqual(before);
    }
  }, 180_000);

  it('--client-secret-stdin: the secret goes to the secret store (0600), the config keeps only its key; unset deletes it', async () => {
    const env = { GATEPASS_SECRET_STORE: 'file' };
    const secret = 'GOCSPX-stdin-only-Secret-4242';
    // Needs the issuer and client id (they name the secret's key).
    let r = await runGatepass(['config', 'set', '--client-secret-stdin'], {
      env: { ...t.env, ...env },
      input: secret,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--client-secret-stdin needs an OIDC provider with an issuer and a client id/);
    // Never a value on the command line: an extra argument is not taken as the secret.
    r = await gp(['config', 'set', ...base, '--client-secret-stdin', secret], env);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain(secret);
    r = await runGatepass(['config', 'set', ...base, '--client-secret-stdin'], {
      env: { ...t.env, ...env },
      input: `${secret}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    const yaml = readFileSync(t.configFile, 'utf8');
    expect(yaml).not.toContain(secret);
    const key = /client_secret: (LLM_OIDC_CS_[0-9a-f]{8})/.exec(yaml)![1]!;
    const file = path.join(t.home, '.local/share/gatepass/secrets', key);
    expect(readFileSync(file, 'utf8')).toBe(secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const show = await gp(['config', 'show'], env);
    expect(show.stdout).toContain(`client_secret: stored in the secret store (${key})`);
    expect(show.stdout + show.stderr).not.toContain(secret);
    r = await runGatepass(['config', 'set', '--client-secret-stdin'], {
      env: { ...t.env, ...env },
      input: '',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no client secret on stdin/);
    r = await gp(['config', 'unset', 'oidc.client_secret'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(t.configFile, 'utf8')).not.toMatch(/client_secret/);
    expect(() => statSync(file)).toThrow();
  });

  it('network.proxy with credentials is shown masked; auth_params and the profile keys round-trip', async () => {
    const r = await gp([
      'config',
      'set',
      ...base,
      '--egress-proxy',
      'http://me:Pa55-w0rd-x@proxy.corp.example:3128',
      '--egress-no-proxy',
      '.corp.example,10.0.0.0/8',
      '--auth-params',
      'access_type=offline&prompt=consent',
      '--redirect-host',
      'localhost',
      '--callback-port',
      '0',
      '--gateway-token',
      'id_token',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const show = await gp(['config', 'show', '--json']);
    expect(show.stdout).not.toContain('Pa55-w0rd-x');
    const j = JSON.parse(show.stdout);
    expect(j.providers.default.network).toEqual({
      proxy: 'http://***@proxy.corp.example:3128',
      no_proxy: '.corp.example,10.0.0.0/8',
    });
    expect(j.providers.default.oidc).toMatchObject({
      auth_params: { access_type: 'offline', prompt: 'consent' },
      redirect_host: 'localhost',
      callback_port: 0,
      token: 'id_token',
    });
    expect((await gp(['config', 'unset', 'network.proxy', 'network.no_proxy'])).code).toBe(0);
    expect(readFileSync(t.configFile, 'utf8')).not.toMatch(/network/);
  });

  it("a bad value already in the file (a hand edit) is reported as the file's, exit 1, until fixed", async () => {
    await gp(['config', 'set', ...base]);
    writeFileSync(
      t.configFile,
      readFileSync(t.configFile, 'utf8').replace('proxy: {}', 'proxy:\n  listen_port: 0'),
    );
    const before = readFileSync(t.configFile);
    const other = await gp(['config', 'set', '--audience', 'llm']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`config file ${t.configFile}: invalid proxy.listen_port`);
    expect(readFileSync(t.configFile).equals(before)).toBe(true);
    // Commands that use the config refuse it too, rather than binding a random port.
    const proxy = await gp(['proxy', 'start']);
    expect(proxy.code).toBe(1);
    expect(proxy.stderr).toContain(`config file ${t.configFile}: invalid proxy.listen_port`);
    expect((await gp(['config', 'set', '--proxy-port', '14500'])).code).toBe(0);
    expect((await gp(['config', 'set', '--audience', 'llm'])).code).toBe(0);
  });

  it('sets, shows and unsets every listed field; unset fields show their defaults', async () => {
    const empty = JSON.parse((await gp(['config', 'show', '--json'])).stdout);
    expect(empty).toMatchObject({
      exists: false,
      default_provider: 'default',
      providers: {},
      proxy: { listen_port: 14000 },
    });
    const set = await gp([
      'config',
      'set',
      ...base,
      '--audience',
      'api://llm',
      '--scopes',
      'profile, email',
      '--callback-port',
      '9000',
      '--proxy-port',
      '15000',
    ]);
    expect(set.code, set.stderr).toBe(0);
    const j = JSON.parse((await gp(['config', 'show', '--json'])).stdout);
    // oidc.scopes is used as is (plus openid): no offline_access added.
    expect(j.providers.default.oidc).toEqual({
      issuer: 'https://sso.example.com',
      client_id: 'gatepass',
      audience: 'api://llm',
      scopes: ['openid', 'profile', 'email'],
      callback_port: 9000,
    });
    expect(j.proxy.listen_port).toBe(15000);
    const human = await gp(['config', 'show']);
    expect(human.stdout).toMatch(/audience: api:\/\/llm/);
    expect(human.stdout).toMatch(/callback_port: 9000/);
    expect(human.stdout).toMatch(/listen_port: 15000/);
    const yaml = readFileSync(t.configFile, 'utf8');
    expect(yaml).toMatch(/^ {4}oidc:\n {6}issuer: https:\/\/sso\.example\.com$/m); // block style
    expect(yaml).toMatch(/scopes:\n\s+- profile\n\s+- email/);
    const unset = await gp([
      'config',
      'unset',
      'oidc.audience',
      'oidc.scopes',
      'oidc.callback_port',
      'proxy.listen_port',
    ]);
    expect(unset.code).toBe(0);
    const after = JSON.parse((await gp(['config', 'show', '--json'])).stdout);
    expect(after.providers.default.oidc).toEqual({
      issuer: 'https://sso.example.com',
      client_id: 'gatepass',
      audience: null,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      callback_port: 8666,
    });
    expect(after.proxy.listen_port).toBe(14000);
    expect(readFileSync(t.configFile, 'utf8')).not.toMatch(/audience|scopes|callback_port|listen_port/);
  });

  it('partial validation while fields are missing, full validation once gateway_url + issuer + client_id are set', async () => {
    // Alone, a callback port equal to the (default) proxy port is accepted: the provider is incomplete.
    expect((await gp(['config', 'set', '--callback-port', '14000'])).code).toBe(0);
    expect((await gp(['config', 'set', '--gateway-url', 'https://llm.example.com'])).code).toBe(0);
    const before = readFileSync(t.configFile);
    const complete = await gp(['config', 'set', '--issuer', 'https://sso.example.com', '--client-id', 'gp']);
    expect(complete.code).toBe(2);
    expect(complete.stderr).toMatch(
      /invalid oidc\.callback_port .*must differ from proxy\.listen_port \(both are 14000\)/,
    );
    expect(readFileSync(t.configFile).equals(before)).toBe(true);
    const fixed = await gp([
      'config',
      'set',
      '--issuer',
      'https://sso.example.com',
      '--client-id',
      'gp',
      '--callback-port',
      '8666',
    ]);
    expect(fixed.code, fixed.stderr).toBe(0);
  });

  it('default_provider must name a provider; unsetting it (or removing that provider) goes back to default', async () => {
    await gp(['config', 'set', ...base]);
    const corp = [
      '--provider',
      'corp',
      '--type',
      'command',
      '--gateway-url',
      'https://c.example',
      '--env-var',
      'TOK',
    ];
    expect((await gp(['config', 'set', ...corp, '--default-provider', 'corp'])).code).toBe(0);
    const show = async () => JSON.parse((await gp(['config', 'show', '--json'])).stdout).default_provider;
    expect(await show()).toBe('corp');
    expect((await gp(['config', 'unset', 'default_provider'])).code).toBe(0);
    expect(await show()).toBe('default');
    expect((await gp(['config', 'set', '--default-provider', 'corp'])).code).toBe(0);
    expect((await gp(['config', 'unset', '--all'])).code).toBe(0); // removes corp, the default
    expect(await show()).toBe('default');
  });

  it('a provider made first on an empty config becomes the default; a later one does not', async () => {
    const corp = ['--provider', 'corp', '--type', 'command', '--gateway-url', 'https://c.example'];
    const r = await gp(['config', 'set', ...corp, '--token-command', 'echo corp-token']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Provider "corp" is the default provider (the first one configured).');
    const show = async () => JSON.parse((await gp(['config', 'show', '--json'])).stdout).default_provider;
    expect(await show()).toBe('corp');
    // So a plain `gatepass token` (and every tool helper without --provider) uses it.
    const tok = await gp(['token']);
    expect(tok.code, tok.stderr).toBe(0);
    expect(tok.stdout).toBe('corp-token\n');
    const other = await gp(['config', 'set', '--provider', 'other', ...base]);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).not.toContain('is the default provider');
    expect(await show()).toBe('corp');
  });

  it("--config in a directory of the user's: the file is 0600, the directory keeps its mode", async () => {
    const project = path.join(t.home, 'project');
    mkdirSync(project);
    chmodSync(project, 0o755);
    const r = await runGatepass(['--config', './gatepass.yaml', 'config', 'set', ...base], {
      env: t.env,
      cwd: project,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(path.join(project, 'gatepass.yaml')).mode & 0o777).toBe(0o600);
    expect(statSync(project).mode & 0o777).toBe(0o755);
    // A directory it creates is private, and its own default directory is tightened.
    const fresh = path.join(t.home, 'new/sub/config.yaml');
    expect((await gp(['config', 'set', ...base], { GATEPASS_CONFIG: fresh })).code).toBe(0);
    expect(statSync(path.dirname(fresh)).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(t.home, 'new')).mode & 0o777).toBe(0o700);
    await gp(['config', 'set', ...base]);
    chmodSync(path.dirname(t.configFile), 0o755);
    await gp(['config', 'set', '--audience', 'x']);
    expect(statSync(path.dirname(t.configFile)).mode & 0o777).toBe(0o700);
  });

  it('refuses bad values before a file exists, and creates nothing', async () => {
    const r = await gp(['config', 'set', '--gateway-url', 'http://example.com']);
    expect(r.code).toBe(2);
    expect(() => statSync(t.configFile)).toThrow();
  });

  it('writes the file 0600 in a 0700 directory, in the XDG config dir', async () => {
    const r = await gp(['config', 'set', ...base]);
    expect(r.code).toBe(0);
    expect(t.configFile).toBe(path.join(t.home, '.config/gatepass/config.yaml'));
    expect(statSync(t.configFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(t.configFile)).mode & 0o777).toBe(0o700);
    const xdg = path.join(t.home, 'xdg');
    await gp(['config', 'set', ...base], { XDG_CONFIG_HOME: xdg });
    expect(statSync(path.join(xdg, 'gatepass/config.yaml')).mode & 0o777).toBe(0o600);
  });

  it('honours --config and GATEPASS_CONFIG', async () => {
    const a = path.join(t.home, 'a/config.yaml');
    const b = path.join(t.home, 'b/config.yaml');
    expect((await gp(['--config', a, 'config', 'set', ...base])).code).toBe(0);
    expect((await gp(['config', 'set', ...base], { GATEPASS_CONFIG: b })).code).toBe(0);
    expect(readFileSync(a, 'utf8')).toContain('https://llm.example.com');
    expect(readFileSync(b, 'utf8')).toContain('https://llm.example.com');
    expect((await gp(['config', 'path'], { GATEPASS_CONFIG: b })).stdout.trim()).toBe(b);
    expect((await gp(['config', 'path', '--config', a], { GATEPASS_CONFIG: b })).stdout.trim()).toBe(a);
  });

  it('show --json reports effective values for machines', async () => {
    await gp(['config', 'set', ...base, '--audience', 'llm', '--proxy-port', '15000']);
    const r = await gp(['config', 'show', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.providers.default).toMatchObject({
      type: 'oidc',
      gateway_url: 'https://llm.example.com',
      configured: true,
      oidc: {
        issuer: 'https://sso.example.com',
        client_id: 'gatepass',
        audience: 'llm',
        callback_port: 8666,
      },
    });
    expect(j.providers.default.oidc.scopes).toContain('offline_access');
    expect(j.proxy.listen_port).toBe(15000);
    expect(j.config_file).toBe(t.configFile);
  });

  it('KEY VALUE pairs, unset, and several providers', async () => {
    expect(
      (
        await gp([
          'config',
          'set',
          'gateway_url',
          'https://llm.example.com',
          'oidc.issuer',
          'https://sso.example.com',
        ])
      ).code,
    ).toBe(0);
    const partial = await gp(['config', 'show', '--json']);
    expect(JSON.parse(partial.stdout).providers.default.configured).toBe(false);
    expect((await gp(['config', 'set', 'oidc.client_id'])).code).toBe(2); // odd number of args
    expect((await gp(['config', 'set', 'oidc.client_id', 'x'])).code).toBe(0);
    expect((await gp(['-p', 'corp', 'config', 'set', '--type', 'command', '--base-url', 'x'])).code).toBe(
      1 + 1,
    ); // unknown flag
    const corp = await gp([
      'config',
      'set',
      '--provider',
      'corp',
      '--gateway-url',
      'https://c.example',
      '--token-command',
      'corp-auth token',
      '--env-var',
      'CORP_TOKEN',
    ]);
    expect(corp.code).toBe(0);
    const j = JSON.parse((await gp(['config', 'show', '--json'])).stdout);
    expect(Object.keys(j.providers)).toEqual(['default', 'corp']);
    expect(j.providers.corp).toMatchObject({
      type: 'command',
      configured: true,
      auth: { token_command: 'corp-auth token', env_var: 'CORP_TOKEN' },
    });
    // --provider narrows show to one provider; an unknown name is a usage error naming the known ones.
    const one = JSON.parse((await gp(['--provider', 'corp', 'config', 'show', '--json'])).stdout);
    expect(Object.keys(one.providers)).toEqual(['corp']);
    expect(one.default_provider).toBe(j.default_provider);
    const human = await gp(['-p', 'corp', 'config', 'show']);
    expect(human.stdout).toContain('corp-auth token');
    expect(human.stdout).not.toContain('issuer');
    // A credential embedded in a command line is not shown.
    const secret = `sk-ant-api03-${'x'.repeat(40)}`;
    expect(
      (await gp(['-p', 'corp', 'config', 'set', '--refresh-command', `corp-auth --key ${secret}`])).code,
    ).toBe(0);
    const shown = await gp(['-p', 'corp', 'config', 'show']);
    expect(shown.stdout).toContain('corp-auth --key [REDACTED]');
    expect(shown.stdout).not.toContain(secret);
    const unknown = await gp(['-p', 'nope', 'config', 'show']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('there is no provider named "nope" (known: default, corp)');
    expect((await gp(['config', 'unset', 'oidc.client_id'])).code).toBe(0);
    expect(
      JSON.parse((await gp(['config', 'show', '--json'])).stdout).providers.default.oidc.client_id,
    ).toBeNull();
    expect((await gp(['-p', 'corp', 'config', 'unset', '--all'])).code).toBe(0);
    expect(Object.keys(JSON.parse((await gp(['config', 'show', '--json'])).stdout).providers)).toEqual([
      'default',
    ]);
    expect((await gp(['config', 'unset'])).code).toBe(2);
  });

  it('preserves comments a user wrote in the config file', async () => {
    mkdirSync(path.dirname(t.configFile), { recursive: true, mode: 0o700 });
    writeFileSync(
      t.configFile,
      '# my settings\nproviders:\n  default:\n    # the corporate gateway\n    gateway_url: https://llm.example.com # prod\n    oidc:\n      issuer: https://sso.example.com\n',
      { mode: 0o600 },
    );
    expect((await gp(['config', 'set', '--client-id', 'gatepass'])).code).toBe(0);
    const text = readFileSync(t.configFile, 'utf8');
    expect(text).toContain('# my settings');
    expect(text).toContain('# the corporate gateway');
    expect(text).toContain('# prod');
    expect(text).toContain('client_id: gatepass');
  });

  it('a Trailblaze-style provider keeps its base_url key and comment through updates', async () => {
    mkdirSync(path.dirname(t.configFile), { recursive: true, mode: 0o700 });
    writeFileSync(
      t.configFile,
      'default_provider: corp\nproviders:\n  corp:\n    base_url: https://llm.corp.example.com # from trailblaze\n    auth:\n      env_var: CORP_LLM_TOKEN\n      token_command: corp-auth get-token\n',
      { mode: 0o600 },
    );
    expect((await gp(['config', 'set', '--refresh-interval', '120'])).code).toBe(0);
    let text = readFileSync(t.configFile, 'utf8');
    expect(text).toContain('    base_url: https://llm.corp.example.com # from trailblaze\n');
    expect(text).not.toContain('gateway_url');
    expect(text).toContain('refresh_interval: 120');
    // Changing it through either name changes that key.
    expect((await gp(['config', 'set', '--gateway-url', 'https://new.corp.example.com'])).code).toBe(0);
    text = readFileSync(t.configFile, 'utf8');
    expect(text).toContain('    base_url: https://new.corp.example.com\n');
    expect(text).not.toContain('gateway_url');
    const show = JSON.parse((await gp(['config', 'show', '--json'])).stdout);
    expect(show.providers.corp).toMatchObject({
      type: 'command',
      gateway_url: 'https://new.corp.example.com',
    });
  });

  it('a malformed config file gives a clear error and is left untouched', async () => {
    mkdirSync(path.dirname(t.configFile), { recursive: true });
    writeFileSync(t.configFile, 'providers:\n  default: [unclosed\n');
    const before = readFileSync(t.configFile);
    for (const args of [
      ['config', 'show'],
      ['config', 'set', '--client-id', 'x'],
    ]) {
      const r = await gp(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/is not valid YAML \(line \d+, column \d+\)/);
      expect(r.stderr).not.toMatch(/internal error/);
    }
    expect(readFileSync(t.configFile).equals(before)).toBe(true);
    writeFileSync(t.configFile, 'providers: 5\n');
    const r = await gp(['config', 'show']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/providers is not a mapping/);
  });

  it('concurrent writers do not lose updates (lock around read-modify-write)', async () => {
    await gp(['config', 'set', ...base]);
    const ports = [15001, 15002, 15003, 15004, 15005, 15006];
    await Promise.all(
      ports.map((p, i) =>
        gp([
          '-p',
          `p${i}`,
          'config',
          'set',
          '--type',
          'command',
          '--gateway-url',
          `https://p${p}.example`,
          '--env-var',
          'TOK',
        ]),
      ),
    );
    const j = JSON.parse((await gp(['config', 'show', '--json'])).stdout);
    expect(Object.keys(j.providers).sort()).toEqual(['default', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
  });
});

describe('gatepass CLI basics', () => {
  it('--version prints the package version, --help lists commands', async () => {
    const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8'));
    const v = await gp(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const h = await gp(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Usage: gatepass/);
    expect(h.stdout).toMatch(/config/);
  });

  it('usage errors exit 2: no command, unknown command, unknown option', async () => {
    expect((await gp([])).code).toBe(2);
    // A command group without its subcommand prints help as an error; asking for help is fine.
    const group = await gp(['config']);
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(/Usage: gatepass config/);
    expect((await gp(['help', 'nosuch'])).code).toBe(2);
    expect((await gp(['help'])).code).toBe(0);
    expect((await gp(['help', 'config'])).code).toBe(0);
    expect((await gp(['config', 'set', '--help'])).code).toBe(0);
    const unknown = await gp(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command/);
    expect((await gp(['config', 'show', '--nope'])).code).toBe(2);
  });

  it('-v turns on debug logs (redacted); without it there are none', async () => {
    const quiet = await gp(['config', 'set', ...base]);
    expect(quiet.stderr).not.toMatch(/debug/);
    const loud = await gp(['-v', 'config', 'show']);
    expect(loud.stderr).toContain(`debug: gatepass show: config file ${t.configFile}`);
    const env = await gp(['config', 'show'], { GATEPASS_VERBOSE: '1' });
    expect(env.stderr).toContain('debug: gatepass show');
    // A verbose token run: the token goes to stdout only, never into the debug lines on stderr.
    const jwt = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"alice","exp":4102444800}').toString('base64url')}.c2lnbmF0dXJl`;
    const script = path.join(t.home, 'tok.mjs');
    writeFileSync(
      script,
      `console.error('issuing refresh_token: Rt-${'9'.repeat(20)}'); console.log('${jwt}');`,
    );
    const cmd = ['--provider', 'corp', '--type', 'command', '--gateway-url', 'https://c.example'];
    expect(
      (await gp(['config', 'set', ...cmd, '--token-command', `${process.execPath} ${script}`])).code,
    ).toBe(0);
    const token = await gp(['-v', '--provider', 'corp', 'token']);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toBe(`${jwt}\n`);
    expect(token.stderr).toMatch(/debug: provider "corp": token_command gave a token valid until 2100-01-01/);
    expect(token.stderr).not.toContain(jwt.split('.')[1]!);
    expect(token.stderr).not.toContain('9'.repeat(20));
  });
});
