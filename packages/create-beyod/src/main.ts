import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateError } from './errors';
import { type ScaffoldResult, scaffold } from './scaffold';
import { listTemplates, templateInfo } from './templates';

function usage(): string {
  const templates = listTemplates()
    .map((t, i) => `  ${t.name.padEnd(10)} ${t.description}${i === 0 ? ' (default)' : ''}`)
    .join('\n');
  return `usage: npm init beyod <dir> [-- --template <name>] [--from-tarballs <dir>] [--name <package name>]
       create-beyod <dir> [--template <name>] [--from-tarballs <dir>] [--name <package name>]

templates:
${templates}

--from-tarballs <dir>  install the beyod packages from \`npm pack\` tarballs in <dir> (copied into the app)
                       instead of the npm registry
--name <name>          the package name (default: the directory's name)`;
}

/** What to do next, for a human. */
export function nextSteps(r: ScaffoldResult, cwd = process.cwd()): string {
  const relative = path.relative(cwd, r.dir) || '.';
  const rel = relative.length <= r.dir.length ? relative : r.dir; // ../my-app, but not ../../../tmp/my-app
  const info = templateInfo(r.template);
  const tryLines = info.try.map((l) => `                     ${l}`).join('\n');
  return `Created ${r.name} from the ${r.template} template in ${r.dir}

  cd ${rel.includes(' ') ? JSON.stringify(rel) : rel}
  npm install
  npm start          # beyod start, in the foreground (Ctrl-C stops)
${tryLines ? `${tryLines}\n` : ''}  npm test           # the app's test, on real sockets
  npm run typecheck  # tsc --noEmit

README.md in the app says what is where.
`;
}

/** The create-beyod command; returns the exit code. */
export function main(argv: string[]): number {
  let values: { template?: string; 'from-tarballs'?: string; name?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        template: { type: 'string', short: 't' },
        'from-tarballs': { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`create-beyod: ${(e as Error).message}\n\n${usage()}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(
      `create-beyod: name one directory to create${positionals.length ? `, not ${positionals.length}` : ''}\n\n${usage()}\n`,
    );
    return 2;
  }
  try {
    const r = scaffold({ dir: positionals[0]!, template: values.template, name: values.name, fromTarballs: values['from-tarballs'] });
    process.stdout.write(nextSteps(r));
    return 0;
  } catch (e) {
    if (!(e instanceof CreateError)) throw e;
    process.stderr.write(`create-beyod: ${e.message}\n`);
    return 1;
  }
}
