/**
 * No Secret Service at all (no DBus session: SSH logins, containers, CI): the file store is used,
 * the user is told once, and nothing fails. (The e2e secret-store tests cover a DBus address that
 * points nowhere and a real keychain.)
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { makeTempHome, runGatepass } from '../helpers/cli.js';

it('without a DBus session the file store is used, with a one-time notice', async () => {
  // makeTempHome drops DBUS_SESSION_BUS_ADDRESS, DISPLAY and every GATEPASS_* variable.
  const t = makeTempHome({ GATEPASS_INTERACTIVE: '0' });
  try {
    expect(t.env['DBUS_SESSION_BUS_ADDRESS']).toBeUndefined();
    const set = await runGatepass(
      [
        'config',
        'set',
        '--gateway-url',
        'https://gw.example.test',
        '--issuer',
        'https://sso.example.test',
        '--client-id',
        'gp',
      ],
      { env: t.env },
    );
    expect(set.code, set.stderr).toBe(0);
    const first = await runGatepass(['logout'], { env: t.env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr.match(/no OS keychain is available/g)).toHaveLength(1);
    const dir = path.join(t.home, '.local/share/gatepass/secrets');
    expect(first.stderr).toContain(dir);
    for (const args of [['logout'], ['token']]) {
      const r = await runGatepass(args, { env: t.env });
      expect(r.stderr).not.toContain('no OS keychain');
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
  } finally {
    t.cleanup();
  }
});
