import { websocket } from '@beyod/protocols';

/** What the chat sends, as the PHP ChatHandler did: JSON with a message id, a type and data. */
export type ChatFrame =
  | { messageid: number; type: 'userlist'; data: Array<{ id: number; nickname: string | null }> }
  | { messageid: number; type: 'message'; data: Record<string, string | number> };

/**
 * The beyod-app's app\ChatHandler, same wire format: the page sends its form serialized
 * (`nickname=...&text=...`), everyone gets `{messageid, type: 'message', data}` with the
 * sender's id and the time added, and `{type: 'userlist'}` when someone joins, leaves or
 * takes a nickname.
 *
 * Differences: PHP sent the user list again with every message that carried a nickname (the
 * page's form always does); here only when the nickname changes. The room is the worker's
 * listener, as in PHP: with several workers, see examples/websocket-chat for one shared room.
 */
export class ChatHandler extends websocket.Handler {
  messageid = 0;

  // PHP: onHandshaked($event)
  override onHandshake(_event: websocket.HandshakeEvent): void {
    this.sendUserList();
  }

  // PHP: onClose(CloseEvent $event); the connection that left is no longer among the clients
  override onClose(_event: websocket.WebSocketCloseEvent): void {
    this.sendUserList();
  }

  // PHP: processData($event), with parse_str($event->message->body, $req)
  override onMessage(event: websocket.WebSocketMessageEvent): void {
    if (typeof event.message !== 'string') return;
    const req: Record<string, string | number> = Object.fromEntries(new URLSearchParams(event.message));
    req.id = event.sender.id;
    req.time = phpDate(new Date());
    const nickname = typeof req.nickname === 'string' ? req.nickname : '';
    if (nickname && nickname !== event.sender.attributes.get('nickname')) {
      event.sender.attributes.set('nickname', nickname);
      this.sendUserList();
    }
    this.send({ messageid: this.messageid, type: 'message', data: req });
    this.messageid++;
  }

  protected sendUserList(): void {
    const users = [...this.clients()].map((c) => ({ id: c.id, nickname: (c.attributes.get('nickname') as string | undefined) ?? null }));
    this.send({ messageid: this.messageid, type: 'userlist', data: users });
  }

  /** To every client of this listener, encoded once (PHP: a loop of $client->send($resp)). */
  protected send(frame: ChatFrame): void {
    this.broadcast(JSON.stringify(frame));
  }
}

/** PHP's date('Y-m-d H:i:s'), local time. */
function phpDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
