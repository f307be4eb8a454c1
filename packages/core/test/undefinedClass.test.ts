/* A class-valued config key that is undefined is a misspelt import, never "use the default". */
import { Application, ConfigError, Listener, Parser } from '@beyod/core';

const silent = { log: { level: 'silent' } };
const noSuchExport = undefined as unknown as typeof Parser;

describe('an undefined class in a config', () => {
  it('a listener parser that is undefined is refused with its key path (not replaced by the base Parser)', () => {
    const app = new Application({
      ...silent,
      components: { server: { listeners: { web: { listen: 'tcp://127.0.0.1:0', parser: noSuchExport } } } },
    });
    const server = app.server;
    const build = () => server.createListener('web', server.listeners.web!).parserInstance;
    expect(build).toThrow(ConfigError);
    expect(build).toThrow('components.server.listeners.web.parser: is undefined, expected a class (a misspelt or missing import/export?)');
  });

  it('{ class: undefined } is refused too', () => {
    const app = new Application({ ...silent, components: { db: { class: noSuchExport, dsn: 'x' } } });
    expect(() => app.get('db')).toThrow('components.db.class: is undefined, expected a class');
  });

  it('an undefined plain value still means "the default"', () => {
    const app = new Application({ ...silent, components: { server: { workerNum: undefined, listeners: {} } } });
    expect(app.server.workerNum).toBeGreaterThan(0);
    const l = app.createObject<Listener>({ listen: 'tcp://127.0.0.1:0', idleTimeout: undefined }, 'l', Listener);
    expect(l.idleTimeout).toBe(0);
  });
});
