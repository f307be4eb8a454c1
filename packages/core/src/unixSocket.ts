import * as fs from 'node:fs';
import * as net from 'node:net';
import { BeyodError, ErrorCodes } from './errors';

/**
 * Before binding a unix socket path: a socket file left by a dead process is removed; one that
 * a live process answers on is an error (the address is in use); any other file is an error.
 */
export async function cleanStaleUnixSocket(path: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) {
    throw new BeyodError(ErrorCodes.LISTEN_FAILED, `cannot listen on unix://${path}: a file that is not a socket is in the way`, { path });
  }
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) {
    throw new BeyodError(ErrorCodes.LISTEN_FAILED, `cannot listen on unix://${path}: another process is listening there`, {
      path,
      errno: 'EADDRINUSE',
    });
  }
  fs.unlinkSync(path);
}
