import type { z } from 'zod';
import type { Duration } from './durations';

export interface TaskProgress {
  percent?: number;
  current?: number;
  total?: number;
  message?: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What a task's `run` gets besides its input (design §4). */
export interface TaskContext {
  readonly taskId: string;
  /** 1 on the first attempt, +1 on each retry. */
  readonly attempt: number;
  /** Runs `fn` once per task: a step whose result was checkpointed returns that result without running again. */
  step<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  /** The state last passed to `checkpoint`, for long single loops. */
  readonly state: unknown;
  checkpoint(state: unknown): Promise<void>;
  progress(progress: TaskProgress): void;
  log(level: LogLevel, message: string, data?: unknown): void;
  /** Fires on cancellation, when the slice budget is spent and at the task's maximum duration; pass it down. */
  readonly signal: AbortSignal;
  /**
   * Waits durably: `duration` (ms, or text such as '90s', '15m', '2h', '1d') from the first time this runs, or until a
   * date. A wait longer than a few seconds ends the slice and frees the worker; the task continues from a scheduled
   * message. Memoized by name: a replay returns at once once the time has come.
   */
  sleep(name: string, until: Duration | Date): Promise<void>;
  /**
   * Waits, without holding a worker, for the signal `name` (POST /api/tasks/{id}/signals/{name}), which the task type
   * declares in `signals`; answers its payload as the declared schema parses it (`schema`, when given, must be that
   * schema: it gives the type). A signal sent before the wait is kept. Past `timeout` it throws SignalTimeoutError.
   * Memoized by name: a replay sees the same payload, or the same timeout.
   */
  waitForEvent<S extends z.ZodType = z.ZodType>(
    name: string,
    options?: { timeout?: Duration | Date; schema?: S },
  ): Promise<z.output<S>>;
  /**
   * A URL that delivers the signal `name` to this task without an API key (a signed token in it), to hand to someone
   * who approves by e-mail or to a third party's callback. Absolute when PUBLIC_BASE_URL is set, else a path.
   */
  signalUrl(name: string): Promise<string>;
}

export interface TaskDefinition<Schema extends z.ZodType = z.ZodType, Result = unknown> {
  type: string;
  title: string;
  description: string;
  input: Schema;
  example: z.input<Schema>;
  /** The signals its tasks wait for, by name, with the schema a payload must pass (checked when it is sent). */
  signals?: Record<string, z.ZodType>;
  /** Tasks of this type fail with max_duration_exceeded this long after they start, waits included. */
  maxDurationSeconds?: number;
  run(input: z.output<Schema>, ctx: TaskContext): Promise<Result>;
}

/** Declares a task type; the input schema validates submissions and documents the type in the API. */
export function defineTask<Schema extends z.ZodType, Result>(
  definition: TaskDefinition<Schema, Result>,
): TaskDefinition<Schema, Result> {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(definition.type)) {
    throw new Error(`task type "${definition.type}": lower-case letters, digits and "-" only`);
  }
  return definition;
}

/** Fails the task at once, without retries. */
export class PermanentError extends Error {
  constructor(
    message: string,
    readonly code = 'permanent_failure',
  ) {
    super(message);
    this.name = 'PermanentError';
  }
}

/** A signal wait's timeout passed first. Uncaught, it fails the task with `signal_timeout`. */
export class SignalTimeoutError extends PermanentError {
  constructor(
    readonly signalName: string,
    readonly timedOutAt: Date,
  ) {
    super(`no signal "${signalName}" came before ${timedOutAt.toISOString()}`, 'signal_timeout');
    this.name = 'SignalTimeoutError';
  }
}
