import { Application, ConfigError, ErrorCodes, Handler, Server, gpidOf, inject, injectable, parseGpid } from '@beyod/core';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { parseSocketUrl } from '@beyod/core/internal';

class Db {
  dsn = 'memory:';
  inited = false;
  init() {
    this.inited = true;
  }
}

@injectable()
class Mailer {
  constructor(readonly db: Db) {}
}

@injectable()
class ByIdHandler extends Handler {
  constructor(@inject('db') readonly db: Db) {
    super();
  }
}

class MyServer extends Server {}

const silent = { log: { level: 'silent' } };

describe('Application and components', () => {
  it('builds { class, ...props }: constructs, assigns, then calls init()', () => {
    const app = new Application({ ...silent, components: { db: { class: Db, dsn: 'sqlite:x' } } });
    const db = app.get<Db>('db');
    expect(db).toBeInstanceOf(Db);
    expect(db.dsn).toBe('sqlite:x');
    expect(db.inited).toBe(true);
    expect(app.get('db')).toBe(db); // one instance
  });

  it('injects components into constructors, by class and by id', () => {
    const app = new Application({ ...silent, components: { db: { class: Db }, mailer: Mailer } });
    expect(app.get<Mailer>('mailer').db).toBe(app.get('db'));
    const h = app.createObject<ByIdHandler>(ByIdHandler, 'components.server.listeners.x.handler');
    expect(h.db).toBe(app.get('db'));
  });

  it('importing @beyod/core loads no reflect-metadata; the first decorator does, in time for the types', () => {
    const root = path.resolve(__dirname, '../../..');
    const out = execFileSync(
      process.execPath,
      ['-r', path.join(root, 'packages/cli/register.js'), path.join(__dirname, 'fixtures/di.ts')],
      {
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(out)).toEqual({ afterImport: 'undefined', injected: true });
  });

  it('a Server subclass needs no decorator, and server defaults to Server', () => {
    expect(new Application(silent).server).toBeInstanceOf(Server);
    const app = new Application({ ...silent, components: { server: { class: MyServer, serverId: 7 } } });
    expect(app.server).toBeInstanceOf(MyServer);
    expect(app.server.serverId).toBe(7);
    expect(app.server.app).toBe(app);
  });

  it('names the key path of an unknown property', () => {
    const app = new Application({ ...silent, components: { server: { workerNun: 4 } } }, { configFile: '/app/config/main.ts' });
    expect(() => app.server).toThrow(ConfigError);
    expect(() => app.server).toThrow("/app/config/main.ts: components.server.workerNun: unknown property 'workerNun' of Server");
  });

  it('names the key path of a wrong type', () => {
    const app = new Application({ ...silent, components: { server: { workerNum: '4' } as never } });
    expect(() => app.server).toThrow('components.server.workerNum: expected a number, got the string "4"');
  });

  it.each([
    [{ serverId: 0 }, 'components.server.serverId: expected an integer 1..65535, got 0'],
    [{ serverId: 65536 }, 'components.server.serverId: expected an integer 1..65535'],
    [{ workerNum: 0 }, 'components.server.workerNum'],
    [{ listeners: { web: { listen: 'http//x' } } }, 'components.server.listeners.web.listen: invalid socket URL'],
    [{ listeners: { web: { listen: 'tcp://0.0.0.0:70000' } } }, 'port 70000 is out of range'],
    [{ listeners: { web: { listen: 'tcp://:80', handler: 'Echo' } } }, 'components.server.listeners.web'],
    [{ listeners: { web: { listen: 'tcp://1.2.3.4:80', handler: 'Echo' } } }, 'components.server.listeners.web.handler: expected a class'],
  ])('refuses server config %j', (server, message) => {
    const app = new Application({ ...silent, components: { server } as never });
    expect(() => app.server).toThrow(message);
  });

  it('refuses an unknown top-level key and an unknown component', () => {
    expect(() => new Application({ ...silent, component: {} } as never)).toThrow('component: unknown top-level key');
    expect(() => new Application(silent).get('nope')).toThrow(expect.objectContaining({ code: ErrorCodes.COMPONENT_NOT_FOUND }));
  });

  it('checks log: { level, file, format }', () => {
    expect(() => new Application({ log: { level: 'silent', format: 'jsn' } } as never)).toThrow(
      "log.format: expected 'auto', 'json' or 'pretty', got \"jsn\"",
    );
    expect(() => new Application({ log: { level: 'silent', fiel: 'x.log' } } as never)).toThrow('log.fiel: unknown key');
    expect(() => new Application({ log: 'debug' } as never)).toThrow('log: expected { level?, file?, format? }');
    expect(new Application({ log: { level: 'silent', format: 'json' } }).logger.level).toBe('silent');
  });

  it('resolves relative paths against the app directory', () => {
    expect(new Application(silent, { basePath: '/srv/app' }).resolvePath('runtime/x.pid')).toBe('/srv/app/runtime/x.pid');
  });
});

describe('GPID', () => {
  it('is (serverId << 16) + workerId without 32-bit overflow', () => {
    expect(gpidOf(1, 1)).toBe(65537);
    expect(gpidOf(174, 3)).toBe((174 << 16) + 3);
    expect(gpidOf(65535, 65535)).toBe(4294967295);
    expect(65535 << 16).toBeLessThan(0); // why the arithmetic above matters
    expect(parseGpid(4294967295)).toEqual({ serverId: 65535, workerId: 65535 });
  });
});

describe('socket URLs', () => {
  it.each([
    ['tcp://0.0.0.0:2491', { transport: 'tcp', host: '0.0.0.0', port: 2491 }],
    ['ssl://example.com:443', { transport: 'tls', host: 'example.com', port: 443 }],
    ['tcp://[::1]:9000', { transport: 'tcp', host: '::1', port: 9000 }],
    ['udp://127.0.0.1:514', { transport: 'udp', host: '127.0.0.1', port: 514 }],
    ['unix:///tmp/x.sock', { transport: 'unix', path: '/tmp/x.sock' }],
  ])('parses %s', (url, expected) => {
    expect(parseSocketUrl(url, '/app')).toMatchObject(expected);
  });
  it('resolves a relative unix path against the app directory', () => {
    expect(parseSocketUrl('unix://run/a.sock', '/app').path).toBe('/app/run/a.sock');
  });
  it.each(['http://x:1', 'tcp://nohost', 'tcp://:', '0.0.0.0:80', 'tcp://[::1:80'])('refuses %s', (url) => {
    expect(() => parseSocketUrl(url)).toThrow(expect.objectContaining({ code: ErrorCodes.URL_INVALID }));
  });
});
