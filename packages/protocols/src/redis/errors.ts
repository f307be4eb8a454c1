/**
 * Error codes of the Redis client and RESP parser. Codes are never reused or renumbered; each is
 * listed in docs/redis.md.
 */
export const RedisErrorCodes = {
  /** Redis answered a command with an error reply (`-ERR ...`); only that command's promise rejects. */
  REPLY: 'BEYOD_REDIS_REPLY',
  /** The server sent bytes that are not RESP; the connection is closed (and reconnected if configured). */
  PROTOCOL: 'BEYOD_REDIS_PROTOCOL',
  /** The connection was lost after the command was sent and before its reply arrived. */
  CONNECTION_LOST: 'BEYOD_REDIS_CONNECTION_LOST',
  /** A command waited for a connection longer than offlineTimeout. */
  OFFLINE_TIMEOUT: 'BEYOD_REDIS_OFFLINE_TIMEOUT',
  /** maxOfflineQueue commands already wait for a connection. */
  QUEUE_FULL: 'BEYOD_REDIS_QUEUE_FULL',
  /** A normal command on a RESP2 connection in pub/sub mode (only (P)SUBSCRIBE, (P)UNSUBSCRIBE, PING, QUIT, RESET are allowed). */
  SUBSCRIBER_MODE: 'BEYOD_REDIS_SUBSCRIBER_MODE',
  /** HELLO, AUTH, SELECT or CLIENT SETNAME failed when (re)connecting; the client stops. */
  HANDSHAKE_FAILED: 'BEYOD_REDIS_HANDSHAKE_FAILED',
  /** A command argument was not a string, number or Buffer. */
  BAD_ARGUMENT: 'BEYOD_REDIS_BAD_ARGUMENT',
  /** redis.Cluster: no seed node answered CLUSTER SLOTS when connecting. */
  CLUSTER_UNAVAILABLE: 'BEYOD_REDIS_CLUSTER_UNAVAILABLE',
  /** redis.Cluster: a command was redirected (MOVED / ASK) more than maxRedirections times. */
  CLUSTER_REDIRECTIONS: 'BEYOD_REDIS_CLUSTER_REDIRECTIONS',
} as const;

export type RedisErrorCode = (typeof RedisErrorCodes)[keyof typeof RedisErrorCodes];
