import { formatSeconds, type CheckResult, type Verdict } from './runner';

const LABEL: Record<Verdict, string> = { pass: 'pass', fail: 'FAIL', skip: 'skip' };

/** The pass/fail table: check, result, duration, detail; one line per check, then the totals. */
export function formatReport(results: readonly CheckResult[], totalMs: number): string {
  const header = ['CHECK', 'RESULT', 'DURATION', 'DETAIL'];
  const rows = results.map((r) => [
    r.name,
    LABEL[r.verdict],
    r.verdict === 'skip' && r.durationMs === 0 ? '-' : formatSeconds(r.durationMs),
    r.verdict === 'skip' ? `skipped: ${r.detail}` : r.detail,
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(header[i].length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell))
      .join('  ')
      .trimEnd();
  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  return [
    line(header),
    ...rows.map(line),
    '',
    `${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped in ${formatSeconds(totalMs)}`,
  ].join('\n');
}

/** One line per finished check, while the others still run (the table comes at the end). */
export function formatProgress(result: CheckResult): string {
  return `${LABEL[result.verdict].padEnd(4)}  ${result.name} (${formatSeconds(result.durationMs)})`;
}

/** 0 when nothing failed (skipped checks do not fail the run), else 1. */
export function exitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.verdict === 'fail') ? 1 : 0;
}
