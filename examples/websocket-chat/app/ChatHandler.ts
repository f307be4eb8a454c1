import type { AdoptEvent, Connection, ListenerEvent, Logger } from '@beyod/core';
import { Client, type Delivery } from '@beyod/dispatcher';
import { websocket } from '@beyod/protocols';

/** A chat user; `id` is unique across workers ("<gpid>-<connection id>"). */
export interface User {
  id: string;
  name: string;
}

/** What the chat sends to browsers (JSON text frames). */
export type ChatEvent =
  | { type: 'welcome'; id: string; name: string }
  | { type: 'users'; users: User[] }
  | { type: 'message'; id: string; from: string; text: string; time: string }
  | { type: 'error'; message: string };

/** What workers tell each other on the dispatcher channel. */
type Notice =
  | { kind: 'event'; event: ChatEvent } // for every user of every worker
  | { kind: 'users'; gpid: number; users: User[] } // the users on worker `gpid` now
  | { kind: 'hello'; gpid: number }; // a worker (re)joined: everyone announce your users

const MAX_TEXT = 2000;
const MAX_NAME = 32;

/**
 * The chat of the original beyod app template: a browser page (served from public/ on the
 * same port) opens a WebSocket; messages go to everyone, and the user list is sent again
 * whenever someone joins, leaves or renames.
 *
 * With `dispatcher` set (a dispatcher's address), workers share the room: everything for all
 * users goes through publish() to the dispatcher channel `channel`, and each worker hands what
 * the dispatcher delivers to its own users; each worker also publishes its user list, so every
 * browser sees everyone. Without a dispatcher — or while it is unreachable — a worker is a room
 * of its own (with workerNum 1, that is everyone).
 */
export class ChatHandler extends websocket.Handler {
  /** The dispatcher, e.g. tcp://127.0.0.1:2491 ('' = this worker only). */
  dispatcher = '';
  /** The dispatcher channel the workers share. */
  channel = 'chat';
  private client: Client | undefined;
  private guests = 0;
  /** A user list announcement is scheduled (adopted users arrive in bursts). */
  private announcing = false;
  /** Users of every worker, by GPID, as last announced (ours included). */
  private readonly rooms = new Map<number, User[]>();

  private get gpid(): number {
    return this.listener?.server?.getGpid() ?? 0;
  }

  private get logger(): Logger | undefined {
    return this.listener?.logger;
  }

  override onStartAccept(event: ListenerEvent): void {
    super.onStartAccept(event);
    if (this.dispatcher) this.connectDispatcher();
  }

  override async onStopAccept(event: ListenerEvent): Promise<void> {
    await super.onStopAccept(event);
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  override onHandshake(event: websocket.HandshakeEvent): void {
    const asked = event.request.query.name;
    const name = cleanName(typeof asked === 'string' ? asked : '') || `guest-${this.nextGuest()}`;
    event.sender.attributes.set('name', name);
    this.sendTo(event.sender, { type: 'welcome', id: this.idOf(event.sender), name });
    this.usersChanged();
  }

  override onMessage(event: websocket.WebSocketMessageEvent): void {
    const conn = event.sender;
    let msg: { type?: unknown; text?: unknown; name?: unknown };
    try {
      msg = typeof event.message === 'string' ? (JSON.parse(event.message) as typeof msg) : {};
    } catch {
      msg = {};
    }
    if (msg.type === 'message' && typeof msg.text === 'string' && msg.text.trim() !== '') {
      this.publish({
        type: 'message',
        id: this.idOf(conn),
        from: nameOf(conn),
        text: msg.text.slice(0, MAX_TEXT),
        time: new Date().toISOString(),
      });
    } else if (msg.type === 'nick' && typeof msg.name === 'string' && cleanName(msg.name) !== '') {
      conn.attributes.set('name', cleanName(msg.name));
      this.usersChanged();
    } else {
      this.sendTo(conn, { type: 'error', message: 'expected {"type":"message","text":...} or {"type":"nick","name":...}' });
    }
  }

  override onClose(_event: websocket.WebSocketCloseEvent): void {
    this.usersChanged();
  }

  /**
   * A user moved here from the previous process of this worker (a reload: live handoff). The
   * name moved with the connection (an attribute); announce the new user list once the
   * connections that move together are all here, and hand out guest numbers after theirs.
   */
  override onAdopt(event: AdoptEvent): void {
    const guest = /^guest-(\d+)$/.exec(nameOf(event.sender as Connection));
    const server = this.listener?.server;
    const n = server ? server.workerNum : 1;
    const w = server?.getWorkerId() || 1;
    if (guest && (Number(guest[1]) - w) % n === 0) this.guests = Math.max(this.guests, (Number(guest[1]) - w) / n + 1);
    if (this.announcing) return;
    this.announcing = true;
    setImmediate(() => {
      this.announcing = false;
      this.usersChanged();
    });
  }

  /** The users connected to this worker's listener. */
  users(): User[] {
    return [...this.clients()].map((c) => ({ id: this.idOf(c), name: nameOf(c) }));
  }

  /** Send an event to every user: the one place where cross-worker delivery plugs in. */
  protected publish(event: ChatEvent): void {
    if (!this.share({ kind: 'event', event })) this.deliver(event);
  }

  /** Hand an event to this worker's users. */
  protected deliver(event: ChatEvent): void {
    this.broadcast(JSON.stringify(event));
  }

  private usersChanged(): void {
    const users = this.users();
    this.rooms.set(this.gpid, users);
    if (!this.share({ kind: 'users', gpid: this.gpid, users })) this.deliver({ type: 'users', users });
  }

  /** Publish a notice to every worker; false when there is no dispatcher to do it. */
  private share(notice: Notice): boolean {
    const client = this.client;
    if (!client?.connected) return false;
    client.publish(this.channel, notice).catch((e: Error) => {
      this.logger?.warn({ err: e.message }, 'chat: publish through the dispatcher failed; delivering here only');
      if (notice.kind === 'event') this.deliver(notice.event);
    });
    return true;
  }

  private connectDispatcher(): void {
    const client = new Client({ target: this.dispatcher, defaultChannel: this.channel, reconnectInterval: 2 });
    client.on('message', (e) => this.onNotice(e.message));
    client.on('connect', () => {
      this.logger?.info({ dispatcher: this.dispatcher }, 'chat: sharing the room through the dispatcher');
      this.share({ kind: 'hello', gpid: this.gpid });
      this.usersChanged();
    });
    client.on('error', (err) =>
      this.logger?.warn(
        { dispatcher: this.dispatcher, err: err.message },
        'chat: dispatcher unreachable; this worker is a room of its own',
      ),
    );
    this.client = client;
    void client.connect().catch(() => {});
  }

  private onNotice(delivery: Delivery): void {
    const notice = delivery.value as Notice;
    if (notice.kind === 'event') this.deliver(notice.event);
    else if (notice.kind === 'hello' && notice.gpid !== this.gpid) this.usersChanged();
    else if (notice.kind === 'users') {
      if (notice.users.length) this.rooms.set(notice.gpid, notice.users);
      else this.rooms.delete(notice.gpid);
      this.deliver({ type: 'users', users: [...this.rooms.values()].flat() });
    }
  }

  private idOf(conn: Connection): string {
    return `${this.gpid}-${conn.id}`;
  }

  /** Guest numbers unique across workers: worker w of n hands out w, w + n, w + 2n, ... */
  private nextGuest(): number {
    const server = this.listener?.server;
    const n = server ? server.workerNum : 1;
    const w = server?.getWorkerId() || 1;
    return w + n * this.guests++;
  }

  private sendTo(conn: Connection, event: ChatEvent): void {
    conn.send(JSON.stringify(event));
  }
}

function nameOf(conn: Connection): string {
  return String(conn.attributes.get('name') ?? `user-${conn.id}`);
}

/** A display name: printable, trimmed, at most MAX_NAME characters. */
function cleanName(name: string): string {
  return name
    .replace(/[\p{C}]/gu, '')
    .trim()
    .slice(0, MAX_NAME);
}
