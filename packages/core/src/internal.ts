// @beyod/core/internal: what the CLI, the other packages' tests and the benches use beyond the
// public API (src/index.ts). Process machinery and building blocks; they may change in any
// release. Everything public is here too, so one import is enough.
export * from './index';
export { BaseConnection } from './BaseConnection';
export { latin1Slice, utf8Write } from './bytes';
export { isPlainObject } from './config';
export { type HandoffAttempt, formatPeer, setConnectionIdBase } from './Connection';
export { stopReading } from './handoff';
export { DeadlineEntry, type DeadlineOwner, DeadlineWheel, deadlines } from './DeadlineWheel';
export { FdBudget, fdBudget, isOutOfDescriptors } from './FdBudget';
export { LogDestination, type LogDestinationOptions, prettyLog } from './logDestination';
export { logFileOf, reopenLog } from './logger';
export { configure, createObjectWith } from './objects';
export { ReceiveBuffer } from './ReceiveBuffer';
export { type UdpCounters, UdpListener } from './UdpListener';
export { type SocketAddress, parseSocketUrl } from './url';
export { cleanStaleUnixSocket } from './unixSocket';
export {
  ControlServer,
  type ControlRequest,
  type Hello,
  type SocketProbe,
  controlDir,
  controlRequest,
  controlSocketPath,
  probeSocket,
} from './process/control';
export { type ControlTarget, type StopInfo, controlHandler } from './process/ControlApi';
export { Master, type MasterOptions } from './process/Master';
export { type HandoffPlan, type HandoffProgress, moveConnections } from './process/mover';
export { isAlive, readPid, releasePidFile, writePidFile } from './process/pidFile';
export { type ReloadResult, type Replacement, describeChange } from './process/Reloader';
export { type MasterSettings, type SettingChange, checkApplication, diffSettings, isMasterSettings } from './process/settings';
export { type RegistryEntry, registerApp, registeredApps, registryDir } from './process/registry';
export { SingleProcess } from './process/single';
export { type ForkOptions } from './process/slots';
export { dropPrivileges, reportPhase, runWorker } from './process/worker';
