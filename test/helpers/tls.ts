/**
 * A throwaway certificate authority for TLS tests, made with the `openssl` CLI in a temp dir: a CA
 * and a server certificate for 127.0.0.1 / localhost signed by it (what a corporate TLS-inspecting
 * proxy or an internal IdP looks like to gatepass: a chain to a root the system does not trust).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate (what --ca-file gets). */
  caFile: string;
  /** Server certificate and key (PEM text), for https.createServer. */
  server: { cert: string; key: string };
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `dnsNames`: extra host names the server certificate is valid for (besides 127.0.0.1 and localhost). */
export function makeTestCa(dnsNames: string[] = []): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatepass-ca-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=gatepass test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(
    path.join(dir, 'server.ext'),
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost${dnsNames.map((d) => `,DNS:${d}`).join('')}\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    server: {
      cert: readFileSync(path.join(dir, 'server.pem'), 'utf8'),
      key: readFileSync(path.join(dir, 'server.key'), 'utf8'),
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
