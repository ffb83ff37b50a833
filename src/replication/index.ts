// The replication room's door.
export { Replicator, type ReplicatorOptions, type ReplicationStatus, type InboundStatus } from './replicator.js';
export { defaultReplicationConfig, checkReplicationConfig, type ReplicationConfig } from './config.js';
export type { MayStoreAt } from './batch.js';
export type { BatchMessage, BatchReply } from './messages.js';
export { initialLeadership, step as stepLeadership, caughtUp, reconciled, mayServe, type LeadershipState, type LeadershipInput, type LeadershipEffect, type LeadershipConfig, type LeaderRecord } from './leadership.js';
export { acceptSync, pushSync, syncPath, type SyncMessage, type SyncAnswer } from './sync.js';
