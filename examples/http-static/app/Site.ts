import * as fs from 'node:fs';
import { http } from '@beyod/protocols';

/**
 * A static site from public/ plus two endpoints: GET /api/hello (JSON, with a visit cookie)
 * and POST /api/upload (a multipart form; answers what arrived). Everything else is a file
 * of public/, or 404.
 */
export class Site extends http.Handler {
  override routes = {
    'GET /api/hello': 'hello',
    'POST /api/upload': 'upload',
  };

  hello(req: http.HttpRequest, res: http.HttpResponse): void {
    const visits = Number(req.cookies.visits ?? '0') + 1;
    res.cookie('visits', String(visits), { path: '/', httpOnly: true, sameSite: 'Lax' });
    res.json({ hello: req.query.name ?? 'world', visits });
  }

  async upload(req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
    const form = await req.form();
    const files = await Promise.all(
      form.files.map(async (f) => ({
        field: f.field,
        filename: f.filename,
        type: f.type,
        size: f.size,
        head: (await fs.promises.readFile(f.path, 'utf8')).slice(0, 80),
      })),
    );
    // The temporary files are removed once this response is sent; move them first to keep them.
    res.json({ fields: form.fields, files });
  }
}
