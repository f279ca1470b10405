/** Formatting for the performance report: numbers, verdicts against targets, tables, a section's provenance. */

export interface Machine {
  node: string;
  cpus: number;
  cpu?: string;
  memoryGiB?: number;
  date: string;
  loadAverage?: number;
  quick?: boolean;
  seconds?: number;
}

export type Saved<T> = T & { machine: Machine };

/** Numbers as the doc prints them: thousands separated, at most `digits` decimals. */
export const n = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits });
/** Two significant figures below 10, whole numbers above. */
export const ms = (x: number) => `${x < 10 ? n(x, 1) : n(x)} ms`;
export const ratio = (x: number) => x.toFixed(2);
export const pct = (x: number) => `${n(x * 100)} %`;
export const sumOf = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** "met", or how far a figure that should reach `target` falls short. */
export function atLeast(value: number, target: number, unit: string): string {
  if (value >= target) return 'met';
  const gap = target - value;
  return `**missed** by ${n(gap, gap < 10 ? 2 : 0)}${unit} (${pct(gap / target)} short)`;
}

/** "met", or how far a figure that should stay under `target` goes over. */
export function atMost(value: number, target: number, unit: string): string {
  if (value <= target) return 'met';
  return `**missed** by ${n(value - target, 1)}${unit} (${n(value / target, 1)}× the target)`;
}

/** The first columns of a table of end-to-end sessions, one row per system and worker count. */
export const SESSION_COLUMNS = ['System', 'Worker processes', 'Latency p50', 'p99', 'Burst tasks/s'];

export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** When and under what load a section's figures were taken. */
export function measured(m: Machine): string {
  const load = m.loadAverage === undefined ? '' : `, load average ${n(m.loadAverage, 1)} at the start`;
  const took = m.seconds === undefined ? '' : `, took ${n(m.seconds)} s`;
  return `_Measured ${m.date.slice(0, 16).replace('T', ' ')} UTC${load}${took}${m.quick ? ', **quick sizes**' : ''}._`;
}

export const notRun = (name: string) => `Not run yet: \`npm run bench -- ${name}\`.`;

export interface Chart {
  file: string;
  svg: string;
  alt: string;
}
