export * from './ids.js';
export * from './units.js';
export * from './errors.js';
