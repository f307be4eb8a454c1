/** Content types by file extension (lower case, no dot): the common web types. */
export const MIME_TYPES: Record<string, string> = {
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  json: 'application/json',
  map: 'application/json',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  eot: 'application/vnd.ms-fontobject',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  wasm: 'application/wasm',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  webm: 'video/webm',
  webmanifest: 'application/manifest+json',
};

/** The Content-Type for a file name; text types get "; charset=utf-8". */
export function mimeTypeOf(fileName: string, fallback = 'application/octet-stream'): string {
  const dot = fileName.lastIndexOf('.');
  const type = dot < 0 ? undefined : MIME_TYPES[fileName.slice(dot + 1).toLowerCase()];
  if (type === undefined) return fallback;
  return type.startsWith('text/') || type === 'application/json' || type === 'image/svg+xml' || type === 'application/xml'
    ? `${type}; charset=utf-8`
    : type;
}
