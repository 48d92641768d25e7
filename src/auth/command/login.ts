// SCAFFOLD (replaced by the command provider work).
import type { CommandProvider } from '../../config/schema.js';
import { GatepassError } from '../../errors.js';
import type { LoginOptions, LogoutOptions, LogoutResult } from '../login.js';
import type { AuthContext, TokenResult } from '../types.js';

export async function loginCommandProvider(
  _ctx: AuthContext,
  _name: string,
  _provider: CommandProvider,
  _options: LoginOptions,
): Promise<TokenResult> {
  throw new GatepassError('E_INTERNAL', 'command login not built yet');
}

export async function logoutCommandProvider(
  _ctx: AuthContext,
  _name: string,
  _provider: CommandProvider,
  _options: LogoutOptions,
): Promise<LogoutResult> {
  throw new GatepassError('E_INTERNAL', 'command logout not built yet');
}
