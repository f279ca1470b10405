/** The `tasks` columns as `TaskRow` names them, for every query that returns task rows. */
export const COLUMNS = `id, type, status, owner, idempotency_key AS "idempotencyKey", request_hash AS "requestHash",
  input_ref AS "inputRef", input_bytes AS "inputBytes", result_ref AS "resultRef", progress, error, attempts,
  cancel_requested AS "cancelRequested", trace_id AS "traceId",
  trace_context AS "traceContext", created_at AS "createdAt", started_at AS "startedAt",
  updated_at AS "updatedAt", finished_at AS "finishedAt", heartbeat_at AS "heartbeatAt", enqueued_at AS "enqueuedAt",
  callback_url AS "callbackUrl", callback_state AS "callbackState", callback_attempts AS "callbackAttempts",
  callback_due_at AS "callbackDueAt", callback_error AS "callbackError", rerun_of AS "rerunOf", waiting, wake_at AS "wakeAt",
  wake_slice AS "wakeSlice", max_duration_seconds AS "maxDurationSeconds", redrives`;
