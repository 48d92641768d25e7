/**
 * The local key in a request's query string (`?key=`, Gemini's API-key slot), parsed once for both
 * its readers so they cannot disagree: the guard accepts the key under exactly the spellings the
 * stripper removes before the request goes to the gateway (`key`, `k%65y`, `%6Bey`, repeated), as
 * application/x-www-form-urlencoded decodes names (URLSearchParams: `+` is a space, %XX a byte).
 */

export interface QueryKeys {
  /** Every value of a parameter whose decoded name is `key`, decoded. */
  keys: string[];
  /** The query without those parameters, every other byte as the client sent it ('' when none left). */
  rest: string;
}

function decodeComponent(s: string): string {
  const plus = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    // Malformed escapes stay literal (as URLSearchParams keeps them); valid ones are decoded.
    return new URLSearchParams(`x=${s.replace(/&/g, '%26').replace(/=/g, '%3D')}`).get('x') ?? plus;
  }
}

const NONE: QueryKeys = { keys: [], rest: '' };
let lastQuery = '';
let lastResult: QueryKeys = NONE;

/** Split `query` (the part after `?`, without it) into the local-key values and the rest. */
export function splitQueryKeys(query: string): QueryKeys {
  if (!query) return NONE;
  if (query === lastQuery) return lastResult;
  const keys: string[] = [];
  const kept: string[] = [];
  let removed = false;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    if (rawName.length >= 3 && decodeComponent(rawName) === 'key') {
      const v = eq < 0 ? '' : decodeComponent(part.slice(eq + 1));
      if (v) keys.push(v);
      removed = true;
      continue;
    }
    kept.push(part);
  }
  const result = { keys, rest: removed ? kept.join('&') : query };
  lastQuery = query;
  lastResult = result;
  return result;
}
