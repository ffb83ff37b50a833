// meridian/client: the data SDK applications import (package export "./client").
// Depends on web-standard fetch only; nothing here may import a node-only module.
export { connect, type ConnectOptions, type CounterTables, type MeridianClient } from './connect.js';
export { MeridianDataError } from './errors.js';
export { Table } from './table.js';
export { Counter } from './counter.js';
export type { FetchLike } from './transport.js';
export type * from './types.js';
