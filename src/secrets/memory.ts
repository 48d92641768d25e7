import type { SecretStore } from './types.js';

/** A process-local store: for tests and for library callers that manage persistence themselves. */
export function createMemoryStore(initial: Record<string, string> = {}): SecretStore {
  const map = new Map(Object.entries(initial));
  return {
    kind: 'memory',
    description: 'in-memory (not persisted)',
    async get(key) {
      return map.get(key);
    },
    async set(key, value) {
      map.set(key, value);
    },
    async delete(key) {
      return map.delete(key);
    },
  };
}
