import 'reflect-metadata';

export { Application, type ApplicationOptions, type ObjectFactory, createObjectWith, configure } from './Application';
export { BaseConnection } from './BaseConnection';
export {
  type AppConfig,
  type Class,
  type ComponentDefinition,
  type ListenerDefinition,
  type ServerDefinition,
  defineConfig,
  isPlainObject,
  mergeConfig,
} from './config';
export { Connection, formatPeer } from './Connection';
export { BeyodError, ConfigError, type ErrorCode, ErrorCodes, type SerializedError, badPacketError, toError } from './errors';
export {
  CloseEvent,
  type CloseReason,
  DeadlineEvent,
  type Endpoint,
  ErrorEvent,
  IOEvent,
  ListenerEvent,
  MessageEvent,
  ShutdownEvent,
  type ShutdownReason,
  type Transport,
  UdpPacketEvent,
} from './events';
export { Handler } from './Handler';
export { Listener, type ListenerOptions, type ListenerStats, type TlsOptions } from './Listener';
export { type LogOptions, type Logger, createLogger, rootLogger, setRootLogger } from './logger';
export { type Encoded, Parser, type SendPolicy } from './Parser';
export { ReceiveBuffer } from './ReceiveBuffer';
export { SendBuffer } from './SendBuffer';
export {
  type ConnectionInfo,
  MAX_SERVER_ID,
  MAX_WORKER_ID,
  Server,
  type ServerOptions,
  type WorkerStats,
  gpidOf,
  parseGpid,
} from './Server';
export { StreamClient, type StreamClientEvents, type StreamClientOptions } from './StreamClient';
export { UdpPeer } from './UdpPeer';
export { type SocketAddress, parseSocketUrl } from './url';
export { cleanStaleUnixSocket } from './unixSocket';
export { inject, injectable, optional } from './di';
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
export type { ProcessStatus, StatusReport, WorkerStatus } from './process/messages';
export { isAlive, readPid, releasePidFile, writePidFile } from './process/pidFile';
export { type ReloadResult, describeChange } from './process/Reloader';
export { type MasterSettings, type SettingChange, checkApplication, diffSettings, isMasterSettings } from './process/settings';
export { SingleProcess } from './process/single';
export { type ForkOptions } from './process/slots';
export { dropPrivileges, reportPhase, runWorker } from './process/worker';
