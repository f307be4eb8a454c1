import { STATUS_CODES } from 'node:http';
import type { Endpoint, Listener } from '@beyod/core';
import { HttpRequest } from './HttpRequest';
import { HttpResponse } from './HttpResponse';
import { type HttpState, type ParseError, disarm } from './state';

/**
 * Answer a request the parser refused (400, 408, 413, 431 ...) after the responses queued
 * before it, then close. Parsing stops at once: nothing after a bad request is trusted.
 */
export function refuse(conn: Endpoint, state: HttpState, error: ParseError, request?: HttpRequest): void {
  state.failed = true;
  disarm(conn, state);
  conn.clearDeadline();
  (conn as Endpoint & { pause?: () => void }).pause?.();
  (conn as Endpoint & { listener?: Listener }).listener?.countBadPacket();
  const req = request ?? HttpRequest.refused(error, conn.peer);
  const res = new HttpResponse(req, conn, state);
  res.closesConnection = true;
  state.queue.push(res);
  res.status = error.status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\n`);
}
