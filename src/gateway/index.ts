export * from './gateway.js';
export * from './errors.js';
export * from './headers.js';
