import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { http } from '@beyod/protocols';

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The beyod-app's https listener: beyod\protocol\http\Handler with document_root = webroot,
 * auto_index on, a `callback` for `#\.md$#` that rendered Markdown, and webroot/upload.php.
 * PHP files ran inside the server (php_engine); here they become routes.
 */
export class Site extends http.Handler {
  override routes = {
    'GET /docs/:page': 'markdown', // the '#\.md$#' callback, for pages under webroot/docs
    'GET /upload': 'uploadForm', // webroot/upload.php, GET
    'POST /upload': 'upload', // webroot/upload.php, POST: print_r($_POST, $_GET, $_FILES)
  };

  /**
   * The PHP callback turned a .md file into HTML with Yii's Markdown helper. There is no
   * Markdown renderer in beyod: this shows the text escaped in a <pre>; use a library such as
   * `marked` for real HTML. Only plain names are accepted, so no path leaves webroot/docs.
   */
  async markdown(req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
    const page = String(req.params.page);
    const root = this.documentRootPath();
    if (!/^[\w-]+\.md$/.test(page) || !root) return this.notFound(res);
    let text: string;
    try {
      text = await fs.readFile(path.join(root, 'docs', page), 'utf8');
    } catch {
      return this.notFound(res);
    }
    res.type('text/html; charset=utf-8');
    res.end(`<!doctype html><meta charset="utf-8"><title>${escapeHtml(page)}</title><pre>${escapeHtml(text)}</pre>\n`);
  }

  uploadForm(_req: http.HttpRequest, res: http.HttpResponse): void {
    res.end(`<!doctype html><meta charset="utf-8"><title>upload</title>
<form method="post" enctype="multipart/form-data">
<input name="user[name]" value="Zhang San"> <input name="user[age]" value="17">
<input type="file" name="p[1]"> <input type="file" name="de"> <input type="submit">
</form>\n`);
  }

  /** $_POST, $_GET and $_FILES become `await req.form()` and `req.query`. */
  async upload(req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
    const { fields, files } = await req.form();
    res.json({
      post: fields,
      get: req.query,
      files: files.map((f) => ({ field: f.field, name: f.filename, type: f.type, size: f.size })),
    });
  }
}
