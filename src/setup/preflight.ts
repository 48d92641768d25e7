/**
 * Setup's checks of the provider before anything is planned: the quick start's placeholder hosts
 * (example.com / .org / .net, *.invalid) are refused outside `--dry-run` (real tools must not be
 * wired to a host that is not yours), and an OIDC issuer's discovery document is fetched once, even
 * with `--lazy` (non-interactive, short timeout): unreachable is a warning (MDM may run before the
 * VPN is up), an issuer that names itself differently is an error showing both values.
 */
import type { Provider } from '../config/schema.js';
import { ConfigError, UsageError } from '../errors.js';
import { resolveTls, tlsErrorCode } from '../net/tls.js';
import { envBool } from '../util/env.js';
import type { RunEnv } from './common.js';

/** Server or environment text made safe for a terminal line: no control characters, bounded. */
function stripControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 300);
}

/** GATEPASS_ALLOW_PLACEHOLDER_HOSTS=1 lets setup wire placeholder hosts (tests, demos). */
export const ALLOW_PLACEHOLDER_ENV = 'GATEPASS_ALLOW_PLACEHOLDER_HOSTS';
export const DISCOVERY_TIMEOUT_MS = 5000;

/** example.com / example.org / example.net (RFC 2606) and *.invalid (RFC 6761), with subdomains. */
export function isPlaceholderHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return /(^|\.)example\.(com|org|net)$/.test(h) || /(^|\.)invalid$/.test(h);
}

function allowPlaceholders(env: NodeJS.ProcessEnv): boolean {
  return envBool(env, ALLOW_PLACEHOLDER_ENV) === true;
}

function urlsOf(provider: Provider): Array<{ field: string; flag: string; url: string }> {
  const out = [{ field: 'gateway_url', flag: '--gateway-url', url: provider.gateway_url ?? '' }];
  if (provider.type === 'oidc' && provider.oidc.issuer)
    out.push({ field: 'oidc.issuer', flag: '--issuer', url: provider.oidc.issuer });
  return out.filter((u) => u.url);
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/** Outside a dry run, refuse the README's placeholder hosts (unless GATEPASS_ALLOW_PLACEHOLDER_HOSTS=1). */
export function refusePlaceholders(run: RunEnv, provider: Provider, dryRun: boolean): void {
  const allowed = allowPlaceholders(run.env);
  if (dryRun || allowed) return;
  const bad = urlsOf(provider).filter((u) => isPlaceholderHost(hostOf(u.url)));
  if (!bad.length) return;
  const list = bad.map((u) => `${u.field} ${u.url}`).join(' and ');
  throw new UsageError(
    `${list} ${bad.length > 1 ? 'are placeholders' : 'is a placeholder'}: setup would wire your AI tools to a host that is not yours`,
    {
      hint: `put in your own values (${bad.map((u) => `${u.flag} <your ${u.field === 'gateway_url' ? 'gateway URL' : 'issuer'}>`).join(' ')}); add --dry-run to only see what setup would change`,
    },
  );
}

/**
 * Fetch the issuer's discovery document once. Skipped for placeholder hosts (nothing to learn) and
 * for command providers. Unreachable or unreadable: a warning. Another `issuer` inside: an error.
 */
export async function checkIssuer(run: RunEnv, provider: Provider): Promise<void> {
  if (provider.type !== 'oidc' || !provider.oidc.issuer) return;
  const issuer = provider.oidc.issuer;
  if (isPlaceholderHost(hostOf(issuer))) {
    run.logger.debug(`issuer ${issuer} is a placeholder: its discovery document is not fetched`);
    return;
  }
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const tls = resolveTls(provider.tls, run.env);
  let found: unknown;
  try {
    const fetcher = tls ? (await import('../net/tls-fetch.js')).tlsFetch(tls) : fetch;
    const res = await fetcher(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      run.logger.warn(
        `the identity provider's discovery document ${url} answered HTTP ${res.status}; check --issuer (sign-in will fail if it is wrong)`,
      );
      return;
    }
    found = ((await res.json()) as { issuer?: unknown }).issuer;
  } catch (err) {
    const tlsCode = tlsErrorCode(err);
    const why = tlsCode ?? (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    run.logger.warn(
      `could not reach the identity provider at ${url} (${why}); setup goes on, and the first sign-in will need it (VPN?)`,
    );
    return;
  }
  if (found !== issuer) {
    const theirs = typeof found === 'string' ? stripControl(found) : String(found);
    throw new ConfigError(
      'E_CONFIG_INVALID',
      `oidc.issuer is ${issuer}, but the identity provider's discovery document names its issuer ${theirs}: sign-in would fail the issuer check`,
      {
        field: 'oidc.issuer',
        hint:
          typeof found === 'string'
            ? `use the issuer exactly as the IdP names it: --issuer ${theirs}`
            : 'check --issuer: the document has no valid "issuer"',
      },
    );
  }
}

/** After a dry run with placeholder hosts: the command to run with the user's own values. */
export function placeholderNote(provider: Provider): string | undefined {
  const bad = urlsOf(provider).filter((u) => isPlaceholderHost(hostOf(u.url)));
  if (!bad.length) return undefined;
  return `${bad.map((u) => new URL(u.url).hostname).join(' and ')} ${bad.length > 1 ? 'are placeholders' : 'is a placeholder'}: to wire your tools, run setup again with your own values and without --dry-run, e.g. \`gatepass setup --gateway-url https://llm.yourcompany.com --issuer https://sso.yourcompany.com --client-id <client id>\``;
}
