import { BeyodError, ErrorCodes } from '@beyod/core';
import { Client } from './Client';
import type { RedisClientOptions } from './options';
import type { RedisArg, RespValue } from './types';

/**
 * Dedicated connections for blocking commands (BZPOPMIN, BLPOP, XREAD BLOCK...): a blocking
 * command holds its connection until it is served, so each one in flight gets a connection of
 * its own, taken from the idle ones or opened for it, and handed back afterwards (at most
 * `maxIdle` are kept open).
 *
 * A connection that fails to connect rejects its command with the connect error (the command
 * was not sent); one lost while the command waits rejects it with BEYOD_REDIS_CONNECTION_LOST
 * (the command may have run). After close(), commands in flight reject with BEYOD_CLIENT_CLOSED.
 */
export class BlockingPool {
  private readonly idle: Client[] = [];
  private readonly busy = new Set<Client>();
  private closed = false;

  constructor(
    /** Options of each connection (target included); reconnection is always off. */
    private readonly options: RedisClientOptions,
    /** Connections kept open while no command needs them. */
    public maxIdle = 4,
  ) {}

  /** Commands waiting on a connection of this pool right now. */
  get active(): number {
    return this.busy.size;
  }

  /**
   * Run one command on a connection of its own; resolves with its reply. `asking`: send
   * ASKING first, on the same connection (a cluster's ASK redirection).
   */
  async run<T = RespValue>(args: ReadonlyArray<RedisArg>, asking = false): Promise<T> {
    if (this.closed) throw closedError(this.options.target);
    const client = this.idle.pop() ?? this.open();
    this.busy.add(client);
    try {
      if (!client.ready) await client.connect();
      if (asking) client.call('ASKING').catch(() => {});
      return await client.call<T>(String(args[0]), args.slice(1));
    } catch (e) {
      throw this.closed ? closedError(this.options.target) : e;
    } finally {
      this.busy.delete(client);
      if (!this.closed && client.ready && this.idle.length < this.maxIdle) this.idle.push(client);
      else void client.close();
    }
  }

  /** Close every connection at once; blocked commands fail with BEYOD_CLIENT_CLOSED. */
  close(): void {
    this.closed = true;
    // closeTimeout is 0: close() does not wait for the blocked replies, and it also stops a
    // connection still being opened (destroy() would miss that one).
    for (const c of this.idle.splice(0)) void c.close();
    for (const c of this.busy) void c.close();
  }

  private open(): Client {
    const client = new Client({ ...this.options, reconnectInterval: 0 });
    client.closeTimeout = 0;
    client.on('close', () => {
      const i = this.idle.indexOf(client);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return client;
  }
}

function closedError(target: string): BeyodError {
  return new BeyodError(ErrorCodes.CLIENT_CLOSED, `redis connections to ${target} were closed`, { target });
}
