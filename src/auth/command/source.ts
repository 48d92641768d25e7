// SCAFFOLD (replaced by the command-provider work): keeps the factory compiling meanwhile.
import type { CommandProvider } from '../../config/schema.js';
import { GatepassError } from '../../errors.js';
import type { AuthContext, TokenSource } from '../types.js';

export function createCommandTokenSource(
  _ctx: AuthContext,
  _name: string,
  _provider: CommandProvider,
): TokenSource {
  throw new GatepassError('E_INTERNAL', 'command token source not built yet');
}
