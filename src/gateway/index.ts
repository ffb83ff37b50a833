export * from './gateway.js';
export * from './errors.js';
export * from './headers.js';
export * from './exchange.js';
export * from './home.js';
export { forwardedFromHeader, replayedFromHeader } from './dispatch.js';
export { replayHeader, parseReplay } from './stages/replay.js';
export * from './upgrade.js';
export { noStoreFrom } from './residency.js';
