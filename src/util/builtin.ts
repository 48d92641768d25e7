/**
 * Built-in modules loaded where they are used instead of imported: a module of the token fast path
 * that imports node:crypto or node:child_process makes every cached token pay for loading it
 * (≈ 4–5 ms of CPU each), even when the code needing it never runs.
 */

/**
 * `process.getBuiltinModule` (Node ≥ 20.16 and ≥ 22.3); on Node 22.0–22.2, which lack it, the
 * bundle's `require` (every bundle has one: the CommonJS ones natively, the ES modules from their
 * `createRequire` banner, scripts/build.mjs).
 */
export const builtin = ((id: string) =>
  typeof process.getBuiltinModule === 'function'
    ? process.getBuiltinModule(id)
    : require(id)) as NodeJS.Process['getBuiltinModule'];
