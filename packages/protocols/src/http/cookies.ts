/** Options of a Set-Cookie header. */
export interface CookieOptions {
  /** Seconds until the cookie expires (Max-Age). */
  maxAge?: number;
  expires?: Date;
  path?: string;
  domain?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

// RFC 6265 cookie-name is a token; cookie values are percent-encoded here so any string is safe.
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const ATTR = /^[^\0-\x1f\x7f;]*$/;

/** Parse a Cookie request header into name -> value (values percent-decoded when valid), in an object without a prototype. */
export function parseCookies(header: string | undefined): Record<string, string> {
  // no prototype: a cookie named __proto__ or constructor is a cookie like any other
  const out = Object.create(null) as Record<string, string>;
  if (!header) return out;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name === '' || name in out) continue;
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

/** The value of a Set-Cookie header; throws TypeError on a name or attribute that would break the header. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!NAME.test(name)) throw new TypeError(`invalid cookie name ${JSON.stringify(name)}`);
  let out = `${name}=${encodeURIComponent(value)}`;
  if (options.maxAge !== undefined) out += `; Max-Age=${Math.floor(options.maxAge)}`;
  if (options.expires) out += `; Expires=${options.expires.toUTCString()}`;
  for (const [key, v] of [
    ['Path', options.path],
    ['Domain', options.domain],
  ] as const) {
    if (v === undefined) continue;
    if (!ATTR.test(v)) throw new TypeError(`invalid cookie ${key} ${JSON.stringify(v)}`);
    out += `; ${key}=${v}`;
  }
  if (options.secure) out += '; Secure';
  if (options.httpOnly) out += '; HttpOnly';
  if (options.sameSite) out += `; SameSite=${options.sameSite}`;
  return out;
}
