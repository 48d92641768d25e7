/**
 * Identity headers for Claude Code's OpenTelemetry exporter (`otelHeadersHelper`): who signed in,
 * from the ID token's claims gatepass keeps in the config (`token_ref.identity`, never a token), as
 * a JSON object of string header values. Values are made safe for an HTTP header: control characters
 * dropped, anything outside visible ASCII percent-encoded, at most 256 characters.
 */
import type { Provider } from '../config/schema.js';

export const OTEL_SUB_HEADER = 'x-user-id';
export const OTEL_EMAIL_HEADER = 'x-user-email';

export function headerSafe(value: string): string {
  const cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  const ascii = /^[\x20-\x7e]*$/.test(cleaned) ? cleaned : encodeURIComponent(cleaned);
  return ascii.slice(0, 256);
}

/** The identity headers of the provider's signed-in user ({} when none is known). */
export function otelIdentityHeaders(provider: Provider): Record<string, string> {
  const identity = provider.type === 'oidc' ? provider.token_ref?.identity : undefined;
  const out: Record<string, string> = {};
  const sub = identity?.sub ? headerSafe(identity.sub) : '';
  const email = identity?.email ? headerSafe(identity.email) : '';
  if (sub) out[OTEL_SUB_HEADER] = sub;
  if (email) out[OTEL_EMAIL_HEADER] = email;
  return out;
}
