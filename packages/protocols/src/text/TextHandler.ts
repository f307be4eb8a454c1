import { type Endpoint, Handler, type HandoffEvent, type IOEvent, type MessageEvent } from '@beyod/core';

/** What a line callback returns: a line to send back, nothing, or a promise of either. */
export type LineReply = string | null | undefined | void;

/** Called with each line received (without its line end) and the connection it came from. */
export type LineCallback = (line: string, connection: Endpoint) => LineReply | Promise<LineReply>;

/**
 * A Handler for line protocols, used with text.Parser. Each line goes to onLine(): override it
 * in a subclass, or give `lineCallback` in the config (`handler: { class: text.Handler,
 * lineCallback }`). A string it returns (or resolves to) is sent back as a line; replies keep
 * the order of the lines even when some are asynchronous. Without either, lines are echoed.
 *
 * The line `quitCommand` ('quit'; '' for none) closes the connection after sending `quitReply`,
 * and `greeting`, when set, is sent to each client on connect.
 */
export class TextHandler extends Handler {
  /** Per-line callback, used by the default onLine(). */
  lineCallback: LineCallback | undefined = undefined;
  /** A line sent to each client when it connects ('' = none). */
  greeting = '';
  /** A line that closes the connection ('' = none); compared after trimming spaces. */
  quitCommand = 'quit';
  /** Sent before closing on quitCommand ('' = nothing). */
  quitReply = 'bye';
  /** Replies still being computed, per connection: later replies wait for them to keep the order. */
  readonly #tails = new WeakMap<Endpoint, Promise<void>>();

  /** Handle one line; the default calls lineCallback, or echoes the line when there is none. */
  onLine(line: string, connection: Endpoint): LineReply | Promise<LineReply> {
    return this.lineCallback ? this.lineCallback(line, connection) : line;
  }

  /** Live handoff: a connection whose replies are still being computed moves once they are sent. */
  protected override beforeHandoff(event: HandoffEvent): void {
    if (this.#tails.has(event.sender)) event.defer();
  }

  override onConnect(event: IOEvent): void {
    if (this.greeting !== '') event.sender.send(this.greeting);
  }

  override onMessage(event: MessageEvent): void | Promise<void> {
    const conn = event.sender;
    const line = String(event.message);
    const quit = this.quitCommand !== '' && line.trim() === this.quitCommand;
    const reply = quit ? this.quitReply || undefined : this.onLine(line, conn);
    const tails = this.#tails;
    const tail = tails.get(conn);
    if (tail === undefined && !isPromise(reply)) {
      respond(conn, reply, quit);
      return;
    }
    // Wait for the replies before this one, then for this one.
    const next = (tail ?? Promise.resolve()).then(() => reply).then((r) => respond(conn, r, quit));
    const release = (): void => {
      if (tails.get(conn) === settled) tails.delete(conn);
    };
    const settled: Promise<void> = next.then(release, release);
    tails.set(conn, settled);
    return next;
  }
}

function respond(conn: Endpoint, reply: LineReply, close: boolean): void {
  if (close) conn.close(reply ?? undefined);
  else if (typeof reply === 'string') conn.send(reply);
}

function isPromise(v: unknown): v is Promise<LineReply> {
  return v !== null && typeof v === 'object' && typeof (v as Promise<unknown>).then === 'function';
}
