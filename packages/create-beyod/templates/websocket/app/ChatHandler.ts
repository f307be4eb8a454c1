import { websocket } from '@beyod/protocols';

const MAX_TEXT = 2000;

/**
 * A chat room: every message goes to everyone connected to this worker. The page comes from
 * public/ on the same port (the handler is an HTTP handler too); browsers connect to /ws.
 */
export class ChatHandler extends websocket.Handler {
  private guests = 0;

  override onHandshake(event: websocket.HandshakeEvent): void {
    const name = `guest-${++this.guests}`;
    event.sender.attributes.set('name', name);
    event.sender.send(JSON.stringify({ type: 'welcome', name }));
    this.broadcast(JSON.stringify({ type: 'joined', name }), event.sender);
  }

  override onMessage(event: websocket.WebSocketMessageEvent): void {
    if (typeof event.message !== 'string') return; // text frames only
    const text = event.message.trim().slice(0, MAX_TEXT);
    if (!text) return;
    const from = event.sender.attributes.get('name');
    this.broadcast(JSON.stringify({ type: 'message', from, text }));
  }

  override onClose(event: websocket.WebSocketCloseEvent): void {
    this.broadcast(JSON.stringify({ type: 'left', name: event.sender.attributes.get('name') }));
  }
}
