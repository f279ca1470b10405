import { PermanentError } from './define-task';

export interface FieldError {
  path: string;
  message: string;
}

/** The submission names an unknown type or its input fails the type's schema. */
export class TaskInputError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    this.name = 'TaskInputError';
  }
}

/** The same Idempotency-Key was used before with a different request. */
export class IdempotencyConflictError extends Error {
  constructor(readonly taskId: string) {
    super('This Idempotency-Key was already used with a different request.');
    this.name = 'IdempotencyConflictError';
  }
}

/** The caller already has as many queued and running tasks as it may (MAX_ACTIVE_TASKS_PER_CALLER). */
export class ActiveTasksLimitError extends Error {
  constructor(readonly limit: number) {
    super(`At most ${limit} queued or running tasks per caller.`);
    this.name = 'ActiveTasksLimitError';
  }
}

/**
 * The task's claim-check payload blob is gone (deleted by hand, storage restored without it). Its input cannot be
 * read however often the task is retried, so it fails at once.
 */
export class PayloadMissingError extends PermanentError {
  constructor(
    readonly ref: string,
    options?: ErrorOptions,
  ) {
    super(`the task's payload blob ${ref} is missing from storage`, 'payload_missing');
    this.name = 'PayloadMissingError';
    this.cause = options?.cause;
  }
}

/**
 * A checkpoint the task's history says exists is gone (its lease row, or a blob a checkpoint points at). Running on
 * without it would redo completed steps or lose loop state, so the task fails at once.
 */
export class CheckpointMissingError extends PermanentError {
  constructor(what: string, options?: ErrorOptions) {
    super(`the task's ${what} is missing from storage`, 'checkpoint_missing');
    this.name = 'CheckpointMissingError';
    this.cause = options?.cause;
  }
}
