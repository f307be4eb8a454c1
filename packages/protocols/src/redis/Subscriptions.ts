import type { PubSubMessage } from './options';
import type { RedisArg, RespValue } from './types';

/** 0: channels (SUBSCRIBE), 1: patterns (PSUBSCRIBE), 2: shard channels (SSUBSCRIBE). */
export type SubKind = 0 | 1 | 2;

/** What a (p|s)(un)subscribe command waits for. */
export interface SubWait {
  kind: SubKind;
  subscribe: boolean;
  /** Confirmations still expected; -1: every subscription of that kind (unsubscribe with no arguments). */
  remaining: number;
}

/** The (un)subscribe commands, by name in lower case: also the kinds of their confirmations. */
export const SUBSCRIPTION_COMMANDS = new Map<string, { kind: SubKind; subscribe: boolean }>([
  ['subscribe', { kind: 0, subscribe: true }],
  ['unsubscribe', { kind: 0, subscribe: false }],
  ['psubscribe', { kind: 1, subscribe: true }],
  ['punsubscribe', { kind: 1, subscribe: false }],
  ['ssubscribe', { kind: 2, subscribe: true }],
  ['sunsubscribe', { kind: 2, subscribe: false }],
]);

const PREFIX = ['', 'P', 'S'] as const;

/**
 * The subscriptions of one client: those the server confirmed (restored after a reconnect),
 * the ones being made, and whether the server holds the connection in RESP2 subscriber mode.
 */
export class Subscriptions {
  private readonly sets: [Set<string>, Set<string>, Set<string>] = [new Set(), new Set(), new Set()];
  /** (P|S)SUBSCRIBE commands not yet confirmed. */
  subscribing = 0;
  /** RESP2: the server has the connection in subscriber mode (replies may be deliveries). */
  serverSide = false;

  /** Subscribed, or subscribing, to anything. */
  get active(): boolean {
    return this.subscribing > 0 || this.sets[0].size + this.sets[1].size + this.sets[2].size > 0;
  }

  list(): { channels: string[]; patterns: string[]; shardChannels: string[] } {
    return { channels: [...this.sets[0]], patterns: [...this.sets[1]], shardChannels: [...this.sets[2]] };
  }

  summary(): string {
    const [c, p, s] = this.sets;
    return `${c.size} channels, ${p.size} patterns, ${s.size} shard channels`;
  }

  /** The commands that subscribe again to everything, after a reconnect. */
  restore(): Array<{ args: RedisArg[]; wait: SubWait }> {
    const out: Array<{ args: RedisArg[]; wait: SubWait }> = [];
    for (const kind of [0, 1, 2] as const) {
      const set = this.sets[kind];
      if (set.size > 0) out.push({ args: [`${PREFIX[kind]}SUBSCRIBE`, ...set], wait: { kind, subscribe: true, remaining: set.size } });
    }
    return out;
  }

  /**
   * Record a confirmation [kind, channel | null, count]. Returns the subscription count when it
   * completes `wait` (the command at the head of the pipeline), undefined otherwise (more
   * confirmations to come, or an unsolicited one, e.g. after an ACL change).
   */
  confirm(kind: SubKind, subscribe: boolean, data: RespValue[], wait: SubWait | null | undefined): number | undefined {
    const set = this.sets[kind];
    const channel = data[1] === null || data[1] === undefined ? null : str(data[1]);
    if (channel !== null) {
      if (subscribe) set.add(channel);
      else set.delete(channel);
    }
    const count = typeof data[2] === 'number' ? data[2] : 0;
    this.serverSide = this.sets[0].size + this.sets[1].size + this.sets[2].size > 0 || count > 0;
    if (!wait || wait.kind !== kind || wait.subscribe !== subscribe) return undefined;
    const done = wait.remaining > 0 ? --wait.remaining === 0 : set.size === 0 || channel === null;
    return done ? count : undefined;
  }
}

/** A delivery ([message, channel, payload] or [pmessage, pattern, channel, payload]), or undefined. */
export function delivery(data: RespValue[]): PubSubMessage | undefined {
  const kind = str(data[0]);
  if (kind === 'pmessage') return { kind, pattern: str(data[1]), channel: str(data[2]), message: data[3] as string | Buffer };
  if (kind === 'message' || kind === 'smessage') return { kind, channel: str(data[1]), message: data[2] as string | Buffer };
  return undefined;
}

export function str(v: RespValue | undefined): string {
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : String(v);
}
