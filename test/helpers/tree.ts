/** A directory tree as a plain object (path → mode and content), to assert that nothing changed. */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        walk(full);
      } else out[rel] = `file ${mode} ${readFileSync(full).toString('base64')}`;
    }
  };
  walk(root);
  return out;
}

/** The tree without directories alone (setup's lock creates gatepass' empty state directory). */
export function filesOf(tree: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).filter(([, v]) => !v.startsWith('dir ')));
}
