export * from './detector.js';
export * from './prober.js';
