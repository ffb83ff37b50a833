export * from './types.js';
export * from './distance.js';
export * from './latency.js';
export * from './countries.js';
export * from './ip-locate.js';
export * from './catalog.js';
export * from './subnet.js';
export * from './compact-index.js';
