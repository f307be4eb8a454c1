import { BaseConnection, type BeyodError, type CloseReason, type Parser } from '@beyod/core/internal';

/**
 * Drives the real connection loop (BaseConnection) without a socket: feed chunks with
 * push(), read what came out. For parser tests that need thousands of cases.
 */
export class LoopHarness extends BaseConnection {
  readonly id = 0;
  readonly messages: unknown[] = [];
  readonly bad: BeyodError[] = [];
  readonly errors: Error[] = [];
  /** Largest receive-buffer length seen after a chunk was processed. */
  maxBuffered = 0;

  constructor(parser: Parser<unknown, unknown>) {
    super();
    this.parser = parser;
    this.peer = 'harness';
  }

  push(chunk: Buffer): void {
    if (this.bad.length) return; // the connection would be closed
    this._receive(chunk);
    this.maxBuffered = Math.max(this.maxBuffered, this.receiveBufferLength);
  }

  protected dispatchMessage(message: unknown): void {
    this.messages.push(message);
  }
  protected dispatchBadPacket(error: BeyodError): void {
    this.bad.push(error);
  }
  protected dispatchError(error: Error): void {
    this.errors.push(error);
  }
  protected dispatchBufferFull(): void {}
  protected dispatchBufferDrain(): void {}
  protected dispatchClose(_reason: CloseReason): void {}
}

/** Cut `data` into chunks at the given offsets. */
export function splitAt(data: Buffer, cuts: number[]): Buffer[] {
  const sorted = [...new Set(cuts.filter((c) => c > 0 && c < data.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  out.push(data.subarray(prev));
  return out;
}
