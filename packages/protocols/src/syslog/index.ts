export { SyslogErrorCodes, type SyslogErrorCode } from './errors';
export {
  FACILITIES,
  SEVERITIES,
  type StructuredData,
  type SyslogInput,
  type SyslogMessage,
  formatSyslog as format,
  formatSyslog,
  parseSyslog as parse,
  parseSyslog,
} from './message';
export { SyslogParser as Parser, SyslogParser } from './SyslogParser';
