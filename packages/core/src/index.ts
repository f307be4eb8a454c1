// The public API of @beyod/core. What the CLI and the tests need beyond it is in
// `@beyod/core/internal` (src/internal.ts): no compatibility promise there.
export { Application, type ApplicationOptions, type ObjectFactory } from './Application';
export {
  type AppConfig,
  type Class,
  type ComponentDefinition,
  type ListenerDefinition,
  type ServerDefinition,
  defineConfig,
  mergeConfig,
} from './config';
export { Connection } from './Connection';
export { inject, injectable, optional } from './di';
export { BeyodError, ConfigError, type ErrorCode, ErrorCodes, type SerializedError, badPacketError, toError } from './errors';
export {
  AdoptEvent,
  CloseEvent,
  type CloseReason,
  DeadlineEvent,
  type Endpoint,
  ErrorEvent,
  HandoffEvent,
  IOEvent,
  ListenerEvent,
  MessageEvent,
  ShutdownEvent,
  type ShutdownReason,
  type Transport,
  UdpPacketEvent,
} from './events';
export { Handler } from './Handler';
export { type ConnectionHandoff, HANDOFF_LATER, HANDOFF_NEVER, type StayReason, isJson } from './handoff';
export { Listener, type ListenerOptions, type ListenerStats, type TlsOptions } from './Listener';
export { type LogOptions, type Logger, createLogger, rootLogger, setRootLogger } from './logger';
export { type Encoded, Parser, type SendPolicy } from './Parser';
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
export type { ProcessStatus, StatusReport, WorkerStatus } from './process/messages';
