/**
 * Every command starts by checking the GATEPASS_* variables that take a fixed set of values: a typo
 * (`GATEPASS_INTERACTIVE=ture`, `GATEPASS_SECRET_STORE=keyring`) is a usage error (exit 2) naming
 * the variable, whatever the command, instead of silently meaning the default. The variables are
 * read again where they are used, with the same parsers (src/util/env.ts).
 */
import { envBool, envChoice, envSeconds } from '../util/env.js';

export const BOOLEAN_VARS = [
  'GATEPASS_VERBOSE',
  'GATEPASS_INTERACTIVE',
  'GATEPASS_TOKEN_FAST_PATH',
  'GATEPASS_PROXY_FAST_PATH',
  'GATEPASS_ALLOW_PLACEHOLDER_HOSTS',
] as const;

export function checkEnvironment(env: NodeJS.ProcessEnv): void {
  for (const name of BOOLEAN_VARS) envBool(env, name);
  envChoice(env, 'GATEPASS_SECRET_STORE', ['keychain', 'file', 'env', 'memory']);
  envChoice(env, 'GATEPASS_PROXY_ENGINE', ['wire', 'node']);
  envSeconds(env, 'GATEPASS_LOGIN_TIMEOUT', 1);
  envSeconds(env, 'GATEPASS_HTTP_TIMEOUT', 1, { max: 3600 });
}
