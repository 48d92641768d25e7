/** Tool ids, importable without loading the tool modules (the CLI definitions use them for help). */
export const TOOL_IDS = [
  'claude',
  'claude-desktop',
  'codex',
  'gemini',
  'opencode',
  'vscode',
  'vscode-insiders',
  'xcode',
  'cursor',
] as const;
