import * as path from 'node:path';
import { BeyodError, ErrorCodes } from './errors';
import type { Transport } from './events';

/** A listen or target URL, understood. */
export interface SocketAddress {
  transport: Transport;
  /** Host without brackets (tcp, tls, udp). */
  host: string;
  port: number;
  /** Socket file (unix). */
  path: string;
  /** The URL as given. */
  url: string;
}

const SCHEMES: Record<string, Transport> = { tcp: 'tcp', tls: 'tls', ssl: 'tls', udp: 'udp', unix: 'unix' };

/**
 * Parse `tcp://host:port`, `tls://` (alias `ssl://`), `udp://host:port` and `unix:///path`.
 * IPv6 hosts go in brackets: `tcp://[::1]:9000`. A relative unix path (`unix://run/app.sock`)
 * resolves against `basePath`.
 */
export function parseSocketUrl(url: string, basePath = process.cwd()): SocketAddress {
  const bad = (why: string) =>
    new BeyodError(
      ErrorCodes.URL_INVALID,
      `invalid socket URL ${JSON.stringify(url)}: ${why}; expected tcp://host:port, tls://host:port, udp://host:port or unix:///path`,
      { url },
    );
  if (typeof url !== 'string') throw bad('not a string');
  const m = /^([a-z]+):\/\/(.*)$/i.exec(url);
  if (!m) throw bad('no scheme');
  const transport = SCHEMES[m[1]!.toLowerCase()];
  if (!transport) throw bad(`unknown scheme '${m[1]}'`);
  const rest = m[2]!;
  if (transport === 'unix') {
    if (!rest) throw bad('no socket path');
    return { transport, host: '', port: 0, path: path.resolve(basePath, rest), url };
  }
  const hp = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([^:/[\]]+)):(\d{1,5})\/?$/.exec(rest);
  if (!hp) throw bad('expected host:port');
  const port = Number(hp[3]);
  if (port > 65535) throw bad(`port ${port} is out of range 0..65535`);
  return { transport, host: hp[1] ?? hp[2]!, port, path: '', url };
}
