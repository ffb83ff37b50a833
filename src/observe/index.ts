export * from './metrics.js';
export * from './data-metrics.js';
