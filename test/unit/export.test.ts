import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatVariables, instrumentationArgs, shellQuote, tokenVariables } from '../../src/auth/export.js';
import type { CommandProvider, OidcProvider } from '../../src/config/schema.js';
import { programCaFile } from '../../src/net/program-ca.js';

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

  it('a CA bundle for programs: the configured file, or both bundles joined when one is already set', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatepass-ca-'));
    try {
      const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`;
      writeFileSync(path.join(dir, 'corp.pem'), pem('Q09SUA=='));
      writeFileSync(path.join(dir, 'mine.pem'), pem('TUlORQ=='));
      const tls = { ca_file: path.join(dir, 'corp.pem'), skip_verify: true };
      expect(await programCaFile(undefined, {}, dir)).toBeUndefined();
      expect(await programCaFile(tls, {}, dir)).toBe(tls.ca_file);
      expect(await programCaFile(tls, { NODE_EXTRA_CA_CERTS: tls.ca_file }, dir)).toBe(tls.ca_file);
      const joined = await programCaFile(tls, { NODE_EXTRA_CA_CERTS: path.join(dir, 'mine.pem') }, dir);
      expect(joined).toMatch(/extra-ca-[0-9a-f]{12}\.pem$/);
      const text = readFileSync(joined!, 'utf8');
      expect(text).toContain('TUlORQ==');
      expect(text).toContain('Q09SUA==');
      expect(statSync(joined!).mode & 0o777).toBe(0o600);
      // An unreadable bundle of the user's is what Node would ignore: ours alone.
      expect(await programCaFile(tls, { NODE_EXTRA_CA_CERTS: path.join(dir, 'missing.pem') }, dir)).toBe(
        tls.ca_file,
      );
      const vars = tokenVariables('default', { ...oidc, tls }, 't3', { extraCaFile: tls.ca_file });
      expect(vars['NODE_EXTRA_CA_CERTS']).toBe(tls.ca_file);
      // skip_verify is a local-development switch for gatepass itself: never handed on.
      expect(Object.keys(vars)).not.toContain('NODE_TLS_REJECT_UNAUTHORIZED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
    expect(formatVariables({ A: 'x y', B: 'z' }, 'dotenv')).toBe("A='x y'\nB=z");
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
