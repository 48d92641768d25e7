/**
 * Redaction: strip bearer tokens, JWTs, refresh tokens and similar secrets from any string before
 * it reaches a log line, an error message or a terminal. Used by the logger and by every error.
 *
 * The rules are deliberately greedy: a false positive costs a few characters of a log line, a false
 * negative leaks a credential.
 */

export const REDACTED = '[REDACTED]';

/**
 * Terminal escape sequences: CSI (`ESC [` … final byte, or the 8-bit U+009B), OSC / DCS / SOS / PM /
 * APC strings up to their terminator (BEL or ST), and the remaining two-byte `ESC x` sequences.
 */
const ESCAPE_SEQUENCE =
  /(?:\x1b\[|\u009b)[0-?]*[ -/]*[@-~]?|(?:\x1b[\]PX^_]|[\u0090\u0098\u009d-\u009f])[^\x07\x1b\u009c]*(?:\x07|\x1b\\|\u009c)?|\x1b[ -~]?/g;
/** C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides that reorder text. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The one sanitizer for text gatepass did not write itself (IdP error descriptions and bodies,
 * discovery fields, a command's stderr) before it reaches a terminal, a log or a file: escape
 * sequences are removed whole (so `ESC ] 0 ; title BEL` cannot retitle the terminal and `ESC [ 2 J`
 * cannot clear it), every other control character is dropped, a tab becomes a space and a carriage
 * return a newline (so no line can overwrite another). With `singleLine`, newlines become spaces.
 * It does not redact: callers that print also run `redact()` (the logger and GatepassError do both).
 */
export function stripControl(text: string, options: { singleLine?: boolean } = {}): string {
  const out = text
    .replace(ESCAPE_SEQUENCE, '')
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(CONTROL, '');
  return options.singleLine ? out.replace(/\n/g, ' ') : out;
}

const base64url = '[A-Za-z0-9_-]';

/** Placeholders of secrets in help text and hints: `...`, `…`, `<token>`, empty. */
const PLACEHOLDER = /^(?:\.\.\.|\u2026|<[^<>]*>|)$/;

/** Words that follow "Bearer" in prose ("the bearer scheme"), not credentials. */
const BEARER_PROSE = /^(?:tokens?|schemes?|auth(?:entication|orization)?|headers?|prefix|credentials?)$/i;

/**
 * After the weak scheme words "Token" and "Basic", which are also ordinary English ("the token
 * command failed"), only a value that looks like a credential is one: a digit, a capital, a symbol
 * of base64/base64url, or length.
 */
function looksLikeCredential(value: string): boolean {
  return value.length >= 20 || /[0-9A-Z._~+/=-]/.test(value);
}

/** Three base64url segments whose first two decode to JSON objects: a JWT, whatever its header. */
function isJwtShaped(header: string, payload: string): boolean {
  const json = (seg: string) => {
    try {
      return /^\s*\{/.test(Buffer.from(seg, 'base64url').toString('latin1'));
    } catch {
      return false;
    }
  };
  return json(header) && json(payload);
}

/** Names of secret-bearing fields, as JSON keys, YAML keys or form/query parameters. */
const SECRET_KEY =
  '(?:access|refresh|id|session)_?token|client_secret|password|passwd|api[_-]?key|code_verifier|device_code|assertion';

const RULES: ReadonlyArray<readonly [RegExp, string | ((...m: string[]) => string)]> = [
  // JWT / JWS / JWE: header segment starts with eyJ ("{" base64url-encoded), 2 or 4 dots.
  [new RegExp(`eyJ${base64url}{4,}(?:\\.${base64url}*){1,4}`, 'g'), REDACTED],
  // Any other JWT (a header such as '{ "alg"' or '{\n' does not start with eyJ).
  [
    new RegExp(`\\b(${base64url}{4,})\\.(${base64url}{4,})\\.${base64url}*`, 'g'),
    (m, header, payload) => (isJwtShaped(header!, payload!) ? REDACTED : m),
  ],
  // Authorization header values: Bearer / DPoP are credentials unless prose ("bearer scheme");
  // Token / Basic only when the value looks like one. Not a command-line option after the word
  // "token" (`gatepass token --min-valid 600` in a tool's helper command).
  [
    // (A value ends before a final '.': "the token expired." is prose, not a token ending in a dot.)
    /\b(Bearer|DPoP|Basic|Token)\s+(?!--)([A-Za-z0-9._~+/=_-]{5,}[A-Za-z0-9_~+/=-])/gi,
    (m, scheme, value) => {
      const strong = /^(?:bearer|dpop)$/i.test(scheme!);
      const secret = strong ? !BEARER_PROSE.test(value!) : looksLikeCredential(value!);
      return secret ? `${scheme} ${REDACTED}` : m;
    },
  ],
  // JSON fields holding secrets: "access_token": "…", "ANTHROPIC_AUTH_TOKEN": "…" (also
  // single-quoted or unquoted keys).
  [
    new RegExp(
      String.raw`(["']?)\b((?:[A-Za-z0-9_-]*[_-])?(?:${SECRET_KEY}|token|secret))\1(\s*[:=]\s*)(["'])((?:\\.|(?!\4).)*)\4`,
      'gi',
    ),
    // A placeholder in a hint (`{"token": "..."}`, `"<token>"`) is kept: it is not a secret.
    (m, q, key, sep, quote, value) =>
      PLACEHOLDER.test(value!) ? m : `${q}${key}${q}${sep}${quote}${REDACTED}${quote}`,
  ],
  // Unquoted YAML / log style: "refresh_token: 8xLOxBtZp8", "client_secret = s3cr3t" (a value
  // that looks like a credential, not "refresh_token: missing").
  [
    new RegExp(
      String.raw`\b(${SECRET_KEY})(\s*[:=]\s*)(?!\[REDACTED\])([^\s,;"'{}\[\]&<>]{5,}[^\s,;"'{}\[\]&<>.])`,
      'gi',
    ),
    (m, key, sep, value) => (looksLikeCredential(value!) ? `${key}${sep}${REDACTED}` : m),
  ],
  // Form / query encoded secrets: refresh_token=…&, code=…, client_secret=… (also %3D-encoded).
  [
    // (?<!…) rather than \b: in a %26-joined (URL-encoded) form the key follows a digit.
    new RegExp(
      String.raw`(?<![A-Za-z_])(${SECRET_KEY}|token|code|key)(=|%3D)(?!\[REDACTED\])[^&\s"'<>]+`,
      'gi',
    ),
    (_m, key, sep) => `${key}${sep}${REDACTED}`,
  ],
  // Environment assignments: GATEPASS_TOKEN=…, export ANTHROPIC_AUTH_TOKEN=…, OPENAI_API_KEY="…".
  [
    /\b([A-Z][A-Z0-9_]*_(?:TOKEN|KEY|SECRET|PASSWORD|CREDENTIALS?))=(?!\[REDACTED\])("[^"]*"|'[^']*'|[^\s&;"'<>]+)/g,
    (_m, name) => `${name}=${REDACTED}`,
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
  // Credentials in a URL (an egress proxy's http://user:password@host:3128).
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
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
    const s = redact(stripControl(v, { singleLine: true })).trim();
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
