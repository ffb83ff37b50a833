export * from './coordinator.js';
export * from './errors.js';
export * from './leader.js';
export * from './open.js';
export { CoordCore, defaultCoreLimits, type Command as CoordCommand, type CoreLimits, type Failure as CoordFailure, type Reply as CoordReply, type StepResult as CoordStepResult } from './embedded-core.js';
export { EmbeddedCoordServer, type EmbeddedServerOptions } from './embedded-server.js';
export { EmbeddedCoordinator, type EmbeddedClientOptions } from './embedded-client.js';
export { EtcdCoordinator, type EtcdCoordinatorOptions } from './etcd.js';
