export * from './types.js';
export { Store, ResidencyRefusal, PartitionUnreconciled, type StoreOptions, type Idempotency } from './store.js';
export { mergeRow, mergeSlot } from './merge.js';
export { bucketCount, bucketOf, classKey, parseClassKey } from './digest.js';
