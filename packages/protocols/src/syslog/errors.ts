/** Error codes of the syslog parser; listed in docs/syslog.md. */
export const SyslogErrorCodes = {
  /** A TCP peer broke RFC 6587 octet-counting framing (no length before the message); that connection is closed. */
  FRAMING: 'BEYOD_SYSLOG_FRAMING',
} as const;

export type SyslogErrorCode = (typeof SyslogErrorCodes)[keyof typeof SyslogErrorCodes];
