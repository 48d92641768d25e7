/**
 * Redaction: strip bearer tokens, JWTs, refresh tokens and similar secrets from any string before
 * it reaches a log line, an error message or a terminal. Used by the logger and by every error.
 *
 * The rules are deliberately greedy: a false positive costs a few characters of a log line, a false
 * negative leaks a credential.
 */

export const REDACTED = '[REDACTED]';

const base64url = '[A-Za-z0-9_-]';

const RULES: ReadonlyArray<readonly [RegExp, string | ((...m: string[]) => string)]> = [
  // JWT / JWS / JWE: header segment starts with eyJ ("{" base64url-encoded), 2 or 4 dots.
  [new RegExp(`eyJ${base64url}{4,}(?:\\.${base64url}*){1,4}`, 'g'), REDACTED],
  // Authorization header values: Bearer / Basic / token schemes. Not a command-line option after
  // the word "token" (`gatepass token --min-valid 600` in a tool's helper command).
  [/\b(Bearer|Basic|Token|DPoP)\s+(?!--)[A-Za-z0-9._~+/=-]{6,}/gi, (_m, scheme) => `${scheme} ${REDACTED}`],
  // JSON fields holding secrets: "access_token": "…" (also single-quoted or unquoted keys).
  [
    /(["']?)((?:access|refresh|id|session)_?token|token|client_secret|password|api_?key|secret|code_verifier|device_code|assertion)\1(\s*[:=]\s*)(["'])(?:\\.|(?!\4).)*\4/gi,
    (_m, q, key, sep, quote) => `${q}${key}${q}${sep}${quote}${REDACTED}${quote}`,
  ],
  // Form / query encoded secrets: refresh_token=…&, code=…, client_secret=…
  [
    /\b((?:access|refresh|id)_token|token|code|client_secret|code_verifier|device_code|password|api_?key|key)=([^&\s"'<>]+)/gi,
    (_m, key) => `${key}=${REDACTED}`,
  ],
  // Header lines: x-api-key: …, x-goog-api-key: …, authorization: … (any scheme), cookie: …
  [
    /\b(x-api-key|x-goog-api-key|api-key|authorization|proxy-authorization|cookie|set-cookie)(\s*[:=]\s*)(?!\[REDACTED\])[^\s,;"'}]+(?:[ \t]+[^\s,;"'}]+)?/gi,
    (_m, key, sep) => `${key}${sep}${REDACTED}`,
  ],
  // Well-known opaque token shapes: OpenAI/Anthropic keys, GitHub tokens, Google OAuth tokens, Slack.
  [/\b(?:sk|rk|pk)-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, REDACTED],
  [/\bya29\.[A-Za-z0-9._-]{10,}/g, REDACTED],
  [/\b1\/\/[A-Za-z0-9._-]{20,}/g, REDACTED],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, REDACTED],
  // gatepass' own local proxy key format.
  [/\bgp_local_[A-Za-z0-9_-]{16,}/g, REDACTED],
];

/** Extra literal secrets registered at run time (e.g. a token just fetched) that must never print. */
const knownSecrets = new Set<string>();

/** Register a secret value so every later `redact()` call removes it, whatever its shape. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 8) knownSecrets.add(value);
}

/** For tests: forget registered secrets. */
export function clearRegisteredSecrets(): void {
  knownSecrets.clear();
}

export function redact(input: string): string {
  let out = input;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of RULES) {
    out = out.replace(pattern, replacement as (substring: string, ...args: string[]) => string);
  }
  return out;
}

/** Redact every string found in a JSON-like value (for structured logs / --json output of errors). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = /token|secret|password|api_?key|authorization|cookie|code_verifier/i.test(k)
        ? REDACTED
        : redactDeep(v);
    }
    return out as T;
  }
  return value;
}

export interface SanitizedOAuthError {
  error: string;
  error_description?: string;
}

/**
 * Reduce an OAuth / OIDC error response (body object, JSON text, or an openid-client error) to its
 * `error` and `error_description` only. Anything else an IdP echoed back (tokens, codes, request
 * parameters) is dropped. Both fields are length-limited, control characters removed and redacted.
 */
export function sanitizeOAuthError(input: unknown): SanitizedOAuthError {
  let obj: unknown = input;
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input);
    } catch {
      const params = new URLSearchParams(input.includes('=') ? input : '');
      obj = params.has('error')
        ? { error: params.get('error'), error_description: params.get('error_description') }
        : { error: 'invalid_response' };
    }
  }
  const rec = (obj && typeof obj === 'object' ? obj : {}) as Record<string, unknown>;
  // openid-client's ResponseBodyError keeps the parsed body in `cause`, and the fields on itself.
  const pick = (k: string): unknown => rec[k] ?? (rec['cause'] as Record<string, unknown> | undefined)?.[k];
  const clean = (v: unknown, max: number): string | undefined => {
    if (typeof v !== 'string' || v.length === 0) return undefined;
    const s = redact(v.replace(/[\u0000-\u001f\u007f]/g, ' ')).trim();
    return s.length > max ? `${s.slice(0, max)}…` : s;
  };
  const error = clean(pick('error'), 64) ?? 'unknown_error';
  const description = clean(pick('error_description'), 300);
  return description === undefined ? { error } : { error, error_description: description };
}

/** One-line description of a sanitized OAuth error. */
export function formatOAuthError(input: unknown): string {
  const e = sanitizeOAuthError(input);
  return e.error_description ? `${e.error}: ${e.error_description}` : e.error;
}
