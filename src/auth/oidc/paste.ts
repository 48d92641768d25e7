/**
 * The pasted redirect of a remote login (kubelogin's authcode-keyboard): when the browser runs on
 * another machine (SSH, WSL without a bridge, containers) its redirect to the loopback callback
 * fails to load there, and the user pastes the address it ended on. This module reads that line and
 * judges it as the callback server would (same path, exactly one matching `state`, a code, or the
 * IdP's error); the code exchange (openid-client's authorizationCodeGrant) then checks state, `iss`
 * (RFC 9207) and PKCE again.
 */
import { createInterface } from 'node:readline';
import { AuthError } from '../../errors.js';
import { redact } from '../../redact.js';
import { judgeCallback } from './callback.js';

/** The prompt printed after the login URL. */
export function pastePrompt(redirectUri: string): string {
  return `If the browser runs on another machine, it ends on ${redirectUri}?… (a page that does not load):\ncopy that whole address from its address bar and paste it here, then press Enter.\n`;
}

/**
 * The URL the user pasted, checked like a request to the callback server. Accepts the full address
 * or just its query (`?code=…&state=…`).
 */
export function parsePastedRedirect(line: string, redirectUri: string, expectedState: string): URL {
  const text = line.trim();
  let url: URL;
  try {
    url = new URL(
      /^[?]?[\w-]+=/.test(text) ? `${redirectUri}${text.startsWith('?') ? '' : '?'}${text}` : text,
    );
  } catch {
    throw new AuthError('E_AUTH_FAILED', 'the pasted text is not a URL', {
      hint: `paste the whole address the browser ended on (it starts with ${redirectUri}?)`,
    });
  }
  const expected = new URL(redirectUri);
  if (url.origin !== expected.origin || url.pathname !== expected.pathname) {
    throw new AuthError('E_AUTH_FAILED', `the pasted address is not the login redirect (${redirectUri})`, {
      hint: 'paste the address the browser ended on after the login, not the login page itself',
    });
  }
  const verdict = judgeCallback('GET', url, expectedState);
  if (verdict.kind === 'reject') {
    throw new AuthError('E_AUTH_FAILED', `the pasted address was refused: ${verdict.message}`, {
      hint: 'paste the address from the login started by this command (an older or foreign one has another state)',
    });
  }
  if (verdict.kind === 'error') {
    const text = redact(verdict.description ? `${verdict.error}: ${verdict.description}` : verdict.error);
    throw new AuthError('E_AUTH_FAILED', `login failed at the identity provider: ${text.slice(0, 300)}`);
  }
  return url;
}

/** The first non-empty line on `input`; `cancel()` stops reading (and leaves the stream paused). */
export function readPastedLine(input: NodeJS.ReadableStream): { line: Promise<string>; cancel: () => void } {
  const rl = createInterface({ input, terminal: false });
  const line = new Promise<string>((resolve, reject) => {
    rl.on('line', (text) => {
      if (!text.trim()) return;
      resolve(text); // before close(), whose 'close' event would reject first
      rl.close();
    });
    rl.once('close', () =>
      reject(new AuthError('E_AUTH_FAILED', 'no redirect address was pasted (end of input)')),
    );
  });
  line.catch(() => {});
  return { line, cancel: () => rl.close() };
}
