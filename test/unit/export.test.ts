import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatVariables, instrumentationArgs, shellQuote, tokenVariables } from '../../src/auth/export.js';
import type { CommandProvider, OidcProvider } from '../../src/config/schema.js';

const corp: CommandProvider = {
  type: 'command',
  gateway_url: 'https://llm.corp.example.com',
  api_type: 'OpenAI_Compatible',
  chat_completions_path: '/v1/chat/completions',
  auth: { env_var: 'CORP_TOKEN', token_command: 'x' },
};
const oidc: OidcProvider = { type: 'oidc', gateway_url: 'https://llm.example.com', oidc: {} };

describe('token export', () => {
  it('variables: GATEPASS_TOKEN, the env_var of command providers, provider and gateway', () => {
    expect(tokenVariables('corp', corp, 't1')).toEqual({
      GATEPASS_TOKEN: 't1',
      CORP_TOKEN: 't1',
      GATEPASS_PROVIDER: 'corp',
      GATEPASS_GATEWAY_URL: 'https://llm.corp.example.com',
    });
    expect(Object.keys(tokenVariables('default', oidc, 't2'))).toEqual([
      'GATEPASS_TOKEN',
      'GATEPASS_PROVIDER',
      'GATEPASS_GATEWAY_URL',
    ]);
  });

  it('shell quoting survives a real shell for any value', () => {
    for (const v of ["it's", 'a b', '$(id)', '`x`', 'line\nbreak', '', 'plain-1.2/3', '"q"\\']) {
      const out = execFileSync('/bin/sh', ['-c', `${formatVariables({ V: v }, 'shell')}; printf %s "$V"`], {
        encoding: 'utf8',
      });
      expect(out).toBe(v);
    }
    expect(shellQuote('abc.DEF-1')).toBe('abc.DEF-1');
  });

  it('dotenv and json formats', () => {
    expect(formatVariables({ A: 'x y', B: 'z' }, 'dotenv')).toBe('A="x y"\nB=z');
    expect(JSON.parse(formatVariables({ A: 'x' }, 'json'))).toEqual({ A: 'x' });
  });

  it('instrumentation args: a token per provider, connection info of the selected one', () => {
    expect(
      instrumentationArgs(
        [
          ['corp', 't1'],
          ['default', 't2'],
        ],
        { name: 'corp', provider: corp },
      ),
    ).toEqual([
      ['trailblaze.llm.auth.token.corp', 't1'],
      ['trailblaze.llm.auth.token.default', 't2'],
      ['trailblaze.llm.provider.type', 'openai_compatible'],
      ['trailblaze.llm.provider.base_url', 'https://llm.corp.example.com'],
      ['trailblaze.llm.provider.chat_completions_path', '/v1/chat/completions'],
    ]);
    expect(instrumentationArgs([['default', 't']], { name: 'default', provider: oidc })).toEqual([
      ['trailblaze.llm.auth.token.default', 't'],
      ['trailblaze.llm.provider.base_url', 'https://llm.example.com'],
    ]);
  });
});
