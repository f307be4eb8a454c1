import { http } from '@beyod/protocols';

/**
 * The web listener's handler: routes first, then static files from documentRoot (public/),
 * else 404. Route functions and onRequest may be async.
 */
export class Site extends http.Handler {
  override routes = {
    'GET /api/hello/:name': 'hello', // a method name, or a function
  };

  hello(req: http.HttpRequest, res: http.HttpResponse): void {
    const server = this.listener?.server;
    res.json({ hello: req.params.name, worker: server?.getWorkerId(), gpid: server?.getGpid() });
  }

  override async onRequest(req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
    if (req.method === 'GET' && req.path === '/time') return res.end(new Date().toISOString());
    return super.onRequest(req, res); // static files, else 404
  }
}
