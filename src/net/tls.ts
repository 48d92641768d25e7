/**
 * TLS options for corporate networks (per provider, `tls.ca_file` / `tls.skip_verify`): an extra CA
 * bundle trusted on top of the system roots, or — for local development only — no verification at
 * all. Turned into an undici Agent for openid-client's `customFetch` (IdP requests) and into connect
 * options for the proxy's Pool (gateway). Also recognises certificate failures so callers can say
 * "TLS verification failed; pass --ca-file" instead of a bare `fetch failed`.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import type { TlsSettings } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { builtin } from '../util/builtin.js';
import type { EgressPlan } from './egress.js';

import type { ResolvedTls } from './tls-types.js';

export type { ResolvedTls } from './tls-types.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** `~/x` → `<home>/x`. */
export function expandHome(file: string, home: string = homedir()): string {
  return file.startsWith('~/') ? `${home}/${file.slice(2)}` : file;
}

export function readPemFile(file: string, field: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      'E_CONFIG_INVALID',
      `cannot read the CA bundle ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { field, hint: 'fix the path with `gatepass config set --ca-file /path/to/ca.pem`', exitCode: 1 },
    );
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw new ConfigError('E_CONFIG_INVALID', `${file} holds no PEM certificate`, {
      field,
      hint: 'the CA bundle must contain -----BEGIN CERTIFICATE----- blocks',
      exitCode: 1,
    });
  }
  return blocks;
}

/**
 * The certificates of the bundle NODE_EXTRA_CA_CERTS names; none when it is unset or unreadable
 * (Node itself only warns about an unreadable one, and carries on without it).
 */
export function inheritedCas(env: NodeJS.ProcessEnv): string[] {
  const file = env['NODE_EXTRA_CA_CERTS'];
  if (!file) return [];
  try {
    return readPemFile(file, 'NODE_EXTRA_CA_CERTS');
  } catch {
    return [];
  }
}

/** Is any TLS option set? */
export function hasTlsOptions(tls: TlsSettings | undefined): boolean {
  return Boolean(tls?.ca_file || tls?.skip_verify);
}

/**
 * Resolve a provider's TLS settings (undefined when it has none: the defaults apply). Reads the CA
 * bundle; NODE_EXTRA_CA_CERTS is kept in the trust list, since an explicit `ca` replaces Node's.
 */
export function resolveTls(
  tls: TlsSettings | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedTls | undefined {
  if (!hasTlsOptions(tls)) return undefined;
  const out: ResolvedTls = { rejectUnauthorized: !tls!.skip_verify };
  if (tls!.ca_file) {
    const file = expandHome(tls!.ca_file);
    const extra = readPemFile(file, 'tls.ca_file');
    // Required here: an ES import of node:tls evaluates its root certificate list on every load.
    const { rootCertificates } = builtin('node:tls');
    out.ca = [...rootCertificates, ...inheritedCas(env), ...extra];
    out.caFile = file;
  }
  return out;
}

export const SKIP_VERIFY_WARNING =
  'WARNING: TLS certificate verification is OFF (tls.skip_verify / --tls-skip-verify). Anyone on the network path can impersonate the identity provider and the gateway and steal your tokens. Use this for local development only; for a corporate CA use --ca-file instead.';

/** Print the loud skip-verify warning (every time the option takes effect). */
export function warnSkipVerify(stderr: NodeJS.WritableStream, what: string): void {
  stderr.write(`gatepass: ${SKIP_VERIFY_WARNING} [${what}]\n`);
}

/**
 * A fetch for openid-client's `customFetch` through undici, honouring the TLS options and the egress
 * proxy plan (see egress.ts); both optional.
 */
export async function createTlsFetch(
  tls: ResolvedTls | undefined,
  plan?: EgressPlan,
): Promise<(url: string, init: object) => Promise<Response>> {
  // undici is loaded only when an IdP request needs it (separate module: a static import bundles
  // cleanly, a dynamic import of undici itself does not).
  const { tlsFetch } = await import('./tls-fetch.js');
  return tlsFetch(tls, plan);
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The TLS verification error code somewhere in `err`'s cause chain, if any. */
export function tlsErrorCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 8 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && (TLS_CODES.has(code) || /^ERR_SSL_|^ERR_TLS_/.test(code))) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What to tell the user after a certificate failure. */
export function tlsHint(skipVerifyAllowed = true): string {
  return `if your network intercepts TLS (corporate proxy), give gatepass your organisation's CA bundle: \`gatepass config set --ca-file /path/to/ca.pem\` (or --ca-file on this command)${skipVerifyAllowed ? '; --tls-skip-verify disables verification (local development only)' : ''}`;
}
