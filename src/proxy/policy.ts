/**
 * The contract between the proxy and its engines: ProxyPolicy is everything an engine (wire/, node/)
 * needs to know about gatepass (routing with the guard, token access, the errors the proxy makes, the
 * limits), so the engines hold no policy of their own. server.ts builds it.
 */
import type net from 'node:net';
import type { TokenResult } from '../auth/types.js';
import type { ErrorKind } from './dialect.js';
import type { Headers } from './guard.js';

export type Verdict =
  | { kind: 'refuse'; message: string }
  | { kind: 'health'; body: string }
  | { kind: 'forward'; path: string };

/** What an engine needs from the proxy (server.ts builds it; the node:http engine uses it too). */
export interface ProxyPolicy {
  gateway: URL;
  /** Guard + routing for one request arriving on `socket` (whose peer may be another user's). */
  route(method: string, url: string, headers: Headers, socket: net.Socket): Verdict;
  peekToken(): TokenResult | undefined;
  getToken(): Promise<TokenResult>;
  replaceToken(old: string): Promise<TokenResult>;
  tokenWaitMs: number;
  /** The 401 message for a failed token fetch (logs the cause at debug level). */
  tokenFailure(err: unknown): string;
  /** Status, kind and message for an upstream failure before any response (logs it). */
  upstreamFailure(err: unknown): { status: number; kind: ErrorKind; message: string };
  /** The JSON error body in the client's dialect. */
  errorBody(url: string, headers: Headers, status: number, kind: ErrorKind, message: string): string;
  maxReplay: number;
  connectTimeoutMs: number;
  /** A client connection idle, or a request body stalled, this long is closed (ms). */
  clientTimeoutMs: number;
  upstreamTimeoutMs: number;
  tls?: { ca?: string[]; rejectUnauthorized: boolean };
  debug(message: string): void;
  error(message: string): void;
  /** Told every error the proxy makes itself (status, and the message with its cause). */
  errorLog?: (method: string, url: string, status: number, message: string) => void;
  /** Called once per finished request when access logging is on. */
  accessLog?: (method: string, path: string, status: number, ms: number) => void;
}
