/**
 * llhttp, the parser inside node:http, reached through node's internal `_http_common` binding: the
 * reference the wire engine's own parser and head writers are checked against (test/unit/http1.test.ts,
 * test/unit/heads-out.test.ts).
 */
import { createRequire } from 'node:module';

export interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  close(): void;
  [k: number]: unknown;
}

export const llhttpCommon = createRequire(import.meta.url)('_http_common') as {
  HTTPParser: {
    new (): LlhttpParser;
    REQUEST: number;
    RESPONSE: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
  };
  /** Method names by llhttp's method number. */
  methods: string[];
};
