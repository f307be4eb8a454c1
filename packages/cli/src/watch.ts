import * as fs from 'node:fs';
import * as path from 'node:path';

/** Directories never watched: output, dependencies, version control. */
const IGNORED_DIRS = new Set(['runtime', 'node_modules', '.git']);
/** Quiet time after the last change before a reload (an editor saves in several steps). */
const DEBOUNCE_MS = 300;

/** Editors' temporary files, and dot files: not application changes. */
function ignoredName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~') || /\.sw[a-p]$/.test(name) || /^\d+$/.test(name) || name.startsWith('#');
}

/**
 * Watch an application directory for `beyod start --watch`: one fs.watch per directory (not
 * Node's recursive mode, which on Linux walks node_modules too), skipping runtime/,
 * node_modules/, .git/ and every path starting with one of `skip` (the pid file, the log). Calls
 * `onChange` with the files changed, once things have been quiet for a moment.
 */
export class AppWatcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly root: string,
    private readonly onChange: (files: string[]) => void,
    private readonly skip: string[] = [],
  ) {}

  start(): void {
    this.add(this.root);
  }

  /** How many directories are watched. */
  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Under one of the `skip` prefixes (the pid file, its control directory, the log: they change by themselves). */
  private skipped(p: string): boolean {
    return this.skip.some((s) => p.startsWith(s));
  }

  /** Watch `dir` and every directory under it. */
  private add(dir: string): void {
    if (this.closed || this.watchers.has(dir) || this.skipped(dir)) return;
    let w: fs.FSWatcher;
    try {
      w = fs.watch(dir, (_event, name) => this.event(dir, name ? String(name) : ''));
    } catch {
      return; // gone meanwhile, or unreadable
    }
    w.on('error', () => this.drop(dir));
    this.watchers.set(dir, w);
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      /* unreadable */
    }
    for (const e of entries) if (e.isDirectory() && !IGNORED_DIRS.has(e.name) && !e.name.startsWith('.')) this.add(path.join(dir, e.name));
  }

  private drop(dir: string): void {
    for (const [d, w] of this.watchers) {
      if (d === dir || d.startsWith(`${dir}${path.sep}`)) {
        w.close();
        this.watchers.delete(d);
      }
    }
  }

  private event(dir: string, name: string): void {
    if (!name || IGNORED_DIRS.has(name) || ignoredName(name)) return;
    const full = path.join(dir, name);
    if (this.skipped(full)) return;
    let isDir = false;
    try {
      isDir = fs.statSync(full).isDirectory();
    } catch {
      if (this.watchers.has(full)) this.drop(full); // a directory removed
    }
    if (isDir) {
      this.add(full); // a new directory: its files count from now on
      return;
    }
    this.changed.add(path.relative(this.root, full));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const files = [...this.changed].sort();
      this.changed = new Set();
      this.onChange(files);
    }, DEBOUNCE_MS);
  }
}
