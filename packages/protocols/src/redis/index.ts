export { Client, type SetOptions } from './Client';
export { ClientBase } from './ClientBase';
export type { PubSubMessage, RedisClientEvents, RedisClientOptions } from './options';
export { RedisErrorCodes, type RedisErrorCode } from './errors';
export { RespParser as Parser, RespParser, encodeCommand } from './RespParser';
export { Transaction, type QueuedCommand } from './Transaction';
export { type RedisArg, RedisReplyError, RespPush, type RespValue } from './types';
