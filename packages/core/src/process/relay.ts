import type { Socket } from 'node:net';
import { stopReading } from '../handoff';
import type { Logger } from '../logger';
import type { ToWorker } from './messages';
import type { Slot } from './slots';

/*
 * The master's part of live handoff: a socket that a retiring process passed on goes to the
 * process now serving the same worker id (the slot's current one).
 */

/**
 * How long a moved connection may wait in the master for a process of its worker id that
 * accepts (its replacement died on the way and is being re-forked); then it is closed.
 */
const ADOPT_WAIT_MS = 10_000;

/**
 * Pass a moved connection on to slot `s`'s current process. Its reads are stopped first: node
 * starts reading a socket it receives, and what it read here would be lost when it is passed
 * on. If no process of that id accepts (the replacement died), it waits up to ADOPT_WAIT_MS.
 */
export function relay(s: Slot, msg: Extract<ToWorker, { t: 'beyod:adopt' }>, socket: Socket, log: Logger): void {
  stopReading(socket);
  s.adoptQueue.push({ msg, socket });
  flushAdoptions(s, log);
}

/** Give the moved connections waiting for slot `s` to its current process, if it accepts. */
export function flushAdoptions(s: Slot, log: Logger): void {
  const to = s.current;
  if (to && to.ready && to.role === 'current' && to.worker.isConnected()) {
    if (s.adoptTimer) clearTimeout(s.adoptTimer);
    s.adoptTimer = undefined;
    for (const { msg, socket } of s.adoptQueue.splice(0)) {
      s.forwarding++;
      to.worker.send(msg, socket, (err: Error | null) => {
        s.forwarding--;
        forwardDone(s);
        if (!err) return;
        socket.destroy();
        log.warn(
          { workerId: s.id, pid: to.pid, conn: msg.conn.id, err: err.message },
          'a moved connection could not be passed on; it is lost',
        );
      });
    }
    return;
  }
  if (s.adoptQueue.length === 0 || s.adoptTimer) return;
  s.adoptTimer = setTimeout(() => {
    s.adoptTimer = undefined;
    const lost = s.adoptQueue.splice(0);
    for (const { socket } of lost) socket.destroy();
    forwardDone(s);
    if (lost.length)
      log.error(
        { workerId: s.id, lost: lost.length },
        `${lost.length} moved connection(s) closed: no process of worker ${s.id} accepted them within ${ADOPT_WAIT_MS / 1000} s`,
      );
  }, ADOPT_WAIT_MS);
}

/**
 * Resolves once every moved connection of slot `s` that reached the master is written to the
 * channel of the process that adopts it (or given up): a status or connections query sent
 * after this is answered after they are adopted.
 */
export function adoptionsForwarded(s: Slot | undefined): Promise<void> {
  if (!s || (s.forwarding === 0 && s.adoptQueue.length === 0)) return Promise.resolve();
  return new Promise((resolve) => s.forwardWaiters.push(resolve));
}

/** Slot `s` is gone (workerNum lowered): close what waits for it. */
export function dropAdoptions(s: Slot): void {
  if (s.adoptTimer) clearTimeout(s.adoptTimer);
  s.adoptTimer = undefined;
  for (const { socket } of s.adoptQueue.splice(0)) socket.destroy();
  forwardDone(s);
}

function forwardDone(s: Slot): void {
  if (s.forwarding > 0 || s.adoptQueue.length > 0) return;
  for (const f of s.forwardWaiters.splice(0)) f();
}
