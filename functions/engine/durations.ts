import { PermanentError } from './define-task';

/** How long a sleep or a wait's timeout lasts: milliseconds, or a number with a unit. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration; throws on anything that is not a finite, non-negative amount. */
export function durationMs(duration: Duration): number {
  const match = typeof duration === 'number' ? null : /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration.trim());
  const ms =
    typeof duration === 'number'
      ? duration
      : match
        ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
        : NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    throw new PermanentError(
      `duration ${JSON.stringify(duration)}: a number of ms, or e.g. "90s", "15m", "2h", "1d"`,
      'invalid_duration',
    );
  }
  return ms;
}

/** When a wait that starts `from` ends: at a date, or a duration later. */
export function dueAt(until: Duration | Date, from = Date.now()): Date {
  return until instanceof Date ? new Date(until.getTime()) : new Date(from + durationMs(until));
}
