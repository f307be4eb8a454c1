/*
 * A stand-in for net.Socket for the JavaScript-only benches (bench/jsonly.ts,
 * bench/dispatcher/jsonly.ts): a Connection runs on it without the kernel. Never in tests.
 */
import { EventEmitter } from 'node:events';

/** What Connection uses of a net.Socket; write() counts bytes and calls back at once. */
export class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  bytesRead = 0;
  bytesWritten = 0;
  writableLength = 0;
  destroyed = false;
  write(data: string | Buffer, cb?: () => void): boolean {
    this.bytesWritten += data.length;
    if (cb) process.nextTick(cb);
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  end(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}
