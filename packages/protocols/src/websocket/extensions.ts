/** One extension offered in Sec-WebSocket-Extensions: its name and parameters in order (true = no value). */
export interface ExtensionOffer {
  name: string;
  params: Array<[string, string | true]>;
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parse a Sec-WebSocket-Extensions value (RFC 6455 9.1: `name; param; param=value, name2 ...`,
 * values as tokens or quoted strings). Returns undefined when it does not follow the grammar:
 * the server then accepts no extension (the handshake itself goes on).
 */
export function parseExtensions(header: string): ExtensionOffer[] | undefined {
  const out: ExtensionOffer[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = (): string => {
    const from = i;
    while (i < n && !' \t,;="'.includes(header[i] as string)) i++;
    const t = header.slice(from, i);
    return TCHAR.test(t) ? t : '';
  };
  let current: ExtensionOffer | undefined;
  for (;;) {
    skipSpace();
    if (i >= n) break;
    if (header[i] === ',') {
      // empty list elements are allowed (RFC 9110 5.6.1)
      i++;
      continue;
    }
    const name = token();
    if (name === '') return undefined;
    current = { name: name.toLowerCase(), params: [] };
    out.push(current);
    for (;;) {
      skipSpace();
      if (i >= n || header[i] === ',') break;
      if (header[i] !== ';') return undefined;
      i++;
      skipSpace();
      const key = token();
      if (key === '') return undefined;
      skipSpace();
      let value: string | true = true;
      if (header[i] === '=') {
        i++;
        skipSpace();
        if (header[i] === '"') {
          i++;
          let v = '';
          while (i < n && header[i] !== '"') {
            if (header[i] === '\\') i++;
            v += header[i] ?? '';
            i++;
          }
          if (i >= n) return undefined;
          i++;
          // RFC 6455 9.1: a quoted value must be a token once unquoted.
          if (!TCHAR.test(v)) return undefined;
          value = v;
        } else {
          value = token();
          if (value === '') return undefined;
        }
      }
      current.params.push([key.toLowerCase(), value]);
    }
  }
  return out;
}
