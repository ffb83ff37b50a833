export * from './types.js';
export * from './cache.js';
export { cacheKey, type CacheKeyParts } from './key.js';
export type { StoredResponse } from './store.js';
