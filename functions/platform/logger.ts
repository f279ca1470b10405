import { isSpanContextValid, trace } from '@opentelemetry/api';
import { redactSecrets } from './redact';
import { describeError } from './describe-error';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What a line is about: the task (when there is one) and small facts, never payloads. */
export interface LogFields {
  taskId?: string;
  /** The task's trace, when the line is about a task; else the active span's trace is the line's. */
  traceId?: string | null;
  [field: string]: unknown;
}

export type Log = (level: LogLevel, msg: string, fields?: LogFields) => void;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * A log writing one JSON object per line: `{time, level, msg, taskId?, traceId?, spanId?, ...fields}`. The trace is the
 * task's when the line names one (a sweeper line about a task joins the task's trace, not the sweeper's), else the
 * active span's; `spanId` is the active span's when it is in that trace. So a line joins its trace in App Insights or
 * Jaeger. Lines below
 * `minLevel` are dropped. The whole line passes through `redactSecrets`, fields included. Written through `console`,
 * whose level the Functions host keeps.
 */
export function createLogger(
  minLevel: LogLevel,
  write: (level: LogLevel, line: string) => void = (level, line) => console[level](line),
): Log {
  return (level, msg, fields = {}) => {
    if (RANK[level] < RANK[minLevel]) return;
    const span = trace.getActiveSpan()?.spanContext();
    const active = span && isSpanContextValid(span) ? span : undefined;
    const { traceId: taskTrace, ...rest } = fields;
    const traceId = taskTrace ?? active?.traceId;
    const entry = {
      time: new Date().toISOString(),
      level,
      msg,
      ...rest,
      traceId,
      spanId: active && active.traceId === traceId ? active.spanId : undefined,
    };
    write(level, redactSecrets(JSON.stringify(entry, plain)));
  };
}

/** Errors as their name and message (JSON.stringify makes `{}` of them); bigints as strings. */
function plain(_key: string, value: unknown): unknown {
  if (value instanceof Error) return `${value.name}: ${describeError(value)}`;
  if (typeof value === 'bigint') return value.toString();
  return value;
}
