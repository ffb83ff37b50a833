export * from './schema.js';
export * from './problem.js';
export * from './load.js';
export * from './derived.js';
export * from './geo-keys.js';
