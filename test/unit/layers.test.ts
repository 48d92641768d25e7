/**
 * The layer rule of ARCHITECTURE.md, checked on the real imports of src/ (static, `export … from`,
 * `import type` and dynamic `import()` alike): a module imports its own folder and folders of lower
 * layers only — never a folder above it or beside it in the same layer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

/**
 * Top to bottom. A name is a folder of src/ or a file directly in src/. The bottom layer is the
 * shared base (errors, redaction, logging, version, util): its members may import each other.
 */
const LAYERS: string[][] = [
  ['cli', 'index.ts'],
  ['doctor', 'mcp'],
  ['setup'],
  ['proxy'],
  ['auth'],
  ['secrets', 'net'],
  ['tools', 'config'],
  ['util', 'errors.ts', 'redact.ts', 'log.ts', 'version.ts'],
];
const BASE = LAYERS.length - 1;

interface Edge {
  from: string;
  to: string;
}

/** The folder (or root file) of a path relative to src/. */
function unitOf(rel: string): string {
  return rel.split('/')[0]!;
}

function layerOf(unit: string): number {
  return LAYERS.findIndex((layer) => layer.includes(unit));
}

/** Why an import breaks the rule, or undefined. */
function violation(edge: Edge): string | undefined {
  const a = unitOf(edge.from);
  const b = unitOf(edge.to);
  if (a === b) return undefined;
  const la = layerOf(a);
  const lb = layerOf(b);
  if (la < 0 || lb < 0) return `${la < 0 ? a : b} is in no layer`;
  if (la === BASE && lb === BASE) return undefined;
  if (lb < la) return `${a} imports ${b}, a higher layer`;
  if (lb === la) return `${a} imports ${b}, beside it in the same layer`;
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import of every module of src/, as paths relative to src/. */
function realImports(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages and node: builtins
      const target = path.resolve(path.dirname(file), fileName).replace(/\.js$/, '.ts');
      edges.push({
        from: path.relative(SRC, file).split(path.sep).join('/'),
        to: path.relative(SRC, target).split(path.sep).join('/'),
      });
    }
  }
  return edges;
}

describe('layers', () => {
  const edges = realImports();

  it('reads the imports of src/ (static, type-only and dynamic)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'cli/commands/setup.ts', to: 'setup/setup.ts' });
    // a type-only import and a dynamic import() are imports too
    expect(edges).toContainEqual({ from: 'secrets/index.ts', to: 'log.ts' });
    expect(edges).toContainEqual({ from: 'setup/sign-in.ts', to: 'auth/factory.ts' });
  });

  it('places every folder and root module of src/ in a layer', () => {
    const units = new Set(readdirSync(SRC).map((name) => unitOf(name)));
    for (const unit of units)
      expect(layerOf(unit), `${unit} is in no layer of LAYERS`).toBeGreaterThanOrEqual(0);
  });

  it('finds an upward import, an import beside it, and none in a downward one', () => {
    expect(violation({ from: 'tools/claude.ts', to: 'setup/common.ts' })).toBe(
      'tools imports setup, a higher layer',
    );
    expect(violation({ from: 'net/tls.ts', to: 'secrets/types.ts' })).toBe(
      'net imports secrets, beside it in the same layer',
    );
    expect(violation({ from: 'util/fs.ts', to: 'errors.ts' })).toBeUndefined();
    expect(violation({ from: 'setup/setup.ts', to: 'tools/index.ts' })).toBeUndefined();
    expect(violation({ from: 'cli/main.ts', to: 'util/fs.ts' })).toBeUndefined();
  });

  it('every import of src/ goes down the layers (cli → doctor → setup → proxy → auth → secrets/net → tools/config → base)', () => {
    const bad = edges
      .map((e) => ({ e, why: violation(e) }))
      .filter(({ why }) => why !== undefined)
      .map(({ e, why }) => `src/${e.from} → src/${e.to}: ${why}`);
    expect(bad).toEqual([]);
  });
});
