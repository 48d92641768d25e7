/**
 * mergeManaged / unmergeManaged (src/config/managed.ts): a command changing the merged view writes
 * back only the user's own values (a login's token_ref on a provider only the managed file defines),
 * never a managed value, and a changed locked value is refused.
 */
import { describe, expect, it } from 'vitest';
import { type ManagedLayer, mergeManaged, unmergeManaged } from '../../src/config/managed.js';
import { emptyConfig, type OidcProvider } from '../../src/config/schema.js';

const managed: ManagedLayer = {
  file: '/etc/gatepass/config.yaml',
  source: { size: 1, mtimeMs: 1, hash: '0' },
  values: {
    default_provider: 'corp',
    providers: {
      corp: {
        type: 'oidc',
        gateway_url: 'https://llm.corp.example.com',
        oidc: { issuer: 'https://sso.corp.example.com', client_id: 'gatepass' },
      },
    },
  },
  locked: ['gateway_url'],
};

describe('managed layer merge', () => {
  it('a token_ref recorded on the merged view lands alone in the user file', () => {
    const user = emptyConfig();
    const before = mergeManaged(user, managed);
    expect(before.default_provider).toBe('corp');
    const after = structuredClone(before);
    (after.providers['corp'] as OidcProvider).token_ref = { secret_key: 'k1' };
    after.configured_tools.push({ tool: 'codex', mode: 'native', provider: 'corp' } as never);
    const written = unmergeManaged(user, before, after, managed);
    expect(written.providers).toEqual({ corp: { token_ref: { secret_key: 'k1' } } });
    expect(written.default_provider).toBe('default'); // the user's own (normalised) value
    expect(written.configured_tools).toHaveLength(1);
    // Read back: the managed values are laid over it again.
    const again = mergeManaged(written, managed).providers['corp'] as OidcProvider;
    expect(again.gateway_url).toBe('https://llm.corp.example.com');
    expect(again.token_ref).toEqual({ secret_key: 'k1' });
  });

  it('refuses a changed locked value and keeps an unlocked user change (the managed value still wins)', () => {
    const user = emptyConfig();
    const before = mergeManaged(user, managed);
    const locked = structuredClone(before);
    locked.providers['corp']!.gateway_url = 'https://evil.example.com';
    expect(() => unmergeManaged(user, before, locked, managed)).toThrow(
      /gateway_url is locked by your organisation's managed config \/etc\/gatepass\/config\.yaml/,
    );
    const unlocked = structuredClone(before);
    (unlocked.providers['corp'] as OidcProvider).oidc.client_id = 'mine';
    const written = unmergeManaged(user, before, unlocked, managed);
    expect(written.providers).toEqual({ corp: { oidc: { client_id: 'mine' } } });
    expect((mergeManaged(written, managed).providers['corp'] as OidcProvider).oidc.client_id).toBe(
      'gatepass',
    );
  });
});
