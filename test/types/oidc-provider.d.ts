// Minimal type shim for oidc-provider v9 (it ships no types; @types/oidc-provider is not installed).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface KoaLikeContext {
    method: string;
    path: string;
    status: number;
    body: unknown;
    // biome-ignore lint/suspicious/noExplicitAny: oidc-provider's context is untyped here
    oidc?: any;
    set(name: string, value: string): void;
  }

  export default class Provider {
    // biome-ignore lint/suspicious/noExplicitAny: configuration object is large and untyped here
    constructor(issuer: string, configuration?: Record<string, any>);
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaLikeContext, next: () => Promise<void>) => Promise<void>): void;
    // biome-ignore lint/suspicious/noExplicitAny: event payloads differ per event
    on(event: string, listener: (...args: any[]) => void): this;
  }

  /** OAuth error classes (`new errors.InvalidGrant(description)`), thrown from grant handlers. */
  type OAuthError = new (description?: string) => Error;
  export const errors: { InvalidGrant: OAuthError; InvalidRequest: OAuthError; InvalidTarget: OAuthError };
}
