/* The shape of the package: its public API, and no import cycle at run time. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as core from '@beyod/core';
import * as internal from '@beyod/core/internal';

const SRC = path.resolve(__dirname, '../src');

/** Modules each module of src/ imports at run time (type-only imports left out). */
function runtimeImports(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, e.name);
      if (e.isDirectory()) walk(file);
      else if (e.name.endsWith('.ts')) {
        const text = fs.readFileSync(file, 'utf8');
        const deps: string[] = [];
        for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+'(\.[^']+)'/gm)) {
          if (m[1]) continue;
          const names = m[2]!.trim();
          if (names.startsWith('{')) {
            const items = names
              .slice(1, -1)
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean);
            if (items.every((x) => x.startsWith('type '))) continue;
          }
          deps.push(path.resolve(dir, `${m[3]}.ts`));
        }
        for (const m of text.matchAll(/^import\s+'(\.[^']+)'/gm)) deps.push(path.resolve(dir, `${m[1]}.ts`));
        graph.set(file, deps);
      }
    }
  };
  walk(SRC);
  return graph;
}

describe('@beyod/core structure', () => {
  it('no import cycle at run time (Application -> Server -> Listener -> Application was one)', () => {
    const graph = runtimeImports();
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const d of graph.get(file) ?? []) visit(d, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('the index is the public API: no process machinery, no building blocks, no side-effect import', () => {
    for (const name of [
      'Master',
      'SingleProcess',
      'ControlServer',
      'controlRequest',
      'runWorker',
      'writePidFile',
      'ReceiveBuffer',
      'BaseConnection',
      'createObjectWith',
      'configure',
    ]) {
      expect(Object.keys(core)).not.toContain(name);
      expect(Object.keys(internal)).toContain(name);
    }
    expect(fs.readFileSync(path.join(SRC, 'index.ts'), 'utf8')).not.toMatch(/^import\s+'/m);
  });
});
