export * from './detector.js';
export * from './prober.js';
export * from './clock-offset.js';
