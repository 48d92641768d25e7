import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Integration and e2e tests run the built CLI: build it when it is missing or older than src/. */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '../..');
  const cli = path.join(root, 'dist/cli.cjs');
  const built = existsSync(cli) ? statSync(cli).mtimeMs : 0;
  if (built >= newestMtime(path.join(root, 'src'))) return;
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--no-types'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('build failed');
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}
