/**
 * Parsing what a token command printed on stdout (pure: no I/O, no clock of its own).
 *
 * Accepted shapes, tried in this order:
 * - JSON object (output starting with `{`):
 *   - gatepass / Trailblaze: `{"token": "...", "expires_at": <epoch s>, "refresh_token"?, "metadata"?}`
 *   - Google executable response: `{"version": 1, "success": true, "id_token" | "access_token" | "saml_response": "...",
 *     "expiration_time": <epoch s>}`; `"success": false` is reported with its `code` / `message`
 *   - kubectl ExecCredential: `{"status": {"token": "...", "expirationTimestamp": "<ISO 8601>"}}`
 *   - AWS-style expiry: `"Expiration": "<ISO 8601>"` next to a `token` / `Token` / `access_token`
 *   - OAuth token response: `{"access_token": "...", "expires_in": <s>}`
 * - otherwise a bare token on one line (surrounding whitespace trimmed).
 *
 * When the output states no expiry: the JWT's own `exp` claim, else `token_ttl`, else unknown.
 *
 * Error messages never quote the output: it may hold the very secret being fetched.
 */
import { AuthError } from '../../errors.js';
import { isSafeToken, TOKEN_RULE } from '../token-chars.js';

/** Outputs larger than this are refused: no bearer token is this big, a misbehaving command could be. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

export interface ParsedToken {
  token: string;
  /** Epoch milliseconds, when the output (or the JWT, or token_ttl) says. */
  expiresAt?: number;
  /** Where the expiry came from (for debug logs). */
  expirySource?: 'output' | 'jwt' | 'ttl';
  refreshToken?: string;
  metadata?: Record<string, unknown>;
}

export interface ParseOptions {
  /** Epoch milliseconds. */
  now: number;
  /** Lifetime (seconds) assumed when neither the output nor the JWT states an expiry. */
  ttlSeconds?: number;
  /** Names the command in errors, e.g. `token_command of provider "corp"`. */
  label?: string;
}

/** What an error message appends for a command's stderr tail (already formatted): nothing when empty. */
export function stderrSuffix(stderrTail: string): string {
  return stderrTail ? `\n--- its stderr (last lines, redacted) ---\n${stderrTail}` : '';
}

function fail(label: string, reason: string, hint?: string): never {
  throw new AuthError('E_TOKEN_COMMAND', `${label} ${reason}`, hint ? { hint } : {});
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Epoch seconds (or milliseconds, if implausibly large for seconds) / ISO 8601 string → epoch ms. */
export function parseExpiry(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    // 1e11 s is the year 5138; anything larger is surely already milliseconds.
    return value > 1e11 ? Math.floor(value) : Math.floor(value * 1000);
  }
  if (typeof value === 'string' && value.trim()) {
    const t = value.trim();
    if (/^\d+(\.\d+)?$/.test(t)) return parseExpiry(Number(t));
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** The `exp` claim of a JWT (epoch ms), without verifying anything: only used as a cache hint. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[0]!.startsWith('eyJ')) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    // A finite expiry only: 1e308 s would be Infinity ms, a token "valid forever".
    if (
      isRecord(payload) &&
      typeof payload['exp'] === 'number' &&
      payload['exp'] > 0 &&
      Number.isFinite(payload['exp'] * 1000)
    ) {
      return Math.floor(payload['exp'] * 1000);
    }
  } catch {
    // not a JWT after all
  }
  return undefined;
}

function firstString(obj: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === 'string' && v.trim()) return v.trim();
  }
  return undefined;
}

const TOKEN_KEYS = ['token', 'access_token', 'accessToken', 'id_token', 'saml_response', 'Token'] as const;
const EXPIRY_KEYS = [
  'expires_at',
  'expiresAt',
  'expiration_time',
  'Expiration',
  'expiration',
  'expiry',
  'expirationTimestamp',
] as const;

function fromJson(obj: Record<string, unknown>, options: ParseOptions, label: string): ParsedToken {
  // Google executable-response failure: report the command's own code and message.
  if (obj['success'] === false) {
    const code = typeof obj['code'] === 'string' ? obj['code'].slice(0, 64) : 'unknown';
    const msg = typeof obj['message'] === 'string' ? `: ${obj['message'].slice(0, 300)}` : '';
    fail(label, `reported failure (code ${code}${msg})`);
  }
  // kubectl ExecCredential nests everything under `status`.
  const src = isRecord(obj['status']) && !TOKEN_KEYS.some((k) => k in obj) ? obj['status'] : obj;
  const token = firstString(src, TOKEN_KEYS);
  if (!token) {
    fail(
      label,
      'printed JSON without a token',
      'print {"token": "...", "expires_at": <epoch seconds>} or a bare token on stdout',
    );
  }
  let expiresAt: number | undefined;
  for (const k of EXPIRY_KEYS) {
    if (src[k] === undefined || src[k] === null) continue;
    expiresAt = parseExpiry(src[k]);
    if (expiresAt === undefined)
      fail(label, `printed an unreadable ${k} (expected epoch seconds or ISO 8601)`);
    break;
  }
  if (expiresAt === undefined && typeof src['expires_in'] === 'number' && src['expires_in'] > 0) {
    expiresAt = options.now + Math.floor(src['expires_in'] * 1000);
  }
  const out: ParsedToken = { token };
  if (expiresAt !== undefined) {
    out.expiresAt = expiresAt;
    out.expirySource = 'output';
  }
  const refresh = typeof src['refresh_token'] === 'string' ? src['refresh_token'] : undefined;
  if (refresh) out.refreshToken = refresh;
  if (isRecord(src['metadata'])) out.metadata = src['metadata'];
  return out;
}

/** Parse a token command's stdout. Throws AuthError (E_TOKEN_COMMAND) with a reason, never the output. */
export function parseTokenOutput(stdout: Uint8Array, options: ParseOptions): ParsedToken {
  const label = options.label ?? 'the token command';
  if (stdout.byteLength > MAX_OUTPUT_BYTES) {
    fail(
      label,
      `printed more than ${MAX_OUTPUT_BYTES / 1024} KiB on stdout; refusing it`,
      'a token command must print only the token (messages go to stderr)',
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(stdout);
  } catch {
    fail(label, 'printed output that is not valid UTF-8');
  }
  text = text.replace(/^\uFEFF/, '').trim();
  if (!text) {
    fail(
      label,
      'printed nothing on stdout',
      'it must print the token (or JSON with a "token" field) on stdout',
    );
  }
  let parsed: ParsedToken;
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the input, which may hold the token: say only what failed.
      fail(label, 'printed output that starts with "{" but is not valid JSON');
    }
    parsed = fromJson(json as Record<string, unknown>, options, label);
  } else {
    if (/[\r\n]/.test(text)) {
      fail(
        label,
        'printed several lines on stdout; a bare token must be a single line',
        'print messages on stderr, or print JSON {"token": "..."}',
      );
    }
    parsed = { token: text };
  }
  if (!isSafeToken(parsed.token)) {
    fail(label, `printed a token with characters a token may not hold (only ${TOKEN_RULE})`);
  }
  if (parsed.expiresAt === undefined) {
    const exp = jwtExpiry(parsed.token);
    if (exp !== undefined) {
      parsed.expiresAt = exp;
      parsed.expirySource = 'jwt';
    } else if (options.ttlSeconds !== undefined) {
      parsed.expiresAt = options.now + options.ttlSeconds * 1000;
      parsed.expirySource = 'ttl';
    }
  }
  if (parsed.expiresAt !== undefined && parsed.expiresAt <= options.now) {
    fail(
      label,
      `printed a token that already expired (at ${new Date(parsed.expiresAt).toISOString()})`,
      "check the command's own cache or clock",
    );
  }
  return parsed;
}
