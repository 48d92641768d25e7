/**
 * Egress proxy decisions: NO_PROXY matching against a table (domains, .suffix, *.suffix, IPs, CIDR,
 * ports, *), the environment's upper/lower-case variables, network.proxy / network.no_proxy winning
 * over them, loopback never proxied, and proxy credentials never shown.
 */
import { describe, expect, it } from 'vitest';
import {
  checkNoProxy,
  checkProxyUrl,
  displayProxy,
  EgressProxyError,
  egressPlan,
  matchesNoProxy,
  parseNoProxy,
} from '../../src/net/egress.js';
import { redact } from '../../src/redact.js';

const NO_PROXY =
  'corp.example, .internal.test, *.svc.local, 10.0.0.0/8, 192.168.1.7, fd00::/8, api.x.test:8443';

describe('NO_PROXY matching', () => {
  const rules = parseNoProxy(NO_PROXY);
  const table: Array<[host: string, port: number, bypass: boolean]> = [
    ['corp.example', 443, true],
    ['idp.corp.example', 443, true],
    ['a.b.corp.example', 443, true],
    ['CORP.EXAMPLE.', 443, true],
    ['notcorp.example', 443, false],
    ['corp.example.com', 443, false],
    ['internal.test', 443, true],
    ['sso.internal.test', 443, true],
    ['xinternal.test', 443, false],
    ['svc.local', 443, true],
    ['gw.svc.local', 443, true],
    ['10.1.2.3', 443, true],
    ['11.1.2.3', 443, false],
    ['192.168.1.7', 443, true],
    ['192.168.1.8', 443, false],
    ['[fd00::1]', 443, true],
    ['[fe80::1]', 443, false],
    ['api.x.test', 8443, true],
    ['api.x.test', 443, false],
    ['llm.example.com', 443, false],
  ];
  it.each(table)('%s:%i → bypass %s', (host, port, bypass) => {
    expect(matchesNoProxy(rules, host, port)).toBe(bypass);
  });

  it('* exempts everything; empty and junk entries exempt nothing', () => {
    expect(matchesNoProxy(parseNoProxy('*'), 'anything.example', 443)).toBe(true);
    expect(matchesNoProxy(parseNoProxy(''), 'anything.example', 443)).toBe(false);
    expect(matchesNoProxy(parseNoProxy(' , ,'), 'anything.example', 443)).toBe(false);
    expect(parseNoProxy('10.0.0.0/99,host:port,')).toEqual([]);
  });
});

describe('egressPlan', () => {
  const https = 'https://llm.example.com/v1';
  it('reads https_proxy / HTTPS_PROXY (lower case first), falling back to the http proxy', () => {
    expect(egressPlan(undefined, { HTTPS_PROXY: 'http://up:3128' }).proxyFor(https)).toBe('http://up:3128');
    expect(
      egressPlan(undefined, { https_proxy: 'http://low:3128', HTTPS_PROXY: 'http://up:3128' }).proxyFor(
        https,
      ),
    ).toBe('http://low:3128');
    expect(egressPlan(undefined, { HTTP_PROXY: 'http://plain:3128' }).proxyFor(https)).toBe(
      'http://plain:3128',
    );
    expect(
      egressPlan(undefined, { http_proxy: 'http://plain:3128' }).proxyFor('http://llm.example.com'),
    ).toBe('http://plain:3128');
    const none = egressPlan(undefined, {});
    expect(none.active).toBe(false);
    expect(none.proxyFor(https)).toBeUndefined();
    expect(egressPlan(undefined, { HTTPS_PROXY: '' }).active).toBe(false);
  });

  it('NO_PROXY / no_proxy exempt hosts; loopback is never proxied', () => {
    const env = { HTTPS_PROXY: 'http://p:3128', HTTP_PROXY: 'http://p:3128', no_proxy: '.example.com' };
    const plan = egressPlan(undefined, env);
    expect(plan.proxyFor(https)).toBeUndefined();
    expect(plan.proxyFor('https://sso.other.test')).toBe('http://p:3128');
    for (const u of [
      'http://127.0.0.1:8080',
      'https://localhost/x',
      'http://[::1]:99/',
      'https://127.5.6.7',
    ]) {
      expect(plan.proxyFor(u)).toBeUndefined();
    }
    expect(
      egressPlan(undefined, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: '*' }).proxyFor(https),
    ).toBeUndefined();
  });

  it('network.proxy wins over the environment; "direct" ignores it; network.no_proxy replaces NO_PROXY', () => {
    const env = { HTTPS_PROXY: 'http://env:3128', NO_PROXY: 'llm.example.com' };
    const cfg = egressPlan({ proxy: 'http://cfg:8080' }, env);
    expect(cfg.source).toBe('config');
    expect(cfg.proxyFor('https://sso.example.org')).toBe('http://cfg:8080');
    expect(cfg.proxyFor(https)).toBeUndefined(); // the environment's NO_PROXY still applies
    expect(egressPlan({ proxy: 'http://cfg:8080', no_proxy: 'other.test' }, env).proxyFor(https)).toBe(
      'http://cfg:8080',
    );
    const direct = egressPlan({ proxy: 'direct' }, env);
    expect(direct.active).toBe(false);
    expect(direct.proxyFor('https://sso.example.org')).toBeUndefined();
  });
});

describe('proxy credentials never show', () => {
  it('displayProxy masks them; redact() removes them from any text', () => {
    expect(displayProxy('http://alice:pa55w0rd@proxy.corp:3128')).toBe('http://***@proxy.corp:3128');
    expect(displayProxy('http://proxy.corp:3128/')).toBe('http://proxy.corp:3128');
    expect(displayProxy('direct')).toBe('direct');
    egressPlan(undefined, { HTTPS_PROXY: 'http://bob:Zq9-secret-77@proxy.corp:3128' });
    const leaked = redact('connect to http://bob:Zq9-secret-77@proxy.corp:3128 failed; Zq9-secret-77');
    expect(leaked).not.toContain('Zq9-secret-77');
    expect(redact('via https://u:p4ssw0rd@h:1 x')).not.toContain('p4ssw0rd');
  });

  it('EgressProxyError names the proxy and the tunnel status, not credentials', () => {
    const cause = new Error('Proxy response (407) !== 200 when HTTP Tunneling');
    const e = new EgressProxyError(
      displayProxy('http://u:hunter22@p:3128'),
      new TypeError('fetch failed', { cause }),
    );
    expect(e.message).toBe(
      'could not get through the proxy http://***@p:3128 (the proxy answered the tunnel request with HTTP 407)',
    );
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(
      new EgressProxyError('http://p:3128', new TypeError('fetch failed', { cause: refused })).reason,
    ).toBe('ECONNREFUSED');
  });
});

describe('validation of network.* values', () => {
  it.each([
    ['http://proxy:3128', undefined],
    ['https://u:p@proxy.corp:443', undefined],
    ['direct', undefined],
    ['socks5://proxy:1080', /not supported/],
    ['proxy:3128', /not supported|proxy URL/],
    ['http://proxy:3128/path', /just scheme/],
  ])('proxy %s', (value, problem) => {
    const r = checkProxyUrl(value);
    if (problem) expect(r).toMatch(problem);
    else expect(r).toBeUndefined();
  });
  it('no_proxy entries', () => {
    expect(checkNoProxy('.corp, 10.0.0.0/8, *')).toBeUndefined();
    expect(checkNoProxy('good.test, 10.0.0.0/77')).toMatch(/"10.0.0.0\/77" is not/);
  });
});
