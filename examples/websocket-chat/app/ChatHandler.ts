import type { Connection } from '@beyod/core';
import { websocket } from '@beyod/protocols';

/** What the chat sends to browsers (JSON text frames). */
export type ChatEvent =
  | { type: 'welcome'; id: number; name: string }
  | { type: 'users'; users: Array<{ id: number; name: string }> }
  | { type: 'message'; id: number; from: string; text: string; time: string }
  | { type: 'error'; message: string };

const MAX_TEXT = 2000;
const MAX_NAME = 32;

/**
 * The chat of the original beyod app template: a browser page (served from public/ on the
 * same port) opens a WebSocket; messages go to everyone, and the user list is sent again
 * whenever someone joins, leaves or renames.
 *
 * Everything that goes to all users passes through publish(): with one worker it is a
 * broadcast to this listener's connections; to reach users on every worker, override it to
 * publish through the dispatcher and broadcast what the dispatcher delivers (docs/websocket.md).
 */
export class ChatHandler extends websocket.Handler {
  private guests = 0;

  override onHandshake(event: websocket.HandshakeEvent): void {
    const asked = event.request.query.name;
    const name = cleanName(typeof asked === 'string' ? asked : '') || `guest-${++this.guests}`;
    event.sender.attributes.set('name', name);
    this.sendTo(event.sender, { type: 'welcome', id: event.sender.id, name });
    this.publishUsers();
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
      this.publish({ type: 'message', id: conn.id, from: nameOf(conn), text: msg.text.slice(0, MAX_TEXT), time: new Date().toISOString() });
    } else if (msg.type === 'nick' && typeof msg.name === 'string' && cleanName(msg.name) !== '') {
      conn.attributes.set('name', cleanName(msg.name));
      this.publishUsers();
    } else {
      this.sendTo(conn, { type: 'error', message: 'expected {"type":"message","text":...} or {"type":"nick","name":...}' });
    }
  }

  override onClose(_event: websocket.WebSocketCloseEvent): void {
    this.publishUsers();
  }

  /** The users connected to this listener. */
  users(): Array<{ id: number; name: string }> {
    return [...this.clients()].map((c) => ({ id: c.id, name: nameOf(c) }));
  }

  /** Send an event to every user: the one place to plug in cross-worker delivery. */
  protected publish(event: ChatEvent): void {
    this.broadcast(JSON.stringify(event));
  }

  private publishUsers(): void {
    this.publish({ type: 'users', users: this.users() });
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
