/**
 * A fake Windows `reg` executable for tests on Linux: a POSIX shell script on PATH answering
 * `reg query <KEY> /s` with exactly what reg.exe prints for the keys of a .reg file (the one
 * `gatepass mdm print --format reg` writes), and `reg query` of any other key with reg.exe's error
 * (exit 1). The .reg file is turned into `reg query` output here, by a reader independent of
 * gatepass' own parser (src/config/reg-query.ts).
 *
 * reg.exe's output format (CRLF lines): a blank line, then per key, depth first, the full key name
 * at the start of a line, one line per value `    <name>    <TYPE>    <data>` (four spaces each),
 * and a blank line. REG_DWORD data is `0x` + lower-case hex without padding; REG_MULTI_SZ strings
 * are joined by the two characters `\0`; REG_SZ data is printed as is.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type RegValue =
  | { type: 'REG_SZ'; data: string }
  | { type: 'REG_DWORD'; data: number }
  | { type: 'REG_MULTI_SZ'; data: string[] };

/** The keys of a .reg file (version 5 format, CRLF) in file order, each with its values in order. */
export function readRegFile(text: string): Array<{ key: string; values: Array<[string, RegValue]> }> {
  const lines = text.trimEnd().split(/\r\n/);
  if (lines[0] !== 'Windows Registry Editor Version 5.00') throw new Error('not a .reg file');
  const keys: Array<{ key: string; values: Array<[string, RegValue]> }> = [];
  const unq = (s: string) => s.replace(/\\(.)/g, '$1');
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const key = /^\[(.+)\]$/.exec(line);
    if (key) {
      keys.push({ key: key[1]!, values: [] });
      continue;
    }
    const m = /^"((?:[^"\\]|\\.)*)"=(.*)$/.exec(line);
    if (!m || !keys.length) throw new Error(`bad .reg line: ${line}`);
    const raw = m[2]!;
    let value: RegValue;
    if (raw.startsWith('"')) value = { type: 'REG_SZ', data: unq(/^"((?:[^"\\]|\\.)*)"$/.exec(raw)![1]!) };
    else if (raw.startsWith('dword:')) value = { type: 'REG_DWORD', data: Number.parseInt(raw.slice(6), 16) };
    else if (raw.startsWith('hex(7):')) {
      const bytes = Buffer.from(
        raw
          .slice(7)
          .split(',')
          .map((h) => Number.parseInt(h, 16)),
      );
      value = { type: 'REG_MULTI_SZ', data: bytes.toString('utf16le').replace(/\0\0$/, '').split('\0') };
    } else throw new Error(`unsupported .reg value: ${line}`);
    keys.at(-1)!.values.push([unq(m[1]!), value]);
  }
  return keys;
}

/** What `reg query <root> /s` prints for the keys of `regText` (reg.exe's exact layout). */
export function regQueryOutput(regText: string): string {
  const out = [''];
  for (const { key, values } of readRegFile(regText)) {
    out.push(key);
    for (const [name, v] of values) {
      const data =
        v.type === 'REG_DWORD'
          ? `0x${v.data.toString(16)}`
          : v.type === 'REG_MULTI_SZ'
            ? v.data.join('\\0')
            : v.data;
      out.push(`    ${name}    ${v.type}    ${data}`);
    }
    out.push('');
  }
  return `${out.join('\r\n')}\r\n`;
}

export interface FakeReg {
  /** Put this directory first on PATH. */
  binDir: string;
  /** Serve `regText` (a .reg file) from now on; undefined: the key does not exist. */
  serve(regText: string | undefined): void;
  /** Serve this exact `reg query` output. */
  serveRaw(output: string): void;
}

/** A fake `reg` in `dir` answering for `root` (matched case-insensitively, HKLM or its long name). */
export function installFakeReg(
  dir: string,
  root = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\gatepass',
): FakeReg {
  const binDir = path.join(dir, 'bin');
  mkdirSync(binDir, { recursive: true });
  const out = path.join(dir, 'reg-query.out');
  const tail = root.replace(/^HKEY_LOCAL_MACHINE\\/i, '');
  // The key argument in upper case, HKLM spelled out, compared to the root.
  const script = `#!/bin/sh
key=$(printf '%s' "$2" | tr '[:lower:]' '[:upper:]' | sed 's/^HKLM\\\\/HKEY_LOCAL_MACHINE\\\\/')
want=$(printf '%s' 'HKEY_LOCAL_MACHINE\\${tail.replace(/'/g, '')}' | tr '[:lower:]' '[:upper:]')
if [ "$1" = query ] && [ "$key" = "$want" ] && [ "$3" = /s ] && [ -f '${out}' ]; then
  cat '${out}'
  exit 0
fi
printf 'ERROR: The system was unable to find the specified registry key or value.\\r\\n' >&2
exit 1
`;
  const reg = path.join(binDir, 'reg');
  writeFileSync(reg, script);
  chmodSync(reg, 0o755);
  const serveRaw = (output: string) => writeFileSync(out, output);
  return {
    binDir,
    serveRaw,
    serve(regText) {
      if (regText === undefined) rmSync(out, { force: true });
      else serveRaw(regQueryOutput(regText));
    },
  };
}
