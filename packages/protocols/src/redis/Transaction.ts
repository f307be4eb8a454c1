import type { RedisArg, RespValue } from './types';

/** A command of a transaction, with what turns its raw reply into the helper's result. */
export interface QueuedCommand {
  args: RedisArg[];
  transform: ((reply: RespValue) => unknown) | null;
}

/**
 * A MULTI/EXEC block, built with chained calls and sent by exec() in one write, so no other
 * command of the client comes between MULTI and EXEC:
 *
 *     const [n, v] = await client.multi().incr('n').get('k').exec();
 *
 * Nothing is sent before exec(); dropping the object discards the transaction.
 */
export class Transaction {
  private readonly commands: QueuedCommand[] = [];

  constructor(private readonly run: (commands: ReadonlyArray<QueuedCommand>) => Promise<RespValue[] | null>) {}

  /** Number of commands queued so far. */
  get length(): number {
    return this.commands.length;
  }

  /** Queue any command. */
  call(command: string, ...args: RedisArg[]): this {
    this.commands.push({ args: [command, ...args], transform: null });
    return this;
  }

  get(key: RedisArg): this {
    return this.call('GET', key);
  }

  set(key: RedisArg, value: RedisArg): this {
    return this.call('SET', key, value);
  }

  del(...keys: RedisArg[]): this {
    return this.call('DEL', ...keys);
  }

  incr(key: RedisArg): this {
    return this.call('INCR', key);
  }

  incrby(key: RedisArg, by: number): this {
    return this.call('INCRBY', key, by);
  }

  expire(key: RedisArg, seconds: number): this {
    return this.call('EXPIRE', key, seconds);
  }

  hset(key: RedisArg, field: RedisArg, value: RedisArg): this {
    return this.call('HSET', key, field, value);
  }

  hget(key: RedisArg, field: RedisArg): this {
    return this.call('HGET', key, field);
  }

  lpush(key: RedisArg, ...values: RedisArg[]): this {
    return this.call('LPUSH', key, ...values);
  }

  rpush(key: RedisArg, ...values: RedisArg[]): this {
    return this.call('RPUSH', key, ...values);
  }

  publish(channel: RedisArg, message: RedisArg): this {
    return this.call('PUBLISH', channel, message);
  }

  /**
   * Send MULTI, the commands and EXEC. Resolves with one result per command (a command that
   * failed while running is a RedisReplyError in the array), or null when a WATCHed key changed.
   * Rejects when the transaction was refused (EXECABORT, with the first queuing error).
   */
  exec(): Promise<RespValue[] | null> {
    return this.run(this.commands);
  }
}
