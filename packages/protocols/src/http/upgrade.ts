import type { Endpoint, Parser } from '@beyod/core';

const kSwitched = Symbol('beyod.http.switchedTo');
type Switchable = Endpoint & { [kSwitched]?: Parser<unknown, unknown> };

/**
 * The parser a connection was switched to (101 Switching Protocols), or undefined while it
 * speaks HTTP. http.Parser hands it whatever it is still given for that connection: every
 * byte, packet and message of an endpoint that cannot switch its own parser (a core
 * connection can: it then calls the new parser itself).
 */
export function switchedParser(conn: Endpoint): Parser<unknown, unknown> | undefined {
  return (conn as Switchable)[kSwitched];
}

/**
 * Hand `conn` over to `parser` for good: from now on its bytes are framed, decoded and its
 * messages encoded by `parser`, whose per-connection state is `state` (in conn.parserState,
 * replacing HTTP's). Nothing more is parsed as HTTP on this connection.
 */
export function switchConnection(conn: Endpoint, parser: Parser<unknown, unknown>, state: unknown): void {
  // http.Parser forwards to the new parser what it is still given for this endpoint …
  (conn as Switchable)[kSwitched] = parser;
  conn.parserState = state;
  // … but a core connection switches its own parser, and calls the new one directly (its
  // fast paths included) instead of going through http.Parser for every byte and message.
  const own = (conn as Endpoint & { _switchParser?: (p: Parser<unknown, unknown>, s: unknown) => void })._switchParser;
  if (typeof own === 'function') own.call(conn, parser, state);
}
