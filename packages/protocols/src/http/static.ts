import * as fs from 'node:fs';
import { STATUS_CODES } from 'node:http';
import * as path from 'node:path';
import type { HttpRequest } from './HttpRequest';
import type { HttpResponse } from './HttpResponse';
import { mimeTypeOf } from './mime';

/** How static files are served (see http.Handler: documentRoot, indexFiles, directoryListing). */
export interface StaticOptions {
  /** Absolute, symlink-free document root. */
  root: string;
  indexFiles: readonly string[];
  directoryListing: boolean;
  /** Files up to this size are read whole; bigger ones (and ranges) are streamed. */
  smallFileSize?: number;
  /** Most files open at once for one connection's requests (default 4); the others wait their turn. */
  maxOpenFiles?: number;
  /** Called when the process is out of file descriptors (EMFILE, ENFILE): the request was answered 503. */
  onOutOfFiles?: (error: Error) => void;
}

/**
 * Serve `req.path` from `options.root`. Returns false when no file or directory is there (the
 * caller answers 404). No path leaves the root: the path is percent-decoded once, a segment
 * starting with "." (so "..", and hidden files) is refused, and the real path (symlinks
 * resolved) of what is served — the file, or a directory's index file — must still be inside
 * the root. A path with an empty segment ("//", "/a//b") or a file path ending in "/" is not
 * served (404, as nginx answers), so no two spellings reach one file and a redirect never
 * starts with "//".
 */
export async function serveStatic(req: HttpRequest, res: HttpResponse, options: StaticOptions): Promise<boolean> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(req.path);
  } catch {
    return sendStatus(res, 400);
  }
  if (decoded.includes('\0') || decoded.includes('\\') || !decoded.startsWith('/')) return sendStatus(res, 400);
  const slash = decoded.endsWith('/');
  const segments = decoded.slice(1, slash ? -1 : undefined).split('/');
  if (segments.length === 1 && segments[0] === '') segments.pop(); // "/"
  if (segments.some((s) => s === '' || s.startsWith('.'))) return false;
  const root = options.root;
  let real: string;
  let stat: fs.Stats;
  try {
    real = await fs.promises.realpath(path.join(root, ...segments));
    if (!inside(root, real)) return false;
    stat = await fs.promises.stat(real);
  } catch (e) {
    return outOfFiles(e) ? answerOutOfFiles(res, options, e) : false;
  }
  if (stat.isDirectory()) {
    if (!slash) {
      const q = req.url.indexOf('?');
      res.redirect(`${req.path}/${q < 0 ? '' : req.url.slice(q)}`, 301);
      return true;
    }
    for (const name of options.indexFiles) {
      let file: string;
      let st: fs.Stats;
      try {
        // the index file itself may be a symlink: its target must be inside the root too
        file = await fs.promises.realpath(path.join(real, name));
        if (!inside(root, file)) continue;
        st = await fs.promises.stat(file);
      } catch (e) {
        if (outOfFiles(e)) return answerOutOfFiles(res, options, e);
        continue;
      }
      if (st.isFile()) return serve(serveFile(req, res, file, st, options), res, options);
    }
    if (!options.directoryListing) return sendStatus(res, 403);
    return serve(listDirectory(req, res, real), res, options);
  }
  if (!stat.isFile() || slash) return false;
  return serve(serveFile(req, res, real, stat, options), res, options);
}

/** Wait for `serving`; out of file descriptors is a 503, not a failure of the handler. */
async function serve(serving: Promise<void>, res: HttpResponse, options: Partial<StaticOptions>): Promise<true> {
  try {
    await serving;
  } catch (e) {
    if (!outOfFiles(e) || !answerOutOfFiles(res, options, e)) throw e;
  }
  return true;
}

function inside(root: string, real: string): boolean {
  return real === root || real.startsWith(root + path.sep);
}

/** The process (EMFILE) or the system (ENFILE) is out of file descriptors: a 503, not a 404. */
export function outOfFiles(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

function sendStatus(res: HttpResponse, status: number): true {
  res.status = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`${status} ${res.statusMessage || statusText(status)}\n`);
  return true;
}

function statusText(status: number): string {
  return STATUS_CODES[status] ?? '';
}

/**
 * The process or the system ran out of file descriptors: answer 503 (with Retry-After) unless
 * the head already left, dropping what serveFile had set for the file.
 */
function answerOutOfFiles(res: HttpResponse, options: Partial<StaticOptions>, e: unknown): boolean {
  options.onOutOfFiles?.(e as Error);
  if (res.headersSent || res.finished) return false;
  for (const h of ['ETag', 'Last-Modified', 'Accept-Ranges', 'Content-Range', 'Content-Length']) res.removeHeader(h);
  res.setHeader('Retry-After', '1');
  sendStatus(res, 503);
  return true;
}

/** Send one file with validators (ETag, Last-Modified -> 304) and single byte ranges (206 / 416). */
export async function serveFile(
  req: HttpRequest,
  res: HttpResponse,
  file: string,
  stat: fs.Stats,
  options: Partial<StaticOptions> = {},
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendStatus(res, 405);
    return;
  }
  const size = stat.size;
  const etag = `W/"${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const mtime = Math.floor(stat.mtimeMs / 1000);
  const lastModified = new Date(mtime * 1000).toUTCString();
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', lastModified);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', mimeTypeOf(file));

  const inm = req.headers.get('if-none-match');
  const ims = req.headers.get('if-modified-since');
  if (inm !== undefined ? etagMatches(inm, etag) : ims !== undefined && mtime <= Date.parse(ims) / 1000) {
    res.status = 304;
    res.end();
    return;
  }

  let start = 0;
  let end = size - 1;
  const range = req.headers.get('range');
  const ifRange = req.headers.get('if-range');
  // If-Range compares strongly (RFC 9110 13.1.5): our ETag is weak, so only the date can match.
  if (range !== undefined && (ifRange === undefined || ifRange === lastModified)) {
    const r = parseRange(range, size);
    if (r === 'unsatisfiable') {
      res.status = 416;
      res.setHeader('Content-Range', `bytes */${size}`);
      res.end('');
      return;
    }
    if (r !== undefined) {
      [start, end] = r;
      res.status = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    }
  }
  const length = size === 0 ? 0 : end - start + 1;
  res.setHeader('Content-Length', length);
  if (req.method === 'HEAD' || length === 0) {
    res.end('');
    return;
  }
  // Open before anything is sent, holding one of the connection's file slots: a client cannot
  // make one connection hold more than maxOpenFiles descriptors, and running out of them is
  // still a clean 503 (serve() answers it).
  const slot = res._fileSlot(options.maxOpenFiles ?? 4);
  if (slot !== undefined) await slot;
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (e) {
    res._releaseFileSlot();
    throw e;
  }
  if (res.status === 200 && size <= (options.smallFileSize ?? 64 * 1024)) {
    try {
      const data = Buffer.allocUnsafe(length);
      let n = 0;
      while (n < length) {
        const { bytesRead } = await handle.read(data, n, length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      // the file shrank since stat(): send what it holds, with its true length
      if (n < length) res.setHeader('Content-Length', n);
      res.end(n < length ? data.subarray(0, n) : data);
    } finally {
      res._releaseFileSlot();
      await handle.close();
    }
    return;
  }
  const stream = handle.createReadStream({ start, end });
  stream.once('close', () => res._releaseFileSlot());
  res.end(stream);
}

/** Weak comparison of an If-None-Match list with our ETag. */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const opaque = etag.slice(2);
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === etag || v === opaque;
  });
}

/**
 * One range of a Range header: [start, end] inclusive; undefined when the header is to be
 * ignored (not bytes, malformed, or several ranges: the whole file is sent, as RFC 9110 allows);
 * 'unsatisfiable' when it starts past the end.
 */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : [Math.max(0, size - n), size - 1];
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return [start, end];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

async function listDirectory(req: HttpRequest, res: HttpResponse, dir: string): Promise<void> {
  const entries = (await fs.promises.readdir(dir, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.'))
    .sort((x, y) => Number(y.isDirectory()) - Number(x.isDirectory()) || x.name.localeCompare(y.name));
  const title = escapeHtml(decodeURIComponent(req.path));
  const items = entries.map((e) => {
    const slash = e.isDirectory() ? '/' : '';
    return `<li><a href="${encodeURIComponent(e.name)}${slash}">${escapeHtml(e.name)}${slash}</a></li>`;
  });
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of ${title}</title></head>\n` +
      `<body><h1>Index of ${title}</h1>\n<ul>\n${req.path === '/' ? '' : '<li><a href="../">../</a></li>\n'}${items.join('\n')}\n</ul></body></html>\n`,
  );
}
