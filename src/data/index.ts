// The data room's door for nodes: tables, placement, the data API. The client SDK has
// its own door (./client/index.ts) so that applications import none of this.
export { planOf, type TablePlan, type PlacementView } from './tables.js';
export { placeRead, placeWrite, type Placement, type Consistency, type RowFacts } from './placement.js';
export { parseDataRequest, dataPrefix, type DataRequest } from './route.js';
export { DataService, primaryPartition, dataFromHeader, reconcileEpochHeader, servedByHeader, type DataServiceOptions, type ReplicationHooks } from './service.js';
export { GroupWriter, QueueFullError } from './writer.js';
