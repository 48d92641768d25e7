/**
 * The syntax of the egress proxy settings (`network.proxy`, `network.no_proxy` and NO_PROXY): the
 * NO_PROXY rule parser and the checks config validation runs. Pure; net/egress.ts decides with them
 * which requests go through which proxy (and re-exports them).
 */
import net from 'node:net';

export interface NoProxyRule {
  /** Lower-case host name without a leading dot, or undefined for an IP/CIDR rule. */
  host?: string;
  /** An IP address or CIDR block. */
  block?: net.BlockList;
  port?: number;
  any?: boolean;
}

/** Parse a NO_PROXY value (comma or space separated). Unparsable entries are ignored. */
export function parseNoProxy(text: string | undefined): NoProxyRule[] {
  const rules: NoProxyRule[] = [];
  for (const raw of (text ?? '').split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') {
      rules.push({ any: true });
      continue;
    }
    let port: number | undefined;
    // host:port, [v6]:port; a bare IPv6 address has several colons and no port.
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracket) {
      entry = bracket[1]!;
      if (bracket[2]) port = Number(bracket[2]);
    } else if ((entry.match(/:/g) ?? []).length === 1) {
      const [h, p] = entry.split(':');
      if (!/^\d+$/.test(p!)) continue;
      entry = h!;
      port = Number(p);
    }
    const withPort = (r: NoProxyRule): NoProxyRule => (port === undefined ? r : { ...r, port });
    const [addr, prefix] = entry.split('/');
    const family = net.isIP(addr!);
    if (family) {
      const block = new net.BlockList();
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) block.addAddress(addr!, type);
      else {
        const bits = Number(prefix);
        if (!/^\d+$/.test(prefix) || bits > (family === 6 ? 128 : 32)) continue;
        block.addSubnet(addr!, bits, type);
      }
      rules.push(withPort({ block }));
      continue;
    }
    const host = entry.replace(/^\*?\./, '').replace(/\.$/, '');
    if (host && /^[a-z0-9.-]+$/.test(host)) rules.push(withPort({ host }));
  }
  return rules;
}

/** Why a `network.proxy` value is unusable, or undefined. */
export function checkProxyUrl(value: string): string | undefined {
  if (value === 'direct') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a proxy URL such as http://proxy.example.com:3128, or "direct"';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `scheme "${url.protocol.replace(/:$/, '')}" is not supported; use http:// or https://`;
  }
  if (!url.hostname) return 'has no host';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return 'must be just scheme://[user:password@]host:port';
  }
  return undefined;
}

/** Why a `network.no_proxy` value is unusable, or undefined. */
export function checkNoProxy(value: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain control characters';
  const entries = value.split(/[\s,]+/).filter(Boolean);
  const bad = entries.find((e) => parseNoProxy(e).length === 0);
  return bad === undefined
    ? undefined
    : `${JSON.stringify(bad)} is not a host, .domain, IP address, CIDR block or *`;
}
