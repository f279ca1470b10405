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
