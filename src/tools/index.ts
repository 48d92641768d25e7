/** The registry of tools gatepass can wire. */
import { claude } from './claude.js';
import { claudeDesktop } from './claude-desktop.js';
import { codex } from './codex.js';
import { cursor } from './cursor.js';
import { gemini } from './gemini.js';
import { opencode } from './opencode.js';
import type { ToolModule } from './types.js';
import { vscode, vscodeInsiders } from './vscode.js';
import { xcode } from './xcode.js';

export const TOOLS: readonly ToolModule[] = [
  claude,
  claudeDesktop,
  codex,
  gemini,
  opencode,
  vscode,
  vscodeInsiders,
  xcode,
  cursor,
];

export function findTool(id: string): ToolModule | undefined {
  return TOOLS.find((t) => t.id === id);
}

export type { ToolEnv, ToolModule, WireParams } from './types.js';
