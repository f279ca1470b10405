import type { z } from 'zod';

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
  /** Fires on cancellation and when the slice budget is spent; pass it to long operations. */
  readonly signal: AbortSignal;
}

export interface TaskDefinition<Schema extends z.ZodType = z.ZodType, Result = unknown> {
  type: string;
  title: string;
  description: string;
  input: Schema;
  example: z.input<Schema>;
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
