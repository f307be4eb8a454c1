/** Structured data of an RFC 5424 message: SD-ID → { param: value }. */
export type StructuredData = Record<string, Record<string, string>>;

/**
 * A syslog message as the parser decodes it. Parts the message does not carry are undefined
 * (RFC 5424's nil value "-" too). `error` says why a message is malformed; the parts read
 * before the problem are kept, `raw` always holds the whole text.
 */
export interface SyslogMessage {
  /** 0 (kern) .. 23 (local7); see FACILITIES. */
  facility: number | undefined;
  /** 0 (emerg) .. 7 (debug); see SEVERITIES. */
  severity: number | undefined;
  timestamp: Date | undefined;
  hostname: string | undefined;
  /** RFC 5424 APP-NAME, or RFC 3164's TAG. */
  appName: string | undefined;
  /** RFC 5424 PROCID, or the [pid] after an RFC 3164 TAG. */
  procId: string | undefined;
  msgId: string | undefined;
  structuredData: StructuredData | undefined;
  message: string | undefined;
  /** The message text as received (framing removed). */
  raw: string;
  /** Which syntax it was read as; 'unknown' when it has no valid PRI. */
  format: 'rfc5424' | 'rfc3164' | 'unknown';
  /** Why the message is malformed; undefined when it parsed. */
  error: string | undefined;
}

/** Facility names by number (RFC 5424 table 1). */
export const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

/** Severity names by number (RFC 5424 table 2). */
export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i;
const BSD_TIME = /^([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2})(?= |$)/;
const TAG = /^([^\s:[\]]{1,48})(?:\[([^\]\s]{0,128})\])?:(?: |$)/;

/**
 * Parse one syslog message (RFC 5424, or RFC 3164 / BSD). Never throws: what cannot be read is
 * reported in `error`. `now` places the year-less RFC 3164 timestamps (default: the clock).
 */
export function parseSyslog(raw: string, now: Date = new Date()): SyslogMessage {
  const m: SyslogMessage = {
    facility: undefined,
    severity: undefined,
    timestamp: undefined,
    hostname: undefined,
    appName: undefined,
    procId: undefined,
    msgId: undefined,
    structuredData: undefined,
    message: undefined,
    raw,
    format: 'unknown',
    error: undefined,
  };
  const close = raw.charCodeAt(0) === 0x3c ? raw.indexOf('>') : -1;
  const pri = close >= 2 && close <= 4 ? raw.slice(1, close) : '';
  if (!/^(?:0|[1-9]\d{0,2})$/.test(pri) || Number(pri) > 191) {
    m.message = raw;
    m.error = raw === '' ? 'empty message' : 'missing or invalid PRI (expected <0..191> at the start)';
    return m;
  }
  const p = Number(pri);
  m.facility = p >> 3;
  m.severity = p & 7;
  const rest = raw.slice(close + 1);
  if (/^[1-9]\d{0,2} /.test(rest)) parse5424(m, rest);
  else parse3164(m, rest, now);
  return m;
}

/** VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG] */
function parse5424(m: SyslogMessage, s: string): void {
  m.format = 'rfc5424';
  let pos = s.indexOf(' ') + 1;
  const fields: Array<string | undefined> = [];
  for (let i = 0; i < 5; i++) {
    const sp = s.indexOf(' ', pos);
    if (sp < 0) {
      m.error = `RFC 5424 header ends after ${i} of its 5 fields`;
      if (pos < s.length) fields.push(s.slice(pos));
      break;
    }
    fields.push(s.slice(pos, sp));
    pos = sp + 1;
  }
  const nil = (v: string | undefined) => (v === '-' || v === '' ? undefined : v);
  const ts = nil(fields[0]);
  if (ts !== undefined) {
    m.timestamp = RFC3339.test(ts) ? new Date(ts) : undefined;
    if (m.timestamp === undefined || Number.isNaN(m.timestamp.getTime())) {
      m.timestamp = undefined;
      m.error ??= `invalid timestamp ${JSON.stringify(ts)}`;
    }
  }
  m.hostname = nil(fields[1]);
  m.appName = nil(fields[2]);
  m.procId = nil(fields[3]);
  m.msgId = nil(fields[4]);
  if (fields.length < 5) return;
  if (pos >= s.length) {
    m.error ??= 'RFC 5424 message without STRUCTURED-DATA';
    return;
  }
  if (s[pos] === '-') {
    pos++;
  } else if (s[pos] === '[') {
    const sd: StructuredData = {};
    const end = parseStructuredData(s, pos, sd);
    if (end < 0) {
      m.error ??= 'malformed STRUCTURED-DATA';
      m.structuredData = sd;
      return;
    }
    m.structuredData = sd;
    pos = end;
  } else {
    m.error ??= 'STRUCTURED-DATA is neither "-" nor [...]';
    m.message = s.slice(pos);
    return;
  }
  if (pos < s.length) {
    if (s[pos] !== ' ') {
      m.error ??= 'no space between STRUCTURED-DATA and MSG';
      m.message = s.slice(pos);
      return;
    }
    m.message = s.charCodeAt(pos + 1) === 0xfeff ? s.slice(pos + 2) : s.slice(pos + 1);
  }
}

/** Parse SD-ELEMENTs from `pos` into `sd`; the index after them, or -1 when malformed. */
function parseStructuredData(s: string, pos: number, sd: StructuredData): number {
  while (s[pos] === '[') {
    pos++;
    const idEnd = scanName(s, pos);
    if (idEnd === pos) return -1;
    const params: Record<string, string> = (sd[s.slice(pos, idEnd)] ??= {});
    pos = idEnd;
    while (s[pos] === ' ') {
      pos++;
      const nameEnd = scanName(s, pos);
      if (nameEnd === pos || s[nameEnd] !== '=' || s[nameEnd + 1] !== '"') return -1;
      const name = s.slice(pos, nameEnd);
      pos = nameEnd + 2;
      let value = '';
      for (;;) {
        const c = s[pos];
        if (c === undefined) return -1;
        if (c === '"') break;
        if (c === '\\' && (s[pos + 1] === '"' || s[pos + 1] === '\\' || s[pos + 1] === ']')) {
          value += s[pos + 1];
          pos += 2;
        } else {
          value += c;
          pos++;
        }
      }
      params[name] = value;
      pos++;
    }
    if (s[pos] !== ']') return -1;
    pos++;
  }
  return pos;
}

/** SD-NAME: printable US-ASCII except '=', SP, ']' and '"'. */
function scanName(s: string, pos: number): number {
  while (pos < s.length) {
    const c = s.charCodeAt(pos);
    if (c <= 32 || c >= 127 || c === 0x3d || c === 0x5d || c === 0x22) break;
    pos++;
  }
  return pos;
}

/** "Mmm dd hh:mm:ss HOSTNAME TAG[pid]: MSG", with the usual variations. */
function parse3164(m: SyslogMessage, s: string, now: Date): void {
  m.format = 'rfc3164';
  let rest = s;
  const bsd = BSD_TIME.exec(rest);
  if (bsd) {
    m.timestamp = bsdDate(bsd, now);
    rest = rest.slice(bsd[0].length + 1);
  } else {
    // Senders such as rsyslog's forward format put an RFC 3339 timestamp here.
    const sp = rest.indexOf(' ');
    const token = sp < 0 ? rest : rest.slice(0, sp);
    if (RFC3339.test(token)) {
      const d = new Date(token);
      if (!Number.isNaN(d.getTime())) {
        m.timestamp = d;
        rest = sp < 0 ? '' : rest.slice(sp + 1);
      }
    }
  }
  if (m.timestamp !== undefined) {
    // The hostname comes next, unless the sender left it out and this is already the TAG.
    const sp = rest.indexOf(' ');
    const token = sp < 0 ? rest : rest.slice(0, sp);
    if (sp > 0 && !token.endsWith(':') && !token.includes('[')) {
      m.hostname = token;
      rest = rest.slice(sp + 1);
    }
  }
  const tag = TAG.exec(rest);
  if (tag) {
    m.appName = tag[1];
    m.procId = tag[2] || undefined;
    rest = rest.slice(tag[0].length);
  }
  m.message = rest;
}

/** An RFC 3164 date has no year: take the one that puts it closest before `now` (a day's clock skew allowed). */
function bsdDate(t: RegExpExecArray, now: Date): Date | undefined {
  const month = MONTHS[t[1]!];
  if (month === undefined) return undefined;
  const day = Number(t[2]);
  const [h, min, sec] = [Number(t[3]), Number(t[4]), Number(t[5])];
  if (day < 1 || day > 31 || h > 23 || min > 59 || sec > 60) return undefined;
  let d = new Date(now.getFullYear(), month, day, h, min, sec);
  if (d.getTime() - now.getTime() > 24 * 3600 * 1000) d = new Date(now.getFullYear() - 1, month, day, h, min, sec);
  return d;
}

/** What formatSyslog needs; the rest defaults (facility 1 user, severity 6 info, now, nil fields). */
export type SyslogInput = Partial<Omit<SyslogMessage, 'raw' | 'format' | 'error'>>;

/** An RFC 5424 line (no framing) for `msg`. */
export function formatSyslog(msg: SyslogInput): string {
  const pri = (msg.facility ?? 1) * 8 + (msg.severity ?? 6);
  const nil = (v: string | undefined) => (v === undefined || v === '' ? '-' : v.replace(/\s/g, '_'));
  let sd = '-';
  if (msg.structuredData !== undefined && Object.keys(msg.structuredData).length > 0) {
    sd = '';
    for (const [id, params] of Object.entries(msg.structuredData)) {
      sd += `[${id}`;
      for (const [k, v] of Object.entries(params)) sd += ` ${k}="${v.replace(/["\\\]]/g, (c) => `\\${c}`)}"`;
      sd += ']';
    }
  }
  const ts = (msg.timestamp ?? new Date()).toISOString();
  const head = `<${pri}>1 ${ts} ${nil(msg.hostname)} ${nil(msg.appName)} ${nil(msg.procId)} ${nil(msg.msgId)} ${sd}`;
  return msg.message === undefined ? head : `${head} ${msg.message}`;
}
