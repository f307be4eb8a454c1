export { Client, type ClientEvents, type ClientOptions, type ConnectOptions, type Delivery, type DispatcherResponse } from './Client';
export { DispatcherError, type DispatcherErrorCode, DispatcherErrorCodes, type WireCode, WireCodes, codeOfWire } from './errors';
export { type DispatcherStats, Handler } from './Handler';
export { BadBody, type Outgoing, type Packet, PacketParser, Parser, decodeBody, encodeJson, encodePacket } from './Parser';
export { Request } from './Request';
export type { Key } from './store/ChannelStore';
export { COMMANDS, type Command } from './wire';
export {
  BROADCAST_CHANNEL,
  type Backend,
  type ClientCloseEvent,
  type CreateClientOptions,
  type DeliveryEvent,
  type DispatcherClient,
  type DispatcherClientEvents,
  type QpopOptions,
  RedisDispatcherClient,
  type RedisDispatcherOptions,
  type RedisTarget,
  ShardedClient,
  createClient,
  fmix32,
  fnv1a32,
  parseTarget,
  place,
} from './backends';
