/**
 * `gatepass completion SHELL`: the scripts the built CLI prints, loaded into real shells — bash
 * (always), zsh and fish when installed (Debian packages `zsh`, `fish`) — and asked to complete;
 * PowerShell (not packaged by Debian) is checked structurally against the command tree.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { makeTempHome, runGatepass, type TempHome } from '../helpers/cli.js';

let t: TempHome;
const scripts: Record<string, string> = {};
const files: Record<string, string> = {};

function has(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  t = makeTempHome();
  for (const shell of ['bash', 'zsh', 'fish', 'powershell']) {
    const r = await runGatepass(['completion', shell], { env: t.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    scripts[shell] = r.stdout;
    files[shell] = path.join(t.home, `gatepass.${shell}`);
    writeFileSync(files[shell]!, r.stdout);
  }
}, 60_000);
afterAll(() => t.cleanup());

/** Complete `words` (the last one being completed) with the bash script loaded. */
function bashComplete(...words: string[]): string[] {
  const script = `
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=()
_gatepass
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync(
    'bash',
    ['--norc', '--noprofile', '-c', script, 'bash', files['bash']!, ...words],
    {
      encoding: 'utf8',
      cwd: t.home,
    },
  );
  return out.split('\n').filter(Boolean);
}

describe('bash', () => {
  it('registers the completion function for gatepass', () => {
    const out = execFileSync(
      'bash',
      ['--norc', '--noprofile', '-c', 'source "$1"; complete -p gatepass', 'bash', files['bash']!],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('complete -o default -F _gatepass gatepass');
  });

  it('completes commands, subcommands, options, option values and arguments', () => {
    expect(bashComplete('gatepass', 'se')).toEqual(['setup']);
    expect(bashComplete('gatepass', 'proxy', 'st')).toEqual(['start', 'stop', 'status']);
    expect(bashComplete('gatepass', 'setup', '--dr')).toEqual(['--dry-run']);
    // Global options after a value-taking global option and a subcommand path.
    expect(bashComplete('gatepass', '-p', 'corp', 'proxy', 'start', '--p')).toEqual(['--port', '--provider']);
    expect(bashComplete('gatepass', 'setup', '--tools', 'vs')).toEqual(['vscode', 'vscode-insiders']);
    expect(bashComplete('gatepass', 'token', '--format', '')).toEqual(['token', 'json', 'exec-credential']);
    expect(bashComplete('gatepass', 'teardown', 'cl')).toEqual(['claude', 'claude-desktop']);
    expect(bashComplete('gatepass', 'completion', '')).toEqual(['bash', 'zsh', 'fish', 'powershell']);
    expect(bashComplete('gatepass', 'help', 'pr')).toEqual(['proxy']);
    expect(bashComplete('gatepass', 'config', 'unset', 'oidc.cli')).toEqual([
      'oidc.client_id',
      'oidc.client_secret',
    ]);
    // A value-taking option's argument is not taken for a command: `--provider setup` is no path.
    expect(bashComplete('gatepass', '--provider', 'setup', 'st')).toEqual(['status']);
  });

  it('completes file names for file options', () => {
    writeFileSync(path.join(t.home, 'corp-ca.pem'), '');
    expect(bashComplete('gatepass', 'setup', '--ca-file', 'corp-')).toEqual(['corp-ca.pem']);
    expect(bashComplete('gatepass', '--config', 'corp-')).toEqual(['corp-ca.pem']);
  });
});

describe.skipIf(!has('zsh'))('zsh', () => {
  it('is valid zsh (zsh -n) and completes through the same table', () => {
    execFileSync('zsh', ['-n', files['zsh']!]);
    const run = (current: number, ...words: string[]) =>
      execFileSync(
        'zsh',
        [
          '-f',
          '-c',
          'source "$1"; shift; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; _files() { print -r FILES; }; CURRENT=$1; shift; words=("$@"); _gatepass',
          'zsh',
          files['zsh']!,
          String(current),
          ...words,
        ],
        { encoding: 'utf8' },
      )
        .split('\n')
        .filter(Boolean);
    // compadd gets every candidate; zsh itself filters them by the typed prefix.
    expect(run(2, 'gatepass', 'se')).toContain('setup');
    expect(run(3, 'gatepass', 'proxy', 'st')).toEqual([
      'start',
      'stop',
      'key',
      'install',
      'uninstall',
      'status',
      'help',
    ]);
    expect(run(4, 'gatepass', 'setup', '--tools', 'v')).toContain('vscode-insiders');
    expect(run(3, 'gatepass', '--config', 'x')).toEqual(['FILES']);
  });
});

describe.skipIf(!has('fish'))('fish', () => {
  it('is valid fish (fish -n) and completes in a real fish', () => {
    execFileSync('fish', ['-n', files['fish']!]);
    const complete = (line: string) =>
      execFileSync(
        'fish',
        ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', files['fish']!, line],
        {
          encoding: 'utf8',
        },
      )
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    expect(complete('gatepass se')).toEqual(['setup']);
    expect(complete('gatepass proxy st')).toEqual(['start', 'status', 'stop']);
    expect(complete('gatepass -p corp proxy start --p')).toEqual(['--port', '--provider']);
    expect(complete('gatepass completion ')).toEqual(['bash', 'fish', 'powershell', 'zsh']);
  });
});

describe('PowerShell (structure: pwsh is not packaged by Debian)', () => {
  it('registers a native completer whose table holds every command path with its subcommands', () => {
    const ps = scripts['powershell']!;
    expect(ps).toContain('Register-ArgumentCompleter -Native -CommandName gatepass -ScriptBlock {');
    // Braces and parentheses balance outside quoted strings.
    const bare = ps.replace(/'(?:[^']|'')*'/g, "''").replace(/"[^"]*"/g, '""');
    for (const [open, close] of [
      ['{', '}'],
      ['(', ')'],
    ] as const)
      expect(bare.split(open).length).toBe(bare.split(close).length);
    const sink = { write: () => true };
    const program = buildProgram({ stdout: sink, stderr: sink } as never, { runner: async () => {} });
    const walk = (cmd: typeof program, p: string) => {
      const subs = cmd.commands.map((c) => c.name());
      const row = ps.split('\n').find((l) => l.startsWith(`  '${p}' = @{`));
      expect(row, p).toBeDefined();
      for (const s of subs) expect(row).toContain(`'${s}'`);
      for (const c of cmd.commands) walk(c, p ? `${p} ${c.name()}` : c.name());
    };
    walk(program, '');
  });
});

describe('errors', () => {
  it('an unknown shell is a usage error naming the choices', async () => {
    const r = await runGatepass(['completion', 'tcsh'], { env: t.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bash, zsh, fish, powershell/);
    expect(r.stdout).toBe('');
  });
});
