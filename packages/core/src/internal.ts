// @beyod/core/internal: what the CLI, the other packages' tests and the benches use beyond the
// public API (src/index.ts). Process machinery and building blocks; they may change in any
// release. Everything public is here too, so one import is enough.
export * from './index';
export { BaseConnection } from './BaseConnection';
export { isPlainObject } from './config';
export { formatPeer } from './Connection';
export { DeadlineEntry, type DeadlineOwner, DeadlineWheel, deadlines } from './DeadlineWheel';
export { FdBudget, fdBudget, isOutOfDescriptors } from './FdBudget';
export { configure, createObjectWith } from './objects';
export { ReceiveBuffer } from './ReceiveBuffer';
export { type UdpCounters, UdpListener } from './UdpListener';
export { type SocketAddress, parseSocketUrl } from './url';
export { cleanStaleUnixSocket } from './unixSocket';
export { ControlServer, type ControlRequest, controlRequest, controlSocketPath } from './process/control';
export { Master, type MasterOptions, type ReloadResult } from './process/Master';
export { acquirePidFile, isAlive, readPid, releasePidFile } from './process/pidFile';
export { SingleProcess } from './process/single';
export { dropPrivileges, runWorker } from './process/worker';
