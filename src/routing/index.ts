// The routing room's door: the contract, route(), and the pieces the CLI quotes when it
// explains a decision (the stable hash behind weighted and multivalue picks, the bias rule).
export * from './types.js';
export { route } from './route.js';
export { stableHash, stableUnit } from './stable-hash.js';
export { biasedDistanceKm, maxBias } from './policies/proximity.js';
export * from './from-topology.js';
