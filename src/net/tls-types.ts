/**
 * The resolved TLS settings of a provider, shared by tls.ts (which builds them) and tls-fetch.ts
 * (which uses them, loaded on demand by tls.ts): its own module so neither imports the other.
 */
export interface ResolvedTls {
  /** The complete trust list (system roots + extra CAs), when an extra CA bundle is configured. */
  ca?: string[];
  rejectUnauthorized: boolean;
  /** Absolute path of the CA bundle, for tools (NODE_EXTRA_CA_CERTS). */
  caFile?: string;
}
