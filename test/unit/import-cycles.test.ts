/**
 * No import circles in src/: the modules a module loads at run time (static imports and re-exports
 * that keep a value, and dynamic `import()`) never lead back to it. Type-only references (`import
 * type`, `import { type A }`, `export type … from`) are erased by the compiler and may be mutual,
 * as between a wire-engine client and the exchanges it owns; everything else is a circle to break.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Whether an import/export declaration loads its module at run time. */
function loadsAtRunTime(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isImportDeclaration(node)) {
    const clause = node.importClause;
    if (!clause) return true; // import './side-effect.js'
    if (clause.isTypeOnly) return false;
    if (clause.name) return true;
    const named = clause.namedBindings;
    if (!named || ts.isNamespaceImport(named)) return true;
    return named.elements.length === 0 || named.elements.some((e) => !e.isTypeOnly);
  }
  if (node.isTypeOnly) return false;
  const named = node.exportClause;
  if (!named || !ts.isNamedExports(named)) return true;
  return named.elements.length === 0 || named.elements.some((e) => !e.isTypeOnly);
}

/** The relative modules `source` loads at run time (as paths relative to src/). */
function runTimeImports(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (loadsAtRunTime(node)) specs.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      specs.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) => {
      const abs = path.resolve(path.dirname(file), s).replace(/\.js$/, '.ts');
      return path.relative(SRC, abs).split(path.sep).join('/');
    });
}

/** Strongly connected components of more than one module, or a module importing itself (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return out;
}

describe('import circles', () => {
  it('tells run-time imports from type-only ones', () => {
    const file = path.join(SRC, 'x/a.ts');
    const src = [
      "import type { A } from './t1.js';",
      "import { type B } from './t2.js';",
      "export type { C } from './t3.js';",
      "import { type D, e } from './v1.js';",
      "import './v2.js';",
      "export { f } from './v3.js';",
      "const g = () => import('./v4.js');",
      "import * as h from '../v5.js';",
      "import { x } from 'node:fs';",
    ].join('\n');
    expect(runTimeImports(file, src)).toEqual(['x/v1.ts', 'x/v2.ts', 'x/v3.ts', 'x/v4.ts', 'v5.ts']);
  });

  it('finds a circle, a self-import, and none in a chain', () => {
    const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
    expect(circles(g({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }))).toEqual([['a', 'b', 'c']]);
    expect(circles(g({ a: ['a'] }))).toEqual([['a']]);
    expect(circles(g({ a: ['b'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('src/ has none (static, re-exports and dynamic import() alike)', () => {
    const graph = new Map<string, string[]>();
    for (const file of sourceFiles(SRC)) {
      const rel = path.relative(SRC, file).split(path.sep).join('/');
      graph.set(rel, runTimeImports(file, readFileSync(file, 'utf8')));
    }
    expect(graph.size).toBeGreaterThan(100);
    expect(circles(graph)).toEqual([]);
  });
});
