import { Option } from 'commander';
import { CA_FILE_FLAG_HELP, SKIP_VERIFY_FLAG_HELP } from '../tls-flags.js';
import type { DefineContext } from './types.js';

export function defineProxyCommand({ program, runner }: DefineContext): void {
  const proxy = program
    .command('proxy')
    .description('a loopback proxy that adds a fresh gateway token, for tools that only take an API key')
    .addHelpText(
      'after',
      `
The proxy listens on 127.0.0.1 (and ::1) only. Clients use its URL as their base URL and the local
proxy key (made by \`gatepass setup\`) as their API key; it refuses other keys, non-loopback Host
headers and browser requests. GET /.gatepass/health answers without a key.`,
    );

  proxy
    .command('start')
    .description('start the proxy (in the foreground unless --background)')
    .addOption(new Option('--port <n>', 'port to listen on (default: proxy.listen_port or 14000)'))
    .option('--background', 'detach, wait until it answers, record it in the state file and print its URL')
    .option('--ca-file <file>', CA_FILE_FLAG_HELP)
    .option('--tls-skip-verify', SKIP_VERIFY_FLAG_HELP)
    .option(
      '--skip-browser',
      'do not open a browser for a login: print the URL on stderr instead (a background proxy writes it to proxy.log)',
    )
    .addHelpText(
      'after',
      `
With no token yet, the first request starts the browser login (one login shared by all requests).
Access logs (method, path, status, duration) go to stderr with -v; a background proxy logs to
proxy.log in the state directory. GATEPASS_PROXY_ENGINE=node serves clients with node:http and
undici instead of gatepass' own HTTP/1.1 engine (same behaviour, about twice the CPU per request).

Examples:
  gatepass proxy start
  gatepass proxy start --background --port 14001`,
    )
    .action((...args) =>
      runner(() => import('../commands/proxy.js').then((m) => ({ run: m.runStart })), args),
    );

  proxy
    .command('stop')
    .description('stop the background proxy')
    .action((...args) =>
      runner(() => import('../commands/proxy.js').then((m) => ({ run: m.runStop })), args),
    );

  proxy
    .command('key')
    .description('print the local proxy key, for a tool gatepass does not wire (the API key it sends)')
    .addHelpText(
      'after',
      `
Only the key goes to stdout; on a terminal a warning goes to stderr. It is made (and stored with your
other secrets) if setup has not made one yet. Keep it in files only you can read: the proxy serves
whoever presents it, as long as the connection comes from your own user.

Examples:
  gatepass proxy key
  MY_TOOL_API_KEY=$(gatepass proxy key) my-tool --base-url http://127.0.0.1:14000/v1`,
    )
    .action((...args) => runner(() => import('../commands/proxy.js').then((m) => ({ run: m.runKey })), args));

  proxy
    .command('install')
    .description('install a per-user service that keeps the proxy running (systemd, launchd, Scheduled Task)')
    .addHelpText(
      'after',
      `
Writes and starts a service running \`gatepass proxy start\` for this config file and provider, at
every login: a systemd user unit (~/.config/systemd/user/gatepass-proxy.service; enabled with
\`systemctl --user\`, or only written, with the commands to enable it, when no user manager answers),
a launchd agent on macOS (~/Library/LaunchAgents/dev.gatepass.proxy.plist, \`launchctl bootstrap\`),
or a Scheduled Task "gatepass-proxy" at logon on Windows (\`schtasks /Create /XML\`). It starts
gatepass through the launcher in gatepass' data directory, so a Node upgrade needs only a
\`gatepass setup\`. No secret goes into the service file. A background proxy on the same port is
stopped first. Installing again rewrites it; \`gatepass proxy uninstall\` and teardown remove it.

Examples:
  gatepass proxy install
  gatepass --provider work proxy install`,
    )
    .action((...args) =>
      runner(() => import('../commands/proxy.js').then((m) => ({ run: m.runInstall })), args),
    );

  proxy
    .command('uninstall')
    .description('stop and remove the service `gatepass proxy install` wrote')
    .action((...args) =>
      runner(() => import('../commands/proxy.js').then((m) => ({ run: m.runUninstall })), args),
    );

  proxy
    .command('status')
    .description('show whether the background proxy runs, and where')
    .option('--json', 'machine-readable JSON')
    .action((...args) =>
      runner(() => import('../commands/proxy.js').then((m) => ({ run: m.runStatus })), args),
    );
}
