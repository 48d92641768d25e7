/**
 * The background proxy's record of the errors it makes itself (403 refusals, 401 no token, 502/504
 * gateway failures, with their cause), written to `proxy.log` in the state directory without `-v`:
 * one line each, redacted, control characters removed, the query string (which may hold the local
 * key) never written. The file is 0600 and bounded: past MAX_BYTES it is rotated to `proxy.log.1`.
 */
import { appendFileSync, renameSync, statSync } from 'node:fs';
import { redact } from '../redact.js';

export const MAX_LOG_BYTES = 1024 * 1024;

/** Rotate `file` to `<file>.1` when it is larger than `maxBytes` (before appending to it). */
export function rotateIfLarge(file: string, maxBytes = MAX_LOG_BYTES): void {
  try {
    if (statSync(file).size > maxBytes) renameSync(file, `${file}.1`);
  } catch {
    // No file yet, or it cannot be renamed: appending goes on (a full disk is not the proxy's to fix).
  }
}

/** A writer of error lines to `file`, rotated past `maxBytes`. Never throws. */
export function createErrorLog(
  file: string,
  maxBytes = MAX_LOG_BYTES,
  now: () => Date = () => new Date(),
): (method: string, url: string, status: number, message: string) => void {
  let size = -1;
  return (method, url, status, message) => {
    const path = url.split('?')[0]!;
    const line = redact(
      `${now().toISOString()} proxy: ${status} ${method} ${path}: ${message}`.replace(
        /[\u0000-\u001f\u007f-\u009f]/g,
        ' ',
      ),
    ).slice(0, 2000);
    try {
      if (size < 0) {
        try {
          size = statSync(file).size;
        } catch {
          size = 0;
        }
      }
      if (size + line.length + 1 > maxBytes && size > 0) {
        renameSync(file, `${file}.1`);
        size = 0;
      }
      appendFileSync(file, `${line}\n`, { mode: 0o600 });
      size += Buffer.byteLength(line) + 1;
    } catch {
      // Logging must never break a request.
    }
  };
}
