import { createHash, randomBytes } from 'node:crypto';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { TaskRow } from '../../../model/task';
import { SubmitTaskSchema } from '../../../contract/api-schemas';
import { handler, type RequestScope } from '../handle';
import { tooManyActiveTasks } from '../rate-limits';
import { invalidFields, json, POLL_RETRY_AFTER_SECONDS, problem } from '../responses';
import { taskJson } from '../../../contract/task-json';
import { ActiveTasksLimitError, IdempotencyConflictError, TaskInputError } from '../../../engine/task-errors';
import { fieldErrors } from '../../../engine/task-service';
import { DeadlineExceededError } from '../../../platform/deadline';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** How long a client should wait before retrying a submit a dependency did not answer. */
const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/** POST /api/tasks: accepts a task in milliseconds with 202, a Location and a Retry-After. */
export const submitTask = handler(
  async ({ request, readJson, services, caller }) => {
    const idempotencyKey = idempotencyKeyOf(request);
    if (typeof idempotencyKey === 'object') return idempotencyKey;
    const body = await readJson(services.settings.maxPayloadBytes);
    if (!body.ok) return body.response;
    const parsed = SubmitTaskSchema.safeParse(body.value);
    if (!parsed.success) return invalid(fieldErrors(parsed.error, ''));
    try {
      const { task, replayed } = await services.tasks.submit({
        owner: caller.id,
        type: parsed.data.type,
        input: parsed.data.input ?? {},
        callbackUrl: parsed.data.callbackUrl,
        maxDurationSeconds: parsed.data.maxDurationSeconds,
        idempotencyKey,
        requestHash: requestHash(body.value),
        traceparent: traceparentOf(request.headers.get('traceparent')),
        activeLimit: services.settings.rateLimits.activeTasks,
      });
      return submitted(task, replayed);
    } catch (err) {
      return submitFailure(err);
    }
  },
  { limit: 'submit', exempt: reusesIdempotencyKey },
);

/** The Idempotency-Key header (undefined when absent), or a 400 when it is malformed. */
export function idempotencyKeyOf(request: HttpRequest): string | undefined | HttpResponseInit {
  const key = request.headers.get('idempotency-key') ?? undefined;
  if (key === undefined || IDEMPOTENCY_KEY.test(key)) return key;
  return problem(400, 'bad-request', 'Idempotency-Key: 1 to 255 visible ASCII characters.', {
    field: 'Idempotency-Key',
  });
}

/** 202 with Location and Retry-After for a new task; 200 marked as a replay for one an Idempotency-Key found. */
export function submitted(task: TaskRow, replayed: boolean): HttpResponseInit {
  const location = `/api/tasks/${task.id}`;
  return replayed
    ? json(200, taskJson(task), { location, 'idempotent-replayed': 'true' })
    : json(202, taskJson(task), { location, 'retry-after': String(POLL_RETRY_AFTER_SECONDS) });
}

/** The answer to an error a submit can throw (a submit or a rerun); anything else is rethrown. */
export function submitFailure(err: unknown): HttpResponseInit {
  if (err instanceof TaskInputError) return invalid(err.errors);
  if (err instanceof ActiveTasksLimitError) return tooManyActiveTasks(err.limit);
  if (err instanceof DeadlineExceededError) return dependencyTimeout(err);
  if (err instanceof IdempotencyConflictError) {
    return problem(409, 'idempotency-conflict', err.message, {
      field: 'Idempotency-Key',
      taskId: err.taskId,
    });
  }
  throw err;
}

/** A request with an Idempotency-Key the caller used before writes nothing (a replay or a 409), so no limit refuses it. */
async function reusesIdempotencyKey({ request, services, caller }: RequestScope): Promise<boolean> {
  const key = request.headers.get('idempotency-key');
  if (key === null || !IDEMPOTENCY_KEY.test(key)) return false;
  return (await services.repository.findByIdempotencyKey(caller.id, key)) !== undefined;
}

/**
 * A Postgres or Blob call of the submit ran past SUBMIT_DEPENDENCY_TIMEOUT_MS. The task was not accepted, or its row
 * committed late and the sweeper sends it: a retry with the same Idempotency-Key gets that task, not a second one.
 */
function dependencyTimeout(err: DeadlineExceededError) {
  return problem(
    503,
    'dependency-timeout',
    `${err.message}, so the task may not have been accepted. Retry in ${DEPENDENCY_RETRY_AFTER_SECONDS} seconds ` +
      'with the same Idempotency-Key: a task that was stored is returned, not created twice.',
    { dependency: err.dependency },
    { 'retry-after': String(DEPENDENCY_RETRY_AFTER_SECONDS) },
  );
}

const invalid = (errors: Array<{ path: string; message: string }>) => invalidFields('invalid-task', errors);

/** Hash of the body's canonical JSON, so key order and spacing do not make a retry look different. */
function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The caller's W3C trace context, or a new trace, so the message carries it to the worker. */
export function traceparentOf(header: string | null): string {
  if (header && TRACEPARENT.test(header) && !/^00-0{32}-/.test(header)) return header;
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}
