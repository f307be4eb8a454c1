import { DEFAULT_TEMPLATE, listTemplates, nextSteps, scaffold } from 'create-beyod';
import type { Argv } from 'yargs';

interface NewArgs {
  dir: string;
  template?: string;
  fromTarballs?: string;
  name?: string;
}

/** `beyod new <dir>`: the same scaffolding as `npm init beyod <dir>` (create-beyod). */
export const newCommand = {
  command: 'new <dir>',
  describe: 'create an app in <dir> from a template (like npm init beyod <dir>)',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'the directory to create (it may exist if empty)' })
      .option('template', {
        alias: 't',
        type: 'string',
        default: DEFAULT_TEMPLATE,
        choices: listTemplates().map((t) => t.name),
        describe: listTemplates()
          .map((t) => `${t.name}: ${t.description}`)
          .join('; '),
      })
      .option('from-tarballs', {
        type: 'string',
        describe: 'install the beyod packages from `npm pack` tarballs in this directory (copied into the app), not the npm registry',
      })
      .option('name', { type: 'string', describe: "the package name (default: the directory's name)" }),
  handler: async (a: NewArgs): Promise<number> => {
    // A CreateError (directory not empty, tarball missing...) is printed by main() as `beyod: <message>`.
    const result = scaffold({ dir: a.dir, template: a.template, name: a.name, fromTarballs: a.fromTarballs });
    process.stdout.write(nextSteps(result));
    return 0;
  },
};
