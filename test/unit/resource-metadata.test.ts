/**
 * RFC 9728 pieces of zero-config setup without a network: the well-known URLs tried for a gateway,
 * the `resource_metadata` parameter of a Bearer challenge, and the checks on a metadata document.
 */
import { describe, expect, it } from 'vitest';
import {
  parseResourceMetadata,
  resourceMetadataParam,
  wellKnownUrls,
} from '../../src/auth/oidc/resource-metadata.js';

describe('wellKnownUrls', () => {
  it('a gateway on the host root: one URL', () => {
    expect(wellKnownUrls('https://llm.corp.example')).toEqual([
      'https://llm.corp.example/.well-known/oauth-protected-resource',
    ]);
    expect(wellKnownUrls('https://llm.corp.example/')).toHaveLength(1);
  });

  it('under a path prefix: inserted before the path, then under the prefix, then the host root', () => {
    expect(wellKnownUrls('https://corp.example/llm/v1/')).toEqual([
      'https://corp.example/.well-known/oauth-protected-resource/llm/v1',
      'https://corp.example/llm/v1/.well-known/oauth-protected-resource',
      'https://corp.example/.well-known/oauth-protected-resource',
    ]);
  });
});

describe('resourceMetadataParam', () => {
  it('reads it quoted (with escapes) or bare, among other parameters', () => {
    expect(
      resourceMetadataParam('Bearer realm="x", resource_metadata="https://a.example/prm", scope="llm"'),
    ).toBe('https://a.example/prm');
    expect(resourceMetadataParam('Bearer resource_metadata=https://a.example/prm')).toBe(
      'https://a.example/prm',
    );
    expect(resourceMetadataParam('Bearer resource_metadata="https://a.example/p\\"q"')).toBe(
      'https://a.example/p"q',
    );
  });

  it('nothing without a Bearer challenge or the parameter', () => {
    expect(resourceMetadataParam(null)).toBeUndefined();
    expect(resourceMetadataParam('Bearer realm="x"')).toBeUndefined();
    expect(resourceMetadataParam('Basic resource_metadata="https://a.example/prm"')).toBeUndefined();
    expect(resourceMetadataParam('Bearer not_resource_metadata="https://a.example/prm"')).toBeUndefined();
  });
});

describe('parseResourceMetadata', () => {
  const gw = 'https://corp.example/llm';
  const parse = (doc: unknown) => parseResourceMetadata(doc, gw, `${gw}/prm`, 'well-known');

  it('takes the servers in order, valid scope tokens only, the name without control characters', () => {
    const r = parse({
      resource: 'https://corp.example/llm',
      authorization_servers: ['https://sso.corp.example', 'https://sso2.corp.example/realms/x'],
      scopes_supported: ['llm', 'bad scope', 42],
      resource_name: 'LLM\u001b[2J gateway',
    });
    expect(r.authorizationServers).toEqual([
      'https://sso.corp.example',
      'https://sso2.corp.example/realms/x',
    ]);
    expect(r.scopes).toEqual(['llm']);
    expect(r.name).not.toMatch(/\u001b/);
  });

  it('accepts the resource as the gateway or a path above it on its origin, nothing else', () => {
    const servers = { authorization_servers: ['https://sso.corp.example'] };
    for (const resource of ['https://corp.example', 'https://corp.example/', 'https://corp.example/llm/'])
      expect(parse({ resource, ...servers }).resource).toBe(resource);
    for (const resource of [
      'https://corp.example/ll',
      'https://corp.example/llm/v1',
      'https://other.example/llm',
      'http://corp.example/llm',
      'https://corp.example/llm?x=1',
    ])
      expect(() => parse({ resource, ...servers }), resource).toThrow(/resource/);
  });

  it('refuses unusable authorization servers and documents that are not objects', () => {
    const bad = [
      'http://sso.corp.example',
      'https://user:pw@sso.corp.example',
      'https://sso.corp.example/#frag',
      'https://sso.corp.example/?q=1',
      'https://sso\u0007.corp.example',
      'ftp://sso.corp.example',
      7,
    ];
    for (const s of bad)
      expect(() => parse({ resource: gw, authorization_servers: [s] }), String(s)).toThrow(
        /authorization server/,
      );
    expect(() => parse(['x'])).toThrow(/not a JSON object/);
    expect(() => parse({ resource: gw })).toThrow(/names no authorization server/);
    // Loopback may be plain http (tests, local gateways).
    expect(
      parseResourceMetadata(
        { resource: 'http://127.0.0.1:8080', authorization_servers: ['http://127.0.0.1:9000'] },
        'http://127.0.0.1:8080',
        'x',
        'well-known',
      ).authorizationServers,
    ).toEqual(['http://127.0.0.1:9000']);
  });
});
