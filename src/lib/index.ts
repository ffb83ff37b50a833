export * from './ids.js';
export * from './units.js';
export * from './errors.js';
export * from './version.js';
export * from './log.js';
export * from './prng.js';
export * from './path-pattern.js';
export * from './hlc.js';
