/**
 * Model discovery: `GET <gateway>[prefix]/v1/models` with a token, in the OpenAI list shape
 * (`{data:[{id}]}`) or Anthropic's (`{data:[{id, display_name, type}], has_more, last_id}`, paged
 * with `after_id`), through gatepass' own HTTP stack (TLS options, egress proxy). Also owns the
 * picking of Claude Code's tier models (newest haiku / sonnet / opus) and setup's `--models auto`
 * step: discovered lists are saved with `models_discovered: true`, so a later run refreshes them but
 * never replaces a list the user chose.
 */
import type { AuthContext } from '../auth/types.js';
import type { FieldAssignment } from '../config/edit.js';
import type { Provider } from '../config/schema.js';
import { findField } from '../config/validate.js';
import { describeError, GatepassError } from '../errors.js';
import { egressPlan } from '../net/egress.js';
import { resolveTls } from '../net/tls.js';
import { tlsFetch } from '../net/tls-fetch.js';
import { stripControl } from '../redact.js';
import type { RunEnv } from './common.js';

export const MODELS_TIMEOUT_MS = 10_000;
/** Anthropic's list endpoint pages at most 1000 ids; more pages than this is a loop, not a list. */
const MAX_PAGES = 50;
/** At most this many ids are kept: they go into tool files and the config. */
export const MAX_MODELS = 500;

export type FetchLike = (url: string, init: object) => Promise<Response>;

export interface ModelListing {
  /** The URL that answered (without paging parameters). */
  url: string;
  models: string[];
}

/** `--models auto`'s sentinel value. */
export const MODELS_AUTO = 'auto';

function modelsUrl(gateway: string, prefix: string | undefined): string {
  return `${gateway.replace(/\/+$/, '')}${prefix ?? ''}/v1/models`;
}

/**
 * A model id gatepass can write into tool files (the `models` field's rule): the list is server
 * text, so anything else (spaces, control characters, commas, non-ASCII) is dropped.
 */
function usableId(id: unknown): id is string {
  return typeof id === 'string' && /^[\x21-\x7e]{1,256}$/.test(id) && !id.includes(',');
}

/**
 * One list endpoint, following Anthropic's pages. Undefined when the gateway has no such endpoint
 * (404/405); a rejected token (401/403) and any other failure throw a GatepassError.
 */
async function listAt(url: string, token: string, fetchFn: FetchLike, timeoutMs: number) {
  const ids: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const pageUrl = after ? `${url}?limit=1000&after_id=${encodeURIComponent(after)}` : url;
    const res = await fetchFn(pageUrl, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        'anthropic-version': '2023-06-01',
      },
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((err: unknown) => {
      throw new GatepassError('E_IO', `GET ${url} failed: ${describeError(err)}`, { cause: err });
    });
    if (res.status === 404 || res.status === 405) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new GatepassError(
        'E_AUTH_FAILED',
        `GET ${url}: HTTP ${res.status}: the gateway rejected the token`,
        {
          hint: 'run `gatepass login`; if it persists the gateway wants another audience or scopes (`gatepass config set --audience …`)',
        },
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new GatepassError('E_IO', `GET ${url}: HTTP ${res.status}`);
    }
    const body = (await res.json().catch(() => undefined)) as
      | { data?: unknown; has_more?: unknown; last_id?: unknown }
      | undefined;
    if (!body || !Array.isArray(body.data))
      throw new GatepassError('E_IO', `GET ${url}: not a model list (no "data" array)`);
    for (const entry of body.data) {
      const id = (entry as { id?: unknown } | null)?.id;
      if (usableId(id) && !ids.includes(id) && ids.length < MAX_MODELS) ids.push(id);
    }
    if (ids.length >= MAX_MODELS) break;
    // Anthropic shape: more pages after last_id. The OpenAI shape has no has_more.
    if (body.has_more !== true || typeof body.last_id !== 'string' || body.last_id === after) break;
    after = body.last_id;
  }
  return ids;
}

/**
 * The gateway's models: its OpenAI-style list (after openai_path_prefix), else its Anthropic one
 * (after anthropic_path_prefix) when that is another path. Undefined: neither endpoint exists.
 */
export async function listModels(
  provider: Provider,
  token: string,
  fetchFn: FetchLike,
  timeoutMs = MODELS_TIMEOUT_MS,
): Promise<ModelListing | undefined> {
  const gateway = provider.gateway_url!;
  const urls = [modelsUrl(gateway, provider.openai_path_prefix)];
  const anthropic = modelsUrl(gateway, provider.anthropic_path_prefix);
  if (!urls.includes(anthropic)) urls.push(anthropic);
  for (const url of urls) {
    const models = await listAt(url, token, fetchFn, timeoutMs);
    if (models) return { url, models };
  }
  return undefined;
}

/** A fetch for `provider`'s gateway: its TLS options and egress proxy. */
export function gatewayFetch(provider: Provider, env: NodeJS.ProcessEnv): FetchLike {
  return tlsFetch(resolveTls(provider.tls, env), egressPlan(provider.network, env));
}

export interface DiscoveryOptions {
  /** `--models auto` given: discover even over a saved user-chosen list. */
  auto: boolean;
  /** `--models a,b` given: the user's list wins, nothing is discovered. */
  explicit: boolean;
  fetch?: FetchLike;
}

export interface Discovery {
  /** The discovered models (absent: keep the configured ones). */
  models?: string[];
  persist: FieldAssignment[];
}

/**
 * Setup's model step, once signed in. A list the user gives (`--models a,b`) or saved wins: nothing
 * is discovered, and a given list is no longer marked discovered. Otherwise the gateway's models
 * are listed with the provider's token (never a login) and returned with the assignments saving
 * them as discovered. A gateway without the endpoint, or one that fails, leaves the models as they
 * are (a note or a warning, never a failure).
 */
export async function discoverModelsStep(
  run: RunEnv,
  ctx: AuthContext,
  name: string,
  provider: Provider,
  options: DiscoveryOptions,
): Promise<Discovery> {
  const spec = (key: string) => findField(key)!;
  if (options.explicit) {
    return {
      persist:
        provider.models_discovered !== undefined
          ? [{ spec: spec('models_discovered'), value: undefined }]
          : [],
    };
  }
  const userChosen = Boolean(provider.models?.length) && provider.models_discovered !== true;
  if (userChosen && !options.auto) return { persist: [] };
  let listing: ModelListing | undefined;
  try {
    const { createTokenSource } = await import('../auth/factory.js');
    const source = await createTokenSource(ctx, name, provider);
    const { token } = await source.getToken({ interactive: false });
    listing = await listModels(provider, token, options.fetch ?? gatewayFetch(provider, run.env));
  } catch (err) {
    run.logger.warn(
      `could not list the gateway's models (${describeError(err)}); setup goes on without them`,
    );
    return { persist: [] };
  }
  if (!listing || listing.models.length === 0) {
    run.logger.info(
      `The gateway lists no models (${listing ? 'an empty list' : 'no /v1/models endpoint'}); give them with --models <id,…> if your tools need them.`,
    );
    return { persist: [] };
  }
  const shown = listing.models.slice(0, 8).map((m) => stripControl(m));
  const more = listing.models.length > shown.length ? ', …' : '';
  run.logger.info(`The gateway lists ${listing.models.length} model(s): ${shown.join(', ')}${more}`);
  return {
    models: listing.models,
    persist: [
      { spec: spec('models'), value: listing.models },
      { spec: spec('models_discovered'), value: true },
    ],
  };
}
