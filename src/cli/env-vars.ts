/**
 * Every GATEPASS_* environment variable, in one table: rendered into the README's "Environment
 * variables" section and docs/cli/environment.md (`npm run docs`). A test greps src/ for the names
 * the code uses and checks each is here.
 */
export interface EnvVar {
  name: string;
  meaning: string;
}

/** Read by gatepass. */
export const ENV_VARS: readonly EnvVar[] = [
  { name: 'GATEPASS_CONFIG', meaning: 'config file to use (like `--config`)' },
  {
    name: 'GATEPASS_MANAGED_CONFIG',
    meaning:
      'the fleet-managed config file (default `/etc/gatepass/config.yaml`, macOS `/Library/Application Support/gatepass/config.yaml`, Windows the policy key `HKLM\\SOFTWARE\\Policies\\gatepass`, else `%ProgramData%\\gatepass\\config.yaml`), or a registry key `HKLM\\…` read with `reg query`; empty: none',
  },
  { name: 'GATEPASS_CACHE_DIR', meaning: 'cache directory (token caches of command providers)' },
  { name: 'GATEPASS_STATE_DIR', meaning: 'state directory (secret files, backups, proxy state and log)' },
  {
    name: 'GATEPASS_VERBOSE',
    meaning: '`1`: debug logs on stderr, like `--verbose` (`0`/`1`, `true`/`false`, `yes`/`no`)',
  },
  {
    name: 'GATEPASS_INTERACTIVE',
    meaning:
      '`gatepass token`: `1` may start a login, `0` never does (wins over everything but `--interactive`); `gatepass headers --for`: `1` may start a login',
  },
  {
    name: 'GATEPASS_BROWSER',
    meaning: 'command that opens the login URL (split on spaces, no shell; the URL is added last)',
  },
  { name: 'GATEPASS_LOGIN_TIMEOUT', meaning: 'seconds a browser login waits (1–86400, default 300)' },
  {
    name: 'GATEPASS_HTTP_TIMEOUT',
    meaning: 'seconds an identity provider request may take (1–3600, default 30)',
  },
  { name: 'GATEPASS_SECRET_STORE', meaning: 'force a secret store: `keychain`, `file`, `env` or `memory`' },
  {
    name: 'GATEPASS_SECRET_<KEY>',
    meaning:
      'with `GATEPASS_SECRET_STORE=env`: a secret by key, e.g. `GATEPASS_SECRET_LLM_OAUTH_1a2b3c4d_AT` or `GATEPASS_SECRET_GATEPASS_LOCAL_PROXY_KEY`',
  },
  { name: 'GATEPASS_TOKEN_FAST_PATH', meaning: '`0`: `gatepass token` always runs the full CLI' },
  {
    name: 'GATEPASS_PROXY_FAST_PATH',
    meaning: '`0`: `gatepass proxy start` always runs the full CLI (not the lean proxy entry)',
  },
  { name: 'GATEPASS_PROXY_ENGINE', meaning: 'proxy engine: `wire` (default) or `node`' },
  {
    name: 'GATEPASS_HELPER_CHECK',
    meaning:
      "`1`: `gatepass token` only resolves its config and provider and says so (how `status` checks that a tool's helper starts; no token, no login)",
  },
  {
    name: 'GATEPASS_TEST_CRASH_AFTER_STEP',
    meaning:
      'tests only: the process kills itself (SIGKILL) after that many durable writes (crash-safety tests)',
  },
  {
    name: 'GATEPASS_TEST_KEYCHAIN_CHUNK_SIZE',
    meaning:
      'tests only: split keychain entries longer than this many characters into chunks (as on Windows, where the limit is built in)',
  },
  {
    name: 'GATEPASS_ALLOW_PLACEHOLDER_HOSTS',
    meaning: '`1`: setup may wire example.com / example.org / example.net / .invalid hosts (tests, demos)',
  },
  {
    name: 'GATEPASS_SYSTEM_ROOT',
    meaning:
      "tests only: a directory standing for `/` (or `C:\\`) when setup and status look for tools' managed settings files",
  },
];

/** Set by gatepass for the commands it runs. */
export const ENV_VARS_SET: readonly EnvVar[] = [
  { name: 'GATEPASS_TOKEN', meaning: '`gatepass exec`: the gateway token' },
  { name: 'GATEPASS_PROVIDER', meaning: '`exec`, `env` and token commands: the provider name' },
  { name: 'GATEPASS_GATEWAY_URL', meaning: "`exec` and `env`: the provider's gateway URL" },
  { name: 'GATEPASS_TOKEN_CACHE', meaning: 'token commands: the cache file they may write themselves' },
  { name: 'GATEPASS_REFRESH_TOKEN', meaning: 'refresh commands: the refresh token they were given' },
  {
    name: 'GATEPASS_LAUNCHER',
    meaning:
      "the launcher in gatepass' data directory: marks a gatepass it started from PATH (never itself again)",
  },
  {
    name: 'GATEPASS_PROXY_NONCE',
    meaning:
      'the background proxy: its control secret, taken out of its environment at start (no command inherits it)',
  },
  {
    name: 'GATEPASS_RUNNING_TOKEN_COMMAND',
    meaning: 'token commands: set while one runs (a gatepass it starts for the same provider stops: a loop)',
  },
];

export function envVarsMarkdown(): string {
  const row = (v: EnvVar, dir: string) => `| \`${v.name}\` | ${dir} | ${v.meaning} |`;
  return [
    '| variable | | meaning |',
    '| --- | --- | --- |',
    ...ENV_VARS.map((v) => row(v, 'read')),
    ...ENV_VARS_SET.map((v) => row(v, 'set')),
  ].join('\n');
}
