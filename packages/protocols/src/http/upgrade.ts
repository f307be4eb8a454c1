import type { Endpoint, Parser } from '@beyod/core';

const kSwitched = Symbol('beyod.http.switchedTo');
type Switchable = Endpoint & { [kSwitched]?: Parser<unknown, unknown> };

/**
 * The parser a connection was switched to (101 Switching Protocols), or undefined while it
 * speaks HTTP. The listener's parser stays http.Parser (core keeps one parser per listener),
 * which hands every byte of a switched connection to this one.
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
  (conn as Switchable)[kSwitched] = parser;
  conn.parserState = state;
}
