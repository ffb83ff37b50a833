export * from './types.js';
export * from './cache.js';
export { cacheKey, type CacheKeyParts } from './key.js';
