import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createEnvStore, envSecretNames } from '../../src/secrets/env.js';
import { createFileStore } from '../../src/secrets/file.js';
import { fileStoreDir, openSecretStore } from '../../src/secrets/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatepass-secrets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const paths = () => ({
  configFile: path.join(dir, 'c.yaml'),
  configDir: dir,
  cacheDir: dir,
  stateDir: dir,
  dataDir: dir,
});

describe('file store', () => {
  it('keeps each secret in a 0600 file inside a 0700 directory', async () => {
    const store = createFileStore(path.join(dir, 'secrets'));
    expect(await store.get('LLM_OAUTH_12345678')).toBeUndefined();
    await store.set('LLM_OAUTH_12345678', 'refresh-secret');
    expect(await store.get('LLM_OAUTH_12345678')).toBe('refresh-secret');
    expect(statSync(path.join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'secrets/LLM_OAUTH_12345678')).mode & 0o777).toBe(0o600);
    expect(await store.delete('LLM_OAUTH_12345678')).toBe(true);
    expect(await store.delete('LLM_OAUTH_12345678')).toBe(false);
  });

  it('refuses keys that could escape the directory', async () => {
    const store = createFileStore(path.join(dir, 'secrets'));
    for (const bad of ['../x', 'a/b', '.hidden', '']) {
      await expect(store.set(bad, 'v')).rejects.toMatchObject({ code: 'E_SECRET_STORE' });
    }
  });
});

describe('openSecretStore', () => {
  it('selects with GATEPASS_SECRET_STORE', async () => {
    const open = (v: string) =>
      openSecretStore({ paths: paths(), env: { GATEPASS_SECRET_STORE: v }, logger: silentLogger });
    expect((await open('env')).kind).toBe('env');
    expect((await open('memory')).kind).toBe('memory');
    const file = await open('file');
    expect(file.kind).toBe('file');
    expect(file.description).toContain(fileStoreDir(paths()));
    await expect(open('vault')).rejects.toMatchObject({ code: 'E_USAGE', exitCode: 2 });
  });

  it('env store reads GATEPASS_SECRET_<KEY>', async () => {
    const env = {
      GATEPASS_SECRET_STORE: 'env',
      GATEPASS_SECRET_LLM_OAUTH_12345678_AT: '{"access_token":"x"}',
    };
    const store = await openSecretStore({ paths: paths(), env, logger: silentLogger });
    expect(await store.get('LLM_OAUTH_12345678_AT')).toBe('{"access_token":"x"}');
  });

  it('env store: the key as gatepass names it (lower-case hex) or upper-cased', async () => {
    const env: NodeJS.ProcessEnv = {
      GATEPASS_SECRET_LLM_OAUTH_1a2b3c4d: 'refresh-exact',
      GATEPASS_SECRET_LLM_OAUTH_1A2B3C4D_AT: '{"access_token":"upper"}',
    };
    const store = createEnvStore(env);
    expect(await store.get('LLM_OAUTH_1a2b3c4d')).toBe('refresh-exact');
    expect(await store.get('LLM_OAUTH_1a2b3c4d_AT')).toBe('{"access_token":"upper"}');
    // A write (a rotated token) replaces whichever variable held it, for this process.
    await store.set('LLM_OAUTH_1a2b3c4d', 'refresh-rotated');
    expect(await store.get('LLM_OAUTH_1a2b3c4d')).toBe('refresh-rotated');
    expect(env['GATEPASS_SECRET_LLM_OAUTH_1a2b3c4d']).toBeUndefined();
    expect(await store.delete('LLM_OAUTH_1a2b3c4d_AT')).toBe(true);
    expect(await store.get('LLM_OAUTH_1a2b3c4d_AT')).toBeUndefined();
    expect(await store.delete('LLM_OAUTH_1a2b3c4d_AT')).toBe(false);
    expect(envSecretNames('a.b')).toEqual(['GATEPASS_SECRET_A_B']);
  });
});
