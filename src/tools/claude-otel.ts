/**
 * Claude Code telemetry (`setup --otel-endpoint URL`): its OpenTelemetry exporter on (metrics and
 * log events over OTLP/HTTP to the collector) and `otelHeadersHelper` running `gatepass headers
 * --otel`, so every export carries the signed-in user's identity headers. Nothing is written
 * without an endpoint, so a setup without one takes these keys out again.
 */
import type { KeySetting } from './edit/types.js';
import { selfCommandLine } from './self.js';
import type { WireParams } from './types.js';

export function otelSettings(p: WireParams, platform: NodeJS.Platform): KeySetting[] {
  if (!p.otelEndpoint) return [];
  const env = (name: string, value: string): KeySetting => ({ path: ['env', name], value });
  return [
    { path: ['otelHeadersHelper'], value: selfCommandLine(p.self, ['headers', '--otel'], platform) },
    env('CLAUDE_CODE_ENABLE_TELEMETRY', '1'),
    env('OTEL_METRICS_EXPORTER', 'otlp'),
    env('OTEL_LOGS_EXPORTER', 'otlp'),
    env('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json'),
    env('OTEL_EXPORTER_OTLP_ENDPOINT', p.otelEndpoint.replace(/\/+$/, '')),
  ];
}
