import { BeyodError, ErrorCodes } from '../errors';
import type { ConnectionInfo } from '../Server';
import type { ControlHandler, Hello } from './control';
import type { StatusReport } from './messages';
import type { ReloadResult } from './Reloader';

/** What `{"cmd":"stop"}` answers at once, before the drain. */
export interface StopInfo {
  pid: number;
  /** Open connections the workers will wait for. */
  connections: number;
  /** Seconds they wait at most (stopTimeout). */
  timeout: number;
}

/** What the control socket can be asked; the master and single-process mode both provide it. */
export interface ControlTarget {
  hello(): Hello;
  status(): StatusReport | Promise<StatusReport>;
  connections(): ConnectionInfo[] | Promise<ConnectionInfo[]>;
  /** Absent where there is nothing to reload into (single-process mode). */
  reload?(): Promise<ReloadResult>;
  /** Begin a graceful stop; answers at once (the drain goes on). */
  beginStop(): StopInfo | Promise<StopInfo>;
  /** Reopen the log file (logrotate moved it); answers with its path ('' when logging to stdout). */
  reopenLogs(): { logFile: string };
}

/**
 * The one place control commands are dispatched:
 * `hello` (who are you), `status`, `connections`, `reload`, `stop`, `reopen-logs`.
 */
export function controlHandler(target: ControlTarget): ControlHandler {
  return (req) => {
    switch (req.cmd) {
      case 'hello':
        return target.hello();
      case 'status':
        return target.status();
      case 'connections':
        return target.connections();
      case 'reload':
        if (!target.reload) throw new BeyodError(ErrorCodes.UNKNOWN_COMMAND, 'reload is not available in single-process mode');
        return target.reload();
      case 'stop':
        return target.beginStop();
      case 'reopen-logs':
        return target.reopenLogs();
      default:
        throw new BeyodError(ErrorCodes.UNKNOWN_COMMAND, `unknown control command '${req.cmd}'`);
    }
  };
}
