/** Client authentication with a client secret: basic or post, chosen from the IdP's discovery. */
import { describe, expect, it } from 'vitest';
import { clientSecretKey, secretAuth } from '../../src/auth/oidc/client-secret.js';

function apply(methods: string[] | undefined) {
  const body = new URLSearchParams();
  const headers = new Headers();
  const as = {
    issuer: 'https://sso.example.com',
    ...(methods ? { token_endpoint_auth_methods_supported: methods } : {}),
  };
  secretAuth('s3cr3t/+&')(as, { client_id: 'cid' }, body, headers);
  return { body, headers };
}

describe('secretAuth', () => {
  it('uses client_secret_basic when listed or when nothing is listed (the RFC 8414 default)', () => {
    for (const methods of [
      undefined,
      ['client_secret_basic'],
      ['client_secret_post', 'client_secret_basic'],
    ]) {
      const { body, headers } = apply(methods);
      expect(headers.get('authorization')).toMatch(/^Basic /);
      expect(body.has('client_secret')).toBe(false);
    }
  });
  it('uses client_secret_post when discovery lists only that', () => {
    const { body, headers } = apply(['none', 'client_secret_post']);
    expect(headers.get('authorization')).toBeNull();
    expect(body.get('client_id')).toBe('cid');
    expect(body.get('client_secret')).toBe('s3cr3t/+&');
  });
  it('keys are per issuer and client id', () => {
    expect(clientSecretKey('https://a', 'x')).toMatch(/^LLM_OIDC_CS_[0-9a-f]{8}$/);
    expect(clientSecretKey('https://a', 'x')).not.toBe(clientSecretKey('https://a', 'y'));
  });
});
