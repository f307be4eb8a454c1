import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BeyodError } from '@beyod/core';
import { HttpErrorCodes } from './errors';
import { type HttpRequest, nullObject, searchParamsToObject } from './HttpRequest';

/** An uploaded file of a multipart/form-data body, written to a temporary file. */
export interface UploadedFile {
  /** The form field's name. */
  field: string;
  /** The client's file name (its last path component only). */
  filename: string;
  /** The part's Content-Type. */
  type: string;
  size: number;
  /** Where the bytes are; removed when the response is done unless moved away. */
  path: string;
}

/** What form() returns: the fields (a name given twice maps to an array; an object without a prototype) and the uploaded files. */
export interface FormData {
  fields: Record<string, string | string[]>;
  files: UploadedFile[];
}

/** Limits and place of uploads (set on the handler: uploadDir, maxFileSize, maxFiles). */
export interface FormOptions {
  /** Directory for uploaded files (default: the OS temp directory). */
  uploadDir?: string;
  /** Largest file part in bytes (0 = only the request limit, maxPacketSize). */
  maxFileSize?: number;
  /** Most file parts in one request (default 20). */
  maxFiles?: number;
  /** Most fields (urlencoded pairs, or multipart parts that are not files) in one request (default 1000). */
  maxFields?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

function tooManyFields(max: number): BeyodError {
  return new BeyodError(HttpErrorCodes.TOO_MANY_FIELDS, `form body has more than maxFields ${max} fields`, { maxFields: max });
}

function badForm(message: string): BeyodError {
  return new BeyodError(HttpErrorCodes.BAD_FORM, `bad form body: ${message}`);
}

/** Parse the request's urlencoded or multipart body (see HttpRequest.form). */
export async function parseForm(req: HttpRequest, options: FormOptions): Promise<FormData> {
  const type = req.headers.get('content-type') ?? '';
  const mime = (type.split(';')[0] ?? '').trim().toLowerCase();
  if (mime === 'application/x-www-form-urlencoded' || (mime === '' && req.body.length === 0)) {
    // Count the pairs before parsing: 811k of them took 2.85 s to parse (qs and body-parser stop at 1000 too).
    const max = options.maxFields ?? 1000;
    const body = req.body;
    let pairs = 0;
    for (let from = 0; from < body.length;) {
      let at = body.indexOf(0x26, from); // '&'
      if (at < 0) at = body.length;
      if (at > from && ++pairs > max) throw tooManyFields(max); // URLSearchParams skips empty pairs
      from = at + 1;
    }
    return { fields: searchParamsToObject(new URLSearchParams(body.toString('utf8'))), files: [] };
  }
  if (mime !== 'multipart/form-data') throw badForm(`Content-Type ${JSON.stringify(type)} is not a form`);
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(type);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw badForm('multipart/form-data without a boundary');
  return parseMultipart(req, req.body, boundary, options);
}

async function parseMultipart(req: HttpRequest, body: Buffer, boundary: string, options: FormOptions): Promise<FormData> {
  const delimiter = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  const fields = nullObject<string | string[]>();
  const files: UploadedFile[] = [];
  const maxFiles = options.maxFiles ?? 20;
  const maxFields = options.maxFields ?? 1000;
  let fieldCount = 0;
  const maxFileSize = options.maxFileSize ?? 0;
  const dir = options.uploadDir ?? os.tmpdir();

  let pos = body.indexOf(delimiter);
  if (pos < 0 || (pos > 0 && (body[pos - 2] !== 0x0d || body[pos - 1] !== 0x0a))) throw badForm('no opening boundary');
  pos += delimiter.length;
  for (;;) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // "--": the closing delimiter
    // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a) throw badForm('a boundary is not followed by CRLF');
    pos += 2;
    const headEnd = body.indexOf(CRLFCRLF, pos);
    if (headEnd < 0) throw badForm('a part has no end of headers');
    const headers = parsePartHeaders(body.toString('utf8', pos, headEnd));
    const dataStart = headEnd + 4;
    const end = body.indexOf(next, dataStart - 2);
    if (end < 0) throw badForm('a part is not closed by a boundary');
    const data = body.subarray(dataStart, Math.max(dataStart, end));
    pos = end + next.length;

    const disposition = headers['content-disposition'] ?? '';
    const name = dispositionParam(disposition, 'name');
    if (!/^form-data\b/i.test(disposition) || name === undefined) throw badForm('a part without Content-Disposition: form-data; name=');
    const filename = dispositionParam(disposition, 'filename');
    if (filename === undefined) {
      if (++fieldCount > maxFields) throw tooManyFields(maxFields);
      addField(fields, name, data.toString('utf8'));
      continue;
    }
    if (filename === '' && data.length === 0) continue; // a file input left empty
    if (files.length >= maxFiles) throw badForm(`more than maxFiles ${maxFiles} files`);
    if (maxFileSize > 0 && data.length > maxFileSize) {
      throw new BeyodError(
        HttpErrorCodes.BODY_TOO_LARGE,
        `uploaded file ${JSON.stringify(filename)} of ${data.length} bytes exceeds maxFileSize ${maxFileSize}`,
        {
          size: data.length,
          maxFileSize,
        },
      );
    }
    const file = path.join(dir, `beyod-upload-${randomUUID()}`);
    (req._tempFiles ??= []).push(file);
    await fs.promises.writeFile(file, data, { mode: 0o600 });
    files.push({
      field: name,
      filename: path.basename(filename.replace(/\\/g, '/')),
      type: headers['content-type'] ?? 'application/octet-stream',
      size: data.length,
      path: file,
    });
  }
  return { fields, files };
}

function parsePartHeaders(text: string): Record<string, string> {
  const out = nullObject<string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw badForm(`malformed part header ${JSON.stringify(line.slice(0, 60))}`);
    out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}

function dispositionParam(disposition: string, key: string): string | undefined {
  const re = new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(disposition);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '');
}

function addField(fields: Record<string, string | string[]>, name: string, value: string): void {
  const prev = fields[name];
  if (prev === undefined) fields[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else fields[name] = [prev, value];
}
