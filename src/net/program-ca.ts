/**
 * The CA bundle for programs gatepass runs or exports a token for (`exec`, `env`), as
 * NODE_EXTRA_CA_CERTS. Its own module: node:crypto stays out of the token fast path.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { TlsSettings } from '../config/schema.js';
import { writeFileAtomic } from '../util/fs.js';
import { expandHome, inheritedCas, readPemFile } from './tls.js';

/**
 * The CA bundle to hand programs gatepass runs or exports for (NODE_EXTRA_CA_CERTS, additive to the
 * system roots), when the provider has tls.ca_file: that file, or — when the environment already
 * names another bundle (Node reads one file) — both joined in a private file under `dir`, so neither
 * the user's CAs nor the gateway's are lost. tls.skip_verify is never handed on.
 */
export async function programCaFile(
  tls: TlsSettings | undefined,
  env: NodeJS.ProcessEnv,
  dir: string,
): Promise<string | undefined> {
  if (!tls?.ca_file) return undefined;
  const ours = expandHome(tls.ca_file);
  const theirs = env['NODE_EXTRA_CA_CERTS'];
  if (!theirs || path.resolve(theirs) === path.resolve(ours)) return ours;
  const blocks = readPemFile(ours, 'tls.ca_file');
  const inherited = inheritedCas(env);
  if (!inherited.length) return ours; // an unreadable bundle of theirs would be ignored by Node anyway
  const text = `${[...inherited, ...blocks].join('\n')}\n`;
  const file = path.join(dir, `extra-ca-${createHash('sha256').update(text).digest('hex').slice(0, 12)}.pem`);
  await writeFileAtomic(file, text, { mode: 0o600 });
  return file;
}
