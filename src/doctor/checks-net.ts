/**
 * Doctor's network checks, in the order a request travels: which egress proxy each host goes
 * through (and whether it accepts connections), DNS, TCP, TLS trust, the IdP's discovery document
 * (issuer match, scopes_supported). Hosts reached through an egress proxy are resolved and
 * connected by the proxy, so DNS and TCP are the proxy's job there; TLS and discovery go through it.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { effectiveScopes, type OidcProvider } from '../config/schema.js';
import { describeError } from '../errors.js';
import { displayProxy, EgressProxyError, egressHint } from '../net/egress.js';
import { tlsErrorCode, tlsHint } from '../net/tls.js';
import { stripControl } from '../redact.js';
import { hintCommand } from '../setup/common.js';
import {
  type Check,
  type CheckResult,
  type DoctorContext,
  type DoctorHost,
  fail,
  hostLabel,
  pass,
  skip,
  warn,
} from './context.js';

/** Server or error text, safe for one terminal line. */
export const clean = (text: unknown, max = 160): string =>
  stripControl(String(text), { singleLine: true }).slice(0, max);

const portOf = (url: URL): number => (url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${Math.round(timeoutMs / 1000)} s`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? clean(err.message)));
  });
}

/** `p`, or an ETIMEOUT error after `ms` (the timer is cleared either way). */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const proxied = (d: DoctorContext, h: DoctorHost): string | undefined => d.plan?.proxyFor(h.url);
const summarize = (parts: string[]): string => parts.join('; ');

export const checkEgress: Check = async (d) => {
  if (!d.plan || d.hosts.length === 0) return skip('no provider to check');
  const source = d.plan.source === 'config' ? 'network.proxy' : 'HTTPS_PROXY/HTTP_PROXY';
  const routes = d.hosts.map((h) => {
    const p = proxied(d, h);
    return `${hostLabel(h)} via ${p ? `${displayProxy(p)} (${source})` : 'direct'}`;
  });
  const used = [...new Set(d.hosts.map((h) => proxied(d, h)).filter((p): p is string => Boolean(p)))];
  for (const p of used) {
    const url = new URL(p);
    const why = await tcpConnect(url.hostname, portOf(url), d.timeoutMs);
    if (why) {
      for (const h of d.hosts) if (proxied(d, h) === p) d.unreachable.add(h.url.origin);
      return fail(
        `${summarize(routes)}; the proxy ${displayProxy(p)} does not accept connections (${why})`,
        egressHint(d.plan.source),
      );
    }
  }
  return pass(summarize(routes));
};

export const checkDns: Check = async (d) => {
  if (d.hosts.length === 0) return skip('no provider to check');
  const parts: string[] = [];
  const bad: string[] = [];
  for (const h of d.hosts) {
    const name = h.url.hostname.replace(/^\[|\]$/g, '');
    if (proxied(d, h)) parts.push(`${hostLabel(h)}: resolved by the egress proxy`);
    else if (net.isIP(name)) parts.push(`${hostLabel(h)}: an IP address`);
    else {
      try {
        const addrs = await withTimeout(lookup(name, { all: true }), d.timeoutMs);
        parts.push(`${hostLabel(h)} → ${addrs.map((a) => a.address).join(', ')}`);
      } catch (err) {
        d.unreachable.add(h.url.origin);
        bad.push(
          `${hostLabel(h)}: cannot resolve ${name} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    }
  }
  if (bad.length) {
    return fail(
      summarize(bad),
      'check the URL (`gatepass config show`), your DNS and VPN; behind an egress proxy set HTTPS_PROXY or `gatepass config set --egress-proxy`',
    );
  }
  return pass(summarize(parts));
};

export const checkTcp: Check = async (d) => {
  if (d.hosts.length === 0) return skip('no provider to check');
  const parts: string[] = [];
  const bad: string[] = [];
  for (const h of d.hosts) {
    if (d.unreachable.has(h.url.origin)) parts.push(`${hostLabel(h)}: not checked`);
    else if (proxied(d, h)) parts.push(`${hostLabel(h)}: through the egress proxy`);
    else {
      const why = await tcpConnect(h.url.hostname, portOf(h.url), d.timeoutMs);
      if (why) {
        d.unreachable.add(h.url.origin);
        bad.push(`${hostLabel(h)}: cannot connect to port ${portOf(h.url)} (${why})`);
      } else parts.push(`${hostLabel(h)}: port ${portOf(h.url)} open`);
    }
  }
  if (bad.length) {
    return fail(
      summarize(bad),
      'check the URL (`gatepass config show`), that the server is up, and your network, VPN or firewall',
    );
  }
  return pass(summarize(parts));
};

/** Why a request to `url` failed, for one line (TLS code, the proxy, the network code). */
export function requestFailure(err: unknown): { what: string; tls?: string; egress?: EgressProxyError } {
  const tls = tlsErrorCode(err);
  if (tls) return { what: `TLS certificate verification failed (${tls})`, tls };
  let cur: unknown = err;
  for (let i = 0; i < 8 && cur; i++) {
    if (cur instanceof EgressProxyError) return { what: clean(cur.message), egress: cur };
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_\w+)$/.test(code)) return { what: code };
    if ((cur as Error).name === 'TimeoutError') return { what: 'no answer in time' };
    cur = (cur as { cause?: unknown }).cause;
  }
  return { what: describeError(err) };
}

export const checkTls: Check = async (d) => {
  const https = d.hosts.filter((h) => h.url.protocol === 'https:');
  if (https.length === 0)
    return skip(d.hosts.length ? 'no https host (plain http on loopback)' : 'no provider to check');
  if (d.tlsProblem)
    return fail(d.tlsProblem, 'fix the path: `gatepass config set --ca-file /path/to/ca.pem`');
  const parts: string[] = [];
  const bad: CheckResult[] = [];
  const trust = d.tls?.caFile ? `system roots + ${d.tls.caFile}` : 'system roots';
  for (const h of https) {
    if (d.unreachable.has(h.url.origin)) {
      parts.push(`${hostLabel(h)}: not checked`);
      continue;
    }
    try {
      const res = await d.fetch(h.url.origin + '/', {
        method: 'GET',
        signal: AbortSignal.timeout(d.timeoutMs),
      });
      await res.body?.cancel();
      parts.push(
        `${hostLabel(h)}: trusted${d.tls?.rejectUnauthorized === false ? ' (verification OFF)' : ` (${trust})`}`,
      );
    } catch (err) {
      d.unreachable.add(h.url.origin);
      const f = requestFailure(err);
      bad.push(
        f.tls
          ? fail(`${hostLabel(h)}: ${f.what}`, tlsHint())
          : fail(
              `${hostLabel(h)}: ${f.what}`,
              f.egress ? egressHint(f.egress.source) : 'check your network and the URL',
            ),
      );
    }
  }
  if (bad.length) return fail(summarize(bad.map((b) => b.summary)), bad[0]!.fix!);
  if (https.every((h) => d.unreachable.has(h.url.origin))) return skip('not reachable (see above)');
  const off = d.tls?.rejectUnauthorized === false;
  return off
    ? warn(
        summarize(parts),
        'TLS verification is off (local development only): use --ca-file for a corporate CA',
      )
    : pass(summarize(parts));
};

export const checkDiscovery: Check = async (d) => {
  const p = d.provider;
  if (p?.type !== 'oidc') return skip(p ? 'command provider: no OIDC discovery' : 'no provider to check');
  const issuer = p.oidc.issuer!;
  const origin = new URL(issuer).origin;
  if (d.unreachable.has(origin)) {
    d.discovery = null;
    return skip('the IdP is not reachable (see above)');
  }
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let doc: Record<string, unknown>;
  try {
    const res = await d.fetch(url, {
      signal: AbortSignal.timeout(d.timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!res.ok) {
      await res.body?.cancel();
      d.discovery = null;
      return fail(
        `${url} answered HTTP ${res.status}${res.statusText ? ` ${clean(res.statusText, 60)}` : ''}`,
        "check the issuer URL (`gatepass config show`): it must be the IdP's issuer, without /.well-known",
      );
    }
    doc = (await res.json()) as Record<string, unknown>;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
  } catch (err) {
    d.discovery = null;
    const f = requestFailure(err);
    return fail(
      `cannot read ${url}: ${f.what}`,
      f.tls ? tlsHint() : 'check the issuer URL (`gatepass config show`)',
    );
  }
  d.discovery = { issuer: doc['issuer'], scopes_supported: doc['scopes_supported'] };
  if (doc['issuer'] !== issuer) {
    const named = typeof doc['issuer'] === 'string' ? clean(doc['issuer'], 200) : '(none)';
    return fail(
      `the discovery document names issuer ${named}, the config says ${issuer}`,
      typeof doc['issuer'] === 'string' && /^https?:\/\//.test(named)
        ? `\`${hintCommand(d.run, d.providerName, d.config!, `config set --issuer ${named}`)}\` (if that is your IdP)`
        : 'this is not an OIDC issuer: check the issuer URL',
    );
  }
  return pass(`issuer ${issuer} matches its discovery document`);
};

export const checkScopes: Check = async (d) => {
  const p = d.provider;
  if (p?.type !== 'oidc') return skip(p ? 'command provider: no OIDC scopes' : 'no provider to check');
  if (!d.discovery) return skip('no discovery document (see above)');
  const supported = Array.isArray(d.discovery.scopes_supported)
    ? d.discovery.scopes_supported.filter((s): s is string => typeof s === 'string')
    : undefined;
  const scopes = effectiveScopes(p as OidcProvider, supported ?? null);
  const which = p.oidc.scopes?.length ? 'configured' : 'default';
  const line = `${which} scopes ${scopes.join(' ')}`;
  if (!supported) return pass(`${line} (the IdP lists no scopes_supported)`);
  const setScopes = hintCommand(d.run, d.providerName, d.config!, 'config set --scopes …');
  if (scopes.includes('offline_access') && !supported.includes('offline_access')) {
    return fail(
      `${line}: the IdP does not offer offline_access (it rejects the login)`,
      `drop offline_access: \`${setScopes}\` (Google: oidc.auth_params access_type=offline)`,
    );
  }
  const missing = scopes.filter((s) => !supported.includes(s));
  if (missing.length) {
    return warn(
      `${line}: not in the IdP's scopes_supported: ${missing.map((s) => clean(s, 80)).join(' ')}`,
      `fine for API scopes the IdP does not list (Entra api://…/.default); otherwise \`${setScopes}\``,
    );
  }
  const offline = scopes.includes('offline_access') || p.oidc.auth_params?.['access_type'] === 'offline';
  if (!offline) {
    return warn(
      `${line}: no offline_access, so possibly no refresh token (a new login when the token expires)`,
      'add offline_access to oidc.scopes if the IdP supports refresh tokens',
    );
  }
  return pass(`${line}, all offered by the IdP`);
};
