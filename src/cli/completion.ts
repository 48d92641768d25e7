/**
 * Shell completion scripts for bash, zsh, fish and PowerShell, generated from the commander tree of
 * program.ts — the same definitions `npm run docs` renders — so a new command or option completes
 * without anyone editing a script. Each script embeds a table per command path (subcommands,
 * options, which options take a value, the values it can take) and one small function that walks the
 * words typed so far to find the command path, then offers that path's words.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell code, where ${…} is shell syntax
import type { Command, Option } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

/** `file`: complete file names; a list: exactly these words. */
export type Values = string[] | 'file';

export interface OptionSpec {
  long?: string;
  short?: string;
  description: string;
  /** The option requires a value (the next word is not a command or an option). */
  takesValue: boolean;
  values?: Values;
}

export interface CommandSpec {
  /** Space-joined subcommand names below `gatepass` ('' for the top level). */
  path: string;
  commands: Array<{ name: string; description: string }>;
  options: OptionSpec[];
  /** Values for the positional arguments. */
  positional?: Values;
}

/** Extra value lists the definitions cannot state as commander choices (they accept more). */
export type ValueHints = Record<string, Values>;

const WORD = /^[A-Za-z0-9._:/@+=-]+$/;

function checkWord(w: string): string {
  if (!WORD.test(w)) throw new Error(`completion: unexpected word ${JSON.stringify(w)}`);
  return w;
}

function checkValues(v: Values): Values {
  return v === 'file' ? v : v.map(checkWord);
}

function optionSpec(o: Option, hints: ValueHints): OptionSpec {
  const takesValue = o.required;
  let values: Values | undefined;
  if (o.argChoices?.length) values = o.argChoices.map(checkWord);
  else if (o.long && hints[o.long]) values = checkValues(hints[o.long]!);
  else if (/<file>/.test(o.flags)) values = 'file';
  return {
    ...(o.long ? { long: checkWord(o.long) } : {}),
    ...(o.short ? { short: checkWord(o.short) } : {}),
    description: o.description,
    takesValue,
    ...(takesValue && values ? { values } : {}),
  };
}

/** Every command path of `program` with what can follow it. */
export function completionSpec(program: Command, hints: ValueHints = {}): CommandSpec[] {
  const help = program.createHelp();
  const globals = help
    .visibleOptions(program)
    .filter((o) => o.long !== '--version' && o.long !== '--help')
    .map((o) => optionSpec(o, hints));
  const out: CommandSpec[] = [];
  const walk = (cmd: Command, path: string) => {
    const own = help.visibleOptions(cmd).map((o) => optionSpec(o, hints));
    const options = cmd === program ? own : [...own, ...globals];
    const arg = cmd.registeredArguments[0];
    const positional: Values | undefined = arg?.argChoices?.length
      ? arg.argChoices.map(checkWord)
      : hints[path] && checkValues(hints[path]);
    const subs = help.visibleCommands(cmd);
    out.push({
      path,
      commands: subs.map((c) => ({ name: checkWord(c.name()), description: c.description() })),
      options,
      ...(positional ? { positional } : {}),
    });
    for (const c of subs) {
      if (c.name() === 'help') continue;
      walk(c, path ? `${path} ${c.name()}` : c.name());
    }
  };
  walk(program, '');
  // `gatepass help <command>` completes the top-level commands.
  const top = out[0]!;
  if (top.commands.some((c) => c.name === 'help')) {
    out.push({
      path: 'help',
      commands: [],
      options: [],
      positional: top.commands.map((c) => c.name).filter((n) => n !== 'help'),
    });
  }
  return out;
}

const flagsOf = (s: CommandSpec) => s.options.flatMap((o) => [o.long, o.short].filter(Boolean) as string[]);
const valueFlags = (s: CommandSpec) =>
  s.options.filter((o) => o.takesValue).flatMap((o) => [o.long, o.short].filter(Boolean) as string[]);
const valueWords = (v: Values | undefined) =>
  v === undefined ? '' : v === 'file' ? '__file__' : v.join(' ');

/**
 * The shared table as POSIX-shell case statements (valid bash and zsh): `_gatepass_spec PATH` sets
 * `_gp_cmds`, `_gp_opts`, `_gp_argopts`; `_gatepass_values PATH OPTION` prints the values of an
 * option ('' = the positional arguments), `__file__` for file names.
 */
function shellTable(specs: CommandSpec[]): string {
  const spec = specs.map(
    (s) =>
      `    '${s.path}') _gp_cmds='${s.commands.map((c) => c.name).join(' ')}'; _gp_opts='${flagsOf(s).join(' ')}'; _gp_argopts='${valueFlags(s).join(' ')}' ;;`,
  );
  const values: string[] = [];
  for (const s of specs) {
    if (s.positional) values.push(`    '${s.path}|') echo '${valueWords(s.positional)}' ;;`);
    for (const o of s.options) {
      if (!o.takesValue || !o.values) continue;
      const pattern = [o.long, o.short]
        .filter(Boolean)
        .map((f) => `'${s.path}|${f}'`)
        .join('|');
      values.push(`    ${pattern}) echo '${valueWords(o.values)}' ;;`);
    }
  }
  return [
    '_gatepass_spec() {',
    '  case "$1" in',
    ...spec,
    "    *) _gp_cmds=''; _gp_opts=''; _gp_argopts='' ;;",
    '  esac',
    '}',
    '_gatepass_values() {',
    '  case "$1|$2" in',
    ...values,
    '  esac',
    '}',
  ].join('\n');
}

/** Walks words 1..(current-1) (bash/zsh differ only in how the words are indexed). */
function shellWalk(word: (i: string) => string, first: number, last: string): string[] {
  return [
    `  local _gp_path='' _gp_skip=0 _gp_i _gp_w`,
    `  for ((_gp_i = ${first}; _gp_i < ${last}; _gp_i++)); do`,
    `    _gp_w=${word('_gp_i')}`,
    '    if ((_gp_skip)); then _gp_skip=0; continue; fi',
    '    _gatepass_spec "$_gp_path"',
    '    case "$_gp_w" in',
    '      --) break ;;',
    '      -*=*) ;;',
    '      -*) [[ " $_gp_argopts " == *" $_gp_w "* ]] && _gp_skip=1 ;;',
    '      *) [[ " $_gp_cmds " == *" $_gp_w "* ]] && _gp_path="${_gp_path:+$_gp_path }$_gp_w" ;;',
    '    esac',
    '  done',
    '  _gatepass_spec "$_gp_path"',
  ];
}

function bashScript(specs: CommandSpec[]): string {
  return [
    '# bash completion for gatepass (generated by `gatepass completion bash`).',
    '# Load it with: source <(gatepass completion bash)',
    shellTable(specs),
    '_gatepass() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" _gp_vals',
    ...shellWalk((i) => `"\${COMP_WORDS[${i}]}"`, 1, 'COMP_CWORD'),
    '  COMPREPLY=()',
    '  if ((COMP_CWORD > 1)) && [[ " $_gp_argopts " == *" $prev "* ]]; then',
    '    _gp_vals="$(_gatepass_values "$_gp_path" "$prev")"',
    '    if [[ $_gp_vals == __file__ ]]; then COMPREPLY=($(compgen -f -- "$cur"))',
    '    elif [[ -n $_gp_vals ]]; then COMPREPLY=($(compgen -W "$_gp_vals" -- "$cur")); fi',
    '    return 0',
    '  fi',
    '  if [[ $cur == -* ]]; then',
    '    COMPREPLY=($(compgen -W "$_gp_opts" -- "$cur"))',
    '    return 0',
    '  fi',
    '  _gp_vals="$(_gatepass_values "$_gp_path" "")"',
    '  if [[ $_gp_vals == __file__ ]]; then COMPREPLY=($(compgen -f -- "$cur")); return 0; fi',
    '  COMPREPLY=($(compgen -W "$_gp_cmds $_gp_vals" -- "$cur"))',
    '}',
    'complete -o default -F _gatepass gatepass',
    '',
  ].join('\n');
}

function zshScript(specs: CommandSpec[]): string {
  return [
    '#compdef gatepass',
    '# zsh completion for gatepass (generated by `gatepass completion zsh`).',
    '# Load it with: source <(gatepass completion zsh)   (after compinit)',
    shellTable(specs),
    '_gatepass() {',
    '  local cur="${words[CURRENT]}" prev="${words[CURRENT-1]}" _gp_vals',
    ...shellWalk((i) => `"\${words[${i}]}"`, 2, 'CURRENT'),
    '  if ((CURRENT > 2)) && [[ " $_gp_argopts " == *" $prev "* ]]; then',
    '    _gp_vals="$(_gatepass_values "$_gp_path" "$prev")"',
    '    if [[ $_gp_vals == __file__ ]]; then _files',
    '    elif [[ -n $_gp_vals ]]; then compadd -- ${=_gp_vals}; fi',
    '    return 0',
    '  fi',
    '  if [[ $cur == -* ]]; then',
    '    compadd -- ${=_gp_opts}',
    '    return 0',
    '  fi',
    '  _gp_vals="$(_gatepass_values "$_gp_path" "")"',
    '  if [[ $_gp_vals == __file__ ]]; then _files; return 0; fi',
    '  compadd -- ${=_gp_cmds} ${=_gp_vals}',
    '}',
    'if (( $+functions[compdef] )); then compdef _gatepass gatepass; fi',
    '',
  ].join('\n');
}

const fishQuote = (s: string) => `'${s.replace(/\s+/g, ' ').replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fishScript(specs: CommandSpec[]): string {
  const lines = [
    '# fish completion for gatepass (generated by `gatepass completion fish`).',
    '# Load it with: gatepass completion fish | source',
    'function __gatepass_cmds',
    '    switch "$argv[1]"',
    ...specs.map(
      (s) =>
        `        case ${fishQuote(s.path)}\n            echo ${fishQuote(s.commands.map((c) => c.name).join(' '))}`,
    ),
    '    end',
    'end',
    'function __gatepass_argopts',
    '    switch "$argv[1]"',
    ...specs.map(
      (s) => `        case ${fishQuote(s.path)}\n            echo ${fishQuote(valueFlags(s).join(' '))}`,
    ),
    '    end',
    'end',
    'function __gatepass_path',
    '    set -l words (commandline -opc)',
    '    set -e words[1]',
    "    set -l path ''",
    '    set -l skip 0',
    '    for w in $words',
    '        if test $skip = 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch $w',
    "            case '--'",
    '                break',
    "            case '-*=*'",
    "            case '-*'",
    '                if contains -- $w (string split " " -- (__gatepass_argopts "$path"))',
    '                    set skip 1',
    '                end',
    "            case '*'",
    '                if contains -- $w (string split " " -- (__gatepass_cmds "$path"))',
    '                    set path (string trim -- "$path $w")',
    '                end',
    '        end',
    '    end',
    '    echo $path',
    'end',
    'function __gatepass_at',
    '    test (__gatepass_path) = "$argv[1]"',
    'end',
    'complete -c gatepass -f',
  ];
  for (const s of specs) {
    const at = `-n ${fishQuote(`__gatepass_at ${fishQuote(s.path)}`)}`;
    for (const c of s.commands)
      lines.push(`complete -c gatepass ${at} -a ${fishQuote(c.name)} -d ${fishQuote(c.description)}`);
    for (const o of s.options) {
      const flags = [o.long ? `-l ${o.long.slice(2)}` : '', o.short ? `-s ${o.short.slice(1)}` : ''].filter(
        Boolean,
      );
      const value = !o.takesValue
        ? ''
        : o.values === 'file'
          ? ' -r -F'
          : o.values
            ? ` -x -a ${fishQuote(o.values.join(' '))}`
            : ' -x';
      lines.push(`complete -c gatepass ${at} ${flags.join(' ')}${value} -d ${fishQuote(o.description)}`);
    }
    if (s.positional === 'file') lines.push(`complete -c gatepass ${at} -F`);
    else if (s.positional) lines.push(`complete -c gatepass ${at} -a ${fishQuote(s.positional.join(' '))}`);
  }
  lines.push('');
  return lines.join('\n');
}

const psQuote = (s: string) => `'${s.replace(/\s+/g, ' ').replace(/'/g, "''")}'`;
const psList = (words: string[]) => `@(${words.map(psQuote).join(', ')})`;

function powershellScript(specs: CommandSpec[]): string {
  const table = specs.map((s) => {
    const values = s.options
      .filter((o) => o.takesValue && o.values)
      .flatMap((o) =>
        [o.long, o.short]
          .filter(Boolean)
          .map(
            (f) => `${psQuote(f!)} = ${o.values === 'file' ? "'__file__'" : psList(o.values as string[])}`,
          ),
      );
    const positional =
      s.positional === undefined ? '@()' : s.positional === 'file' ? "'__file__'" : psList(s.positional);
    return `  ${psQuote(s.path)} = @{ cmds = ${psList(s.commands.map((c) => c.name))}; opts = ${psList(flagsOf(s))}; argopts = ${psList(valueFlags(s))}; values = @{ ${values.join('; ')} }; positional = ${positional} }`;
  });
  return [
    '# PowerShell completion for gatepass (generated by `gatepass completion powershell`).',
    '# Load it with: gatepass completion powershell | Out-String | Invoke-Expression',
    '$__gatepassSpec = @{',
    ...table,
    '}',
    'Register-ArgumentCompleter -Native -CommandName gatepass -ScriptBlock {',
    '  param($wordToComplete, $commandAst, $cursorPosition)',
    '  $words = @($commandAst.CommandElements | Where-Object { $_.Extent.EndOffset -le $cursorPosition } | ForEach-Object { $_.ToString() })',
    "  if ($wordToComplete -ne '') { $words = @($words | Select-Object -SkipLast 1) }",
    "  $path = ''",
    '  $skip = $false',
    '  foreach ($w in ($words | Select-Object -Skip 1)) {',
    '    if ($skip) { $skip = $false; continue }',
    '    $s = $__gatepassSpec[$path]',
    "    if ($w -eq '--') { break }",
    "    if ($w -like '-*') { if ($s.argopts -contains $w) { $skip = $true }; continue }",
    "    if ($s.cmds -contains $w) { $path = (($path + ' ' + $w).Trim()) }",
    '  }',
    '  $s = $__gatepassSpec[$path]',
    '  $prev = if ($words.Count -gt 1) { $words[-1] } else { $null }',
    '  $candidates = @()',
    '  if ($prev -and $s.argopts -contains $prev) {',
    '    $v = $s.values[$prev]',
    "    if ($v -eq '__file__') { return }",
    '    $candidates = @($v)',
    "  } elseif ($wordToComplete -like '-*') {",
    '    $candidates = $s.opts',
    '  } else {',
    "    if ($s.positional -eq '__file__') { return }",
    '    $candidates = @($s.cmds) + @($s.positional)',
    '  }',
    '  $candidates | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {',
    "    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)",
    '  }',
    '}',
    '',
  ].join('\n');
}

export function completionScript(shell: Shell, specs: CommandSpec[]): string {
  switch (shell) {
    case 'bash':
      return bashScript(specs);
    case 'zsh':
      return zshScript(specs);
    case 'fish':
      return fishScript(specs);
    case 'powershell':
      return powershellScript(specs);
  }
}
