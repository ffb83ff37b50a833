export * from './node.js';
export * from './dns-zone.js';
