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
export { ControlServer, type ControlRequest, controlRequest, controlSocketPath } from './process/control';
export { Master, type MasterOptions, type ReloadResult } from './process/Master';
export type { StatusReport, WorkerStatus } from './process/messages';
export { acquirePidFile, isAlive, readPid, releasePidFile } from './process/pidFile';
export { SingleProcess } from './process/single';
export { dropPrivileges, runWorker } from './process/worker';
