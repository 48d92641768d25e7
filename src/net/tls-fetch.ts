/** The undici side of the TLS options: an Agent with the trust list, and a fetch through it. */
import { Agent, fetch } from 'undici';
import type { ResolvedTls } from './tls.js';

export function tlsAgent(tls: ResolvedTls): Agent {
  return new Agent({
    connect: { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.ca ? { ca: tls.ca } : {}) },
  });
}

export function tlsFetch(tls: ResolvedTls): (url: string, init: object) => Promise<Response> {
  const agent = tlsAgent(tls);
  return (url, init) =>
    fetch(url, { ...init, dispatcher: agent } as Parameters<typeof fetch>[1]) as unknown as Promise<Response>;
}
