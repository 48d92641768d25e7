import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatVariables, instrumentationArgs, shellQuote, tokenVariables } from '../../src/auth/export.js';
import type { CommandProvider, OidcProvider } from '../../src/config/schema.js';
import type { GatepassError } from '../../src/errors.js';
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

  // Values a hostile config, gateway or token could hold: each must come back byte for byte when
  // the output is sourced, or be refused — never run a command or add a variable.
  const HOSTILE = [
    'tok-$(touch PWNED)',
    'tok-`touch PWNED`',
    'tok;touch PWNED',
    'https://gw.example.com/$(touch PWNED)',
    "https://gw.example.com/it's'$(touch PWNED)'",
    'a"b$HOME\\"$(touch PWNED)"',
    'x\nINJECTED=1',
    'x\rINJECTED=1',
    'tok\u001b]0;PWNED\u0007',
    'a b # comment',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, literally
    '${HOME}',
    '\\$HOME',
    '',
  ];

  it("dotenv: every value survives `source` in bash and node's dotenv parser exactly, or is refused", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatepass-dotenv-'));
    try {
      for (const v of HOSTILE) {
        let out: string;
        try {
          out = formatVariables({ GATEPASS_TOKEN: v, OTHER: 'kept' }, 'dotenv');
        } catch (err) {
          expect((err as GatepassError).code, JSON.stringify(v)).toBe('E_CONFIG_INVALID');
          expect((err as Error).message).toMatch(/cannot write GATEPASS_TOKEN in dotenv format/);
          expect(/[\u0000-\u001f']/.test(v), JSON.stringify(v)).toBe(true);
          continue;
        }
        expect(out.split('\n'), JSON.stringify(v)).toHaveLength(2);
        writeFileSync(path.join(dir, '.env'), `${out}\n`);
        const sourced = execFileSync(
          'bash',
          ['-c', 'set -a; source ./.env; printf %s "$GATEPASS_TOKEN"; env | grep -c ^INJECTED= || true'],
          { cwd: dir, encoding: 'utf8' },
        );
        expect(sourced, JSON.stringify(v)).toBe(`${v}0\n`);
        expect(existsSync(path.join(dir, 'PWNED')), JSON.stringify(v)).toBe(false);
        expect(parseEnv(out), JSON.stringify(v)).toEqual({ GATEPASS_TOKEN: v, OTHER: 'kept' });
      }
      // What has to be refused is refused.
      for (const v of ['x\nINJECTED=1', "it's", 'tok\u001b]0;PWNED\u0007']) {
        expect(() => formatVariables({ V: v }, 'dotenv'), JSON.stringify(v)).toThrow(/cannot write V/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('instrumentation args: a value a shell or a line reader would interpret is refused', () => {
    for (const v of HOSTILE) {
      const inert = /^[A-Za-z0-9_@%+=:,./~-]+$/.test(v);
      const call = () => instrumentationArgs([['corp', v]], { name: 'corp', provider: corp });
      if (inert) expect(call()[0]).toEqual(['trailblaze.llm.auth.token.corp', v]);
      else
        expect(call, JSON.stringify(v)).toThrow(
          /cannot write trailblaze\.llm\.auth\.token\.corp in instrumentation-args format/,
        );
      if (v === '') continue; // no gateway_url: no base_url arg
      const url = () =>
        instrumentationArgs([['corp', 't']], { name: 'corp', provider: { ...corp, gateway_url: v } });
      if (inert) expect(url()).toContainEqual(['trailblaze.llm.provider.base_url', v]);
      else expect(url, JSON.stringify(v)).toThrow(/trailblaze\.llm\.provider\.base_url/);
    }
  });
});
