import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the template files are (the same place from src/ and dist/). */
export const TEMPLATES_DIR = path.resolve(__dirname, '..', 'templates');

/** Files every template gets (a template's own file of the same path wins). */
const COMMON = 'common';

/** What templates/<name>/template.json says about a template (the file itself is not copied). */
export interface TemplateInfo {
  name: string;
  description: string;
  /** Lines printed after "npm start" to show how to talk to the app. */
  try: string[];
}

/** The templates, default first. */
export function listTemplates(): TemplateInfo[] {
  const names = fs
    .readdirSync(TEMPLATES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== COMMON)
    .map((d) => d.name);
  return names
    .map(templateInfo)
    .sort((a, b) => (a.name === DEFAULT_TEMPLATE ? -1 : b.name === DEFAULT_TEMPLATE ? 1 : a.name.localeCompare(b.name)));
}

export const DEFAULT_TEMPLATE = 'echo';

export function templateInfo(name: string): TemplateInfo {
  const meta = JSON.parse(fs.readFileSync(path.join(TEMPLATES_DIR, name, 'template.json'), 'utf8')) as Partial<TemplateInfo>;
  return { name, description: meta.description ?? '', try: meta.try ?? [] };
}

/**
 * The files of a template, as paths relative to the template: the common files, then the
 * template's own. `_gitignore` stands for `.gitignore` (npm leaves .gitignore files out of
 * packages, so a template cannot ship one under its real name).
 */
export function templateFiles(name: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of [COMMON, name]) {
    const root = path.join(TEMPLATES_DIR, dir);
    for (const rel of walk(root)) {
      if (dir !== COMMON && rel === 'template.json') continue;
      files.set(rel === '_gitignore' ? '.gitignore' : rel, path.join(root, rel));
    }
  }
  return files;
}

function walk(root: string, sub = ''): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(path.join(root, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...walk(root, rel));
    else out.push(rel);
  }
  return out.sort();
}
