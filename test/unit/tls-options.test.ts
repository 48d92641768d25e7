/** The TLS config fields, the one-off flags and the TLS runtime helpers. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTlsFlags } from '../../src/cli/tls-flags.js';
import { applyAssignments, parseAssignments, unsetFields } from '../../src/config/edit.js';
import { emptyConfig, type Provider } from '../../src/config/schema.js';
import { normalizeConfig, validateConfig } from '../../src/config/validate.js';
import { resolveTls, tlsErrorCode } from '../../src/net/tls.js';

let dir: string;
let pem: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-tls-'));
  pem = path.join(dir, 'ca.pem');
  writeFileSync(pem, `${rootCertificates[0]}\n${rootCertificates[1]}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tls.ca_file / tls.skip_verify config fields', () => {
  it('set, cleared with false / unset, and no empty tls block left behind', () => {
    const config = emptyConfig();
    applyAssignments(
      config,
      'default',
      parseAssignments([
        ['tls.ca_file', pem],
        ['tls.skip_verify', 'yes'],
      ]),
    );
    expect(config.providers['default']!.tls).toEqual({ ca_file: pem, skip_verify: true });
    validateConfig(config);
    applyAssignments(config, 'default', parseAssignments([['tls.skip_verify', 'false']]));
    expect(config.providers['default']!.tls).toEqual({ ca_file: pem });
    unsetFields(config, 'default', ['tls.ca_file']);
    expect(config.providers['default']!).not.toHaveProperty('tls');
  });

  it('refuses a missing file, a file without certificates, a broken certificate, and non-booleans', () => {
    const noCert = path.join(dir, 'empty.pem');
    writeFileSync(noCert, 'hello');
    const broken = path.join(dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(() => parseAssignments([['tls.ca_file', path.join(dir, 'nope.pem')]])).toThrow(/does not exist/);
    expect(() => parseAssignments([['tls.ca_file', noCert]])).toThrow(/holds no PEM certificate/);
    expect(() => parseAssignments([['tls.ca_file', broken]])).toThrow(/not a valid X\.509 certificate/);
    expect(() => parseAssignments([['tls.skip_verify', 'maybe']])).toThrow(/must be true or false/);
  });

  it('a relative --ca-file is made absolute', () => {
    const rel = path.relative(process.cwd(), pem);
    const [a] = parseAssignments([['tls.ca_file', rel]]);
    expect(a!.value).toBe(pem);
  });

  it('a config file with a malformed tls block is refused with its path', () => {
    expect(() =>
      normalizeConfig({ providers: { default: { type: 'oidc', tls: 'yes', oidc: {} } } }, 'c.yaml'),
    ).toThrow(/providers\.default\.tls is not a mapping/);
    expect(() =>
      normalizeConfig(
        { providers: { default: { type: 'oidc', tls: { skip_verify: 'yes' }, oidc: {} } } },
        'c.yaml',
      ),
    ).toThrow(/providers\.default\.tls\.skip_verify is not a boolean/);
  });

  it('one-off flags change only the in-memory provider, and check the file', () => {
    const provider: Provider = { type: 'oidc', oidc: {} };
    applyTlsFlags(provider, { caFile: pem, tlsSkipVerify: true });
    expect(provider.tls).toEqual({ ca_file: pem, skip_verify: true });
    expect(() => applyTlsFlags(provider, { caFile: path.join(dir, 'nope.pem') })).toThrow(
      /invalid --ca-file: .*does not exist/,
    );
  });
});

describe('TLS runtime', () => {
  it('resolveTls: system roots plus the extra CAs; skip-verify turns verification off', () => {
    expect(resolveTls(undefined)).toBeUndefined();
    const r = resolveTls({ ca_file: pem }, {})!;
    expect(r.rejectUnauthorized).toBe(true);
    expect(r.ca!.length).toBe(rootCertificates.length + 2);
    expect(r.caFile).toBe(pem);
    expect(resolveTls({ skip_verify: true }, {})).toEqual({ rejectUnauthorized: false });
    expect(() => resolveTls({ ca_file: path.join(dir, 'gone.pem') }, {})).toThrow(
      /cannot read the CA bundle/,
    );
  });

  it('tlsErrorCode finds a certificate error in the cause chain', () => {
    const err = new TypeError('fetch failed', {
      cause: Object.assign(new Error('unable to verify the first certificate'), {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      }),
    });
    expect(tlsErrorCode(err)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(tlsErrorCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBeUndefined();
  });
});
