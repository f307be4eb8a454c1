/*
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line must
 * be a HELP, a TYPE or a sample; a sample's family must have been typed before it; label
 * values must be quoted and escaped; no series twice; counters end in _total.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type Exposition = { samples: Map<string, Sample>; types: Map<string, string> };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/;

export function seriesKey(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(',')}}`;
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const samples = new Map<string, Sample>();
  const types = new Map<string, string>();
  const helped = new Set<string>();
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const where = `line ${i + 1}: ${line}`;
      if (line.startsWith('#')) {
        const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
        if (!m) throw new Error(`bad comment, ${where}`);
        const [, kind, name, rest] = m as unknown as [string, string, string, string];
        if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
        if (kind === 'TYPE') {
          if (types.has(name)) throw new Error(`second TYPE, ${where}`);
          if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type, ${where}`);
          if (rest === 'counter' && !name.endsWith('_total')) throw new Error(`a counter not named *_total, ${where}`);
          types.set(name, rest);
        } else {
          if (helped.has(name)) throw new Error(`second HELP, ${where}`);
          helped.add(name);
        }
        return;
      }
      const m = SAMPLE.exec(line);
      if (!m) throw new Error(`not a sample, ${where}`);
      const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
      if (!types.has(name)) throw new Error(`a sample before its TYPE, ${where}`);
      const labels: Record<string, string> = {};
      let rest = labelText ?? '';
      while (rest.length) {
        const l = LABEL.exec(rest);
        if (!l) throw new Error(`bad labels, ${where}`);
        if (l[1]! in labels) throw new Error(`label twice, ${where}`);
        labels[l[1]!] = l[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
        rest = rest.slice(l[0].length);
      }
      const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : valueText === 'NaN' ? NaN : Number(valueText);
      if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value, ${where}`);
      const key = seriesKey(name, labels);
      if (samples.has(key)) throw new Error(`series twice, ${where}`);
      samples.set(key, { name, labels, value });
    });
  return { samples, types };
}

/** The sum of a metric over every series that has the given labels. */
export function sum(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  let n = 0;
  for (const s of e.samples.values()) {
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) n += s.value;
  }
  return n;
}
