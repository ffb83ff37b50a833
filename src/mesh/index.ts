export * from './auth.js';
export * from './client.js';
