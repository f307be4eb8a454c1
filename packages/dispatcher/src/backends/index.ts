export { type CreateClientOptions, createClient } from './createClient';
export { RedisDispatcherClient, type RedisDispatcherOptions } from './RedisDispatcherClient';
export { fmix32, fnv1a32, place } from './rendezvous';
export { BROADCAST_CHANNEL, ShardedClient } from './ShardedClient';
export { type Backend, type RedisTarget, parseTarget } from './targets';
export type { ClientCloseEvent, DeliveryEvent, DispatcherClient, DispatcherClientEvents, QpopOptions } from './types';
